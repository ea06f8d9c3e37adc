// Running the embryo binary from tests: the executable next to the test bundle, its exit code and
// both output streams.

import Foundation

struct CLIResult {
    let code: Int32
    let out: String
    let err: String
}

/// The embryo executable next to the test bundle.
var embryoBinary: URL {
    URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("embryo")
}

/// Runs embryo with `args` (and `stdin` when given) to completion; `stdout` replaces the captured pipe
/// (e.g. /dev/full), and the result's `out` is then empty.
func runEmbryo(_ args: [String], stdin: String? = nil, stdout: FileHandle? = nil) throws -> CLIResult {
    let p = Process()
    p.executableURL = embryoBinary
    p.arguments = args
    var env = ProcessInfo.processInfo.environment
    env["EMBRYO_NO_REEXEC"] = "1"
    p.environment = env
    let out = Pipe(), err = Pipe()
    p.standardOutput = stdout ?? out
    p.standardError = err
    let input = Pipe()
    if stdin != nil { p.standardInput = input }
    try p.run()
    if let stdin {
        input.fileHandleForWriting.write(Data(stdin.utf8))
        try input.fileHandleForWriting.close()
    }
    let o = stdout == nil ? out.fileHandleForReading.readDataToEndOfFile() : Data()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return CLIResult(
        code: p.terminationStatus, out: String(decoding: o, as: UTF8.self), err: String(decoding: e, as: UTF8.self))
}

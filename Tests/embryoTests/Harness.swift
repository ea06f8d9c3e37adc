// Running the embryo binary from tests: the executable next to the test bundle, its exit code and
// both output streams.

import EmbryoTestSupport
import Foundation
import XCTest

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
func runEmbryo(_ args: [String], stdin: String? = nil, stdout: FileHandle? = nil, cwd: URL? = nil) throws -> CLIResult {
    let p = Process()
    p.executableURL = embryoBinary
    if let cwd { p.currentDirectoryURL = cwd }
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

/// Starts embryo in the background with output discarded (for kill tests); the caller waits or kills.
/// With `captureErrors` its stderr is a Pipe, read by the caller.
func startEmbryo(_ args: [String], captureErrors: Bool = false) throws -> Process {
    let p = Process()
    p.executableURL = embryoBinary
    p.arguments = args
    // this process's environment, as runEmbryo passes it: OPENBLAS_CORETYPE picks the BLAS kernels, and
    // results compared bit for bit must come from the same ones
    var env = ProcessInfo.processInfo.environment
    env["EMBRYO_NO_REEXEC"] = "1"
    p.environment = env
    p.standardOutput = FileHandle.nullDevice
    p.standardError = captureErrors ? Pipe() : FileHandle.nullDevice
    try p.run()
    return p
}

/// Waits (up to `seconds`) until `path` exists or the process has ended.
func waitFor(_ path: String, while p: Process, seconds: Double = 120) {
    let deadline = Date().addingTimeInterval(seconds)
    while !FileManager.default.fileExists(atPath: path) && Date() < deadline && p.isRunning { usleep(20_000) }
}

/// The small generated world and the micro recipe the end-to-end tests train on.
extension ScratchDirectoryTestCase {
    /// Runs the commands at once (job-array shards) and checks that each ends with status 0.
    func runTogether(_ commands: [[String]], line: UInt = #line) throws {
        let jobs = try commands.map { try startEmbryo($0) }
        for (p, args) in zip(jobs, commands) {
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0, "\(args)", line: line)
        }
    }

    /// The small world, a micro model and a recipe on them (a run takes a second or two).
    func microRecipe(steps: Int = 24, saveEvery: Int = 8) throws -> [String] {
        if !FileManager.default.fileExists(atPath: path("micro.json")) {
            try smallWorld()
            try
                "{\"embedding_size\": 16, \"hidden_size\": 32, \"num_hidden_layers\": 2, \"num_attention_heads\": 2, \"intermediate_size\": 64, \"max_position_embeddings\": 64}"
                .write(toFile: path("micro.json"), atomically: true, encoding: .utf8)
        }
        return [
            "--corpus", path("w/train.txt"), "--config", path("micro.json"), "--vocab-size", "300", "--steps",
            String(steps), "--batch-size", "8", "--seq-len", "32", "--save-every", String(saveEvery), "--eval-every",
            String(saveEvery),
        ]
    }

    /// A 30,000-token world with 10 examples per task in w/ (made once per test).
    func smallWorld() throws {
        guard !FileManager.default.fileExists(atPath: path("w/train.txt")) else { return }
        let w = try runEmbryo(["world", "--out", path("w"), "--tokens", "30000", "--task-examples", "10"])
        XCTAssertEqual(w.code, 0, w.err)
    }
}

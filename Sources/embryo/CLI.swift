// Subcommand table, top-level help, and the error reporting every subcommand shares.

import EmbryoCore
import EmbryoRun
import Foundation

enum CLI {
    static let version = "0.1.0"

    struct Subcommand {
        let spec: CommandSpec
        let run: (ParsedArguments) throws -> Void
    }

    static let subcommands: [Subcommand] = [
        Subcommand(spec: BenchCommand.spec, run: BenchCommand.run),
        Subcommand(spec: InitCommand.spec, run: InitCommand.run),
        Subcommand(spec: InferCommand.spec, run: InferCommand.run),
        Subcommand(spec: VocabCommand.spec, run: VocabCommand.run),
        Subcommand(spec: TokenizeCommand.spec, run: TokenizeCommand.run),
        Subcommand(spec: WorldCommand.spec, run: WorldCommand.run),
        Subcommand(spec: PretrainCommand.spec, run: PretrainCommand.run),
        Subcommand(spec: BatchesCommand.spec, run: BatchesCommand.run),
        Subcommand(spec: ProbeCommand.spec, run: ProbeCommand.run),
        Subcommand(spec: FillCommand.spec, run: FillCommand.run),
        Subcommand(spec: PairsCommand.spec, run: PairsCommand.run),
        Subcommand(spec: FinetuneCommand.spec, run: FinetuneCommand.run),
        Subcommand(spec: ReinitCommand.spec, run: ReinitCommand.run),
        Subcommand(spec: ActivationsCommand.spec, run: ActivationsCommand.run),
        Subcommand(spec: CrosscodeCommand.spec, run: CrosscodeCommand.run),
        Subcommand(spec: FeaturesCommand.spec, run: FeaturesCommand.run),
        Subcommand(spec: FindingsCommand.spec, run: FindingsCommand.run),
        Subcommand(spec: MilestonesCommand.spec, run: MilestonesCommand.run),
        Subcommand(spec: LlcSweepCommand.spec, run: LlcSweepCommand.run),
        Subcommand(spec: CompareCommand.spec, run: CompareCommand.run),
        Subcommand(spec: ExposureCommand.spec, run: ExposureCommand.run),
        Subcommand(spec: ExportCommand.spec, run: ExportCommand.run),
    ]

    static var rootSpec: CommandSpec {
        CommandSpec(
            name: "embryo",
            abstract: "A training-dynamics lab: pretrain ALBERT from random weights, keep snapshots, and probe them.",
            subcommands: subcommands.map { (String($0.spec.name.dropFirst("embryo ".count)), $0.spec.abstract) }
        )
    }

    static func run(_ args: [String]) -> Int32 {
        guard let first = args.first else {
            print(rootSpec.help, terminator: "")
            return 0
        }
        switch first {
        case "-h", "--help":
            print(rootSpec.help, terminator: "")
            return 0
        case "--version":
            print(version)
            return 0
        case "help":
            guard args.count > 1 else { print(rootSpec.help, terminator: ""); return 0 }
            guard let sub = find(args[1]) else {
                return usageError("Unknown subcommand '\(args[1])'", spec: rootSpec)
            }
            print(sub.spec.help, terminator: "")
            return 0
        default:
            guard let sub = find(first) else {
                return usageError("Unknown subcommand '\(first)'", spec: rootSpec)
            }
            do {
                let parsed = try parse(Array(args.dropFirst()), spec: sub.spec)
                if parsed.helpRequested {
                    print(sub.spec.help, terminator: "")
                    return 0
                }
                try sub.run(parsed)
                return 0
            } catch EmbryoError.usage(let message) {
                return usageError(message, spec: sub.spec)
            } catch EmbryoError.interrupted(let message) {
                writeStandardError("\(message)\n")
                return 130
            } catch {
                writeStandardError("Error: \(errorInWords(error))\n")
                return 1
            }
        }
    }

    static func find(_ name: String) -> Subcommand? { subcommands.first { $0.spec.name == "embryo \(name)" } }

    /// Every usage error, from the parser, a command or a settings struct's validate(): the message, the
    /// command's usage line and a pointer to --help; exit code 64.
    static func usageError(_ message: String, spec: CommandSpec) -> Int32 {
        let msg = "Error: \(message)\nUsage: \(spec.usage)\n  See '\(spec.name) --help' for more information.\n"
        writeStandardError(msg)
        return 64
    }
}

/// Writes a line to stderr (progress and logs; results go to stdout).
func log(_ s: String) { writeStandardError(s + "\n") }

/// Writes to stderr without ever trapping: a full or closed stderr loses the message, nothing else.
func writeStandardError(_ s: String) {
    _ = s.withCString { fputs($0, stderr) }
}

/// An error in words: embryo's own errors as they print themselves; Foundation's file errors as the path
/// and the reason (never the raw NSError dump).
func errorInWords(_ error: Error) -> String {
    if error is EmbryoError { return "\(error)" }
    if error is DecodingError { return "a file could not be read: " + describe(error) }
    if case EncodingError.invalidValue(let value, let c) = error {
        let at = c.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        return "a result could not be written as JSON: \(value) at '\(at)' (\(c.debugDescription))"
    }
    let ns = error as NSError
    guard ns.domain == NSCocoaErrorDomain || ns.domain == NSPOSIXErrorDomain else { return describe(error) }
    let path = (ns.userInfo[NSFilePathErrorKey] as? String) ?? (ns.userInfo[NSURLErrorKey] as? URL)?.path
    var reason = ns.localizedDescription
    if let u = ns.userInfo[NSUnderlyingErrorKey] as? NSError, u.domain == NSPOSIXErrorDomain {
        reason = String(cString: strerror(Int32(u.code)))
    } else if ns.domain == NSPOSIXErrorDomain {
        reason = String(cString: strerror(Int32(ns.code)))
    }
    return path.map { "\($0): \(reason)" } ?? reason
}

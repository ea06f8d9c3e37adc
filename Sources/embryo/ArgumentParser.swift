// A small command-line parser that behaves like swift-argument-parser: one CommandSpec drives both
// parsing and help text; `--key value` and `--key=value`; `-h/--help` everywhere; usage errors are
// reported with the usage line and a pointer to --help, exit code 64.

import EmbryoCore
import EmbryoRun
import Foundation

struct OptionSpec {
    let name: String  // without the leading dashes
    let value: String?  // value placeholder; nil for a flag
    let help: String
    let defaultValue: String?
    var required = false
    /// Other spellings accepted for this option.
    var aliases: [String] = []
    /// Former names, still accepted with a notice naming the new one.
    var formerNames: [String] = []
    /// Accepted without its value too (read as ""), for an option that used to be a flag.
    var valueMayBeOmitted = false
    /// A former spelling kept working: accepted, but left out of the usage line and the help.
    var hidden = false

    static func option(_ name: String, _ value: String, _ help: String, default d: String? = nil) -> OptionSpec {
        OptionSpec(name: name, value: value, help: help, defaultValue: d)
    }

    static func required(_ name: String, _ value: String, _ help: String) -> OptionSpec {
        OptionSpec(name: name, value: value, help: help, defaultValue: nil, required: true)
    }

    static func flag(_ name: String, _ help: String) -> OptionSpec {
        OptionSpec(name: name, value: nil, help: help, defaultValue: nil)
    }

    /// The same option, also accepted under `names`.
    func also(_ names: String...) -> OptionSpec {
        var o = self
        o.aliases += names
        return o
    }

    /// The same option, renamed from `names` (still accepted, with a notice).
    func formerly(_ names: String...) -> OptionSpec {
        var o = self
        o.formerNames += names
        return o
    }
}

/// A positional argument; `repeated` takes every remaining one.
struct ArgumentSpec {
    let name: String
    let help: String
    var repeated = false
}

struct CommandSpec {
    let name: String  // full path, e.g. "embryo bench"
    let abstract: String
    var discussion: String? = nil
    var options: [OptionSpec] = []
    var subcommands: [(String, String)] = []
    var arguments: [ArgumentSpec] = []

    var usage: String {
        if !subcommands.isEmpty { return "\(name) <subcommand>" }
        let parts = options.filter { !$0.hidden }.map { o -> String in
            guard let v = o.value else { return "[--\(o.name)]" }
            return o.required ? "--\(o.name) <\(v)>" : "[--\(o.name) <\(v)>]"
        }
        let positional = arguments.map { "<\($0.name)>" + ($0.repeated ? " ..." : "") }
        return ([name] + parts + positional).joined(separator: " ")
    }

    var help: String {
        var s = "OVERVIEW: \(abstract)\n"
        if let d = discussion { s += "\n\(d)\n" }
        s += "\nUSAGE: \(usage)\n"
        if !arguments.isEmpty {
            s += "\nARGUMENTS:\n"
            for a in arguments { s += formatRow("<\(a.name)>", a.help) }
        }
        s += "\nOPTIONS:\n"
        var rows = options.filter { !$0.hidden }.map { o -> (String, String) in
            let left = "--\(o.name)" + (o.value.map { " <\($0)>" } ?? "")
            let also = o.aliases.isEmpty ? "" : " Also --\(o.aliases.joined(separator: ", --"))."
            let right = o.help + also + (o.defaultValue.map { " (default: \($0))" } ?? "")
            return (left, right)
        }
        if !subcommands.isEmpty && name == "embryo" { rows.append(("--version", "Show the version.")) }
        rows.append(("-h, --help", "Show help information."))
        for (l, r) in rows { s += formatRow(l, r) }
        if !subcommands.isEmpty {
            s += "\nSUBCOMMANDS:\n"
            for (l, r) in subcommands { s += formatRow(l, r) }
            s += "\n  See '\(name) help <subcommand>' for detailed help.\n"
        }
        return s
    }

    private func formatRow(_ left: String, _ right: String) -> String {
        let pad = 24
        if left.count + 2 < pad {
            return "  " + left + String(repeating: " ", count: pad - left.count - 2) + right + "\n"
        }
        return "  \(left)\n" + String(repeating: " ", count: pad) + right + "\n"
    }
}

struct ParsedArguments {
    var values: [String: [String]] = [:]
    var flags: Set<String> = []
    var helpRequested = false
    var arguments: [String] = []
    /// The spelling the user gave for an option that has aliases.
    var spelled: [String: String] = [:]
    let spec: CommandSpec

    func string(_ name: String) -> String? {
        values[name]?.last ?? spec.options.first { $0.name == name }?.defaultValue
    }

    func strings(_ name: String) -> [String] { values[name] ?? [] }

    func flag(_ name: String) -> Bool { flags.contains(name) }

    /// Whether the user gave option `name` (as opposed to its default applying).
    func given(_ name: String) -> Bool { values[name] != nil || flags.contains(name) }

    // the same accessors through an option's declaration
    func string(_ o: OptionSpec) -> String? { string(o.name) }
    func int(_ o: OptionSpec, min lo: Int? = nil) throws -> Int? { try int(o.name, min: lo) }
    func double(_ o: OptionSpec) throws -> Double? { try double(o.name) }
    func flag(_ o: OptionSpec) -> Bool { flag(o.name) }
    func given(_ o: OptionSpec) -> Bool { given(o.name) }
    func strings(_ o: OptionSpec) -> [String] { strings(o.name) }
    func choice(_ o: OptionSpec, _ allowed: [String]) throws -> String? { try choice(o.name, allowed) }

    /// How the user spelled option `name` (its alias when one was used).
    func spelling(_ name: String) -> String { spelled[name] ?? name }

    func int(_ name: String, min lo: Int? = nil) throws -> Int? {
        guard let s = string(name) else { return nil }
        guard let v = Int(s) else {
            throw EmbryoError.usage("The value '\(s)' is invalid for '--\(spelling(name)) <\(valueName(name))>'")
        }
        if let lo, v < lo { throw EmbryoError.usage("'--\(spelling(name))' must be at least \(lo), got \(v)") }
        return v
    }

    func double(_ name: String) throws -> Double? {
        guard let s = string(name) else { return nil }
        guard let v = Double(s), v.isFinite else {
            throw EmbryoError.usage("The value '\(s)' is invalid for '--\(spelling(name)) <\(valueName(name))>'")
        }
        return v
    }

    func choice(_ name: String, _ allowed: [String]) throws -> String? {
        guard let s = string(name) else { return nil }
        guard allowed.contains(s) else {
            throw EmbryoError.usage(
                "The value '\(s)' is invalid for '--\(spelling(name)) <\(valueName(name))>': expected one of "
                    + allowed.joined(separator: ", "))
        }
        return s
    }

    private func valueName(_ name: String) -> String { spec.options.first { $0.name == name }?.value ?? "value" }
}

func parse(_ args: [String], spec: CommandSpec) throws -> ParsedArguments {
    var out = ParsedArguments(spec: spec)
    var i = 0
    var optionsEnded = false
    while i < args.count {
        let a = args[i]
        i += 1
        if !optionsEnded && (a == "-h" || a == "--help") {
            out.helpRequested = true
            continue
        }
        if !optionsEnded && a == "--" && !spec.arguments.isEmpty {
            optionsEnded = true
            continue
        }
        guard !optionsEnded, a.hasPrefix("--"), a.count > 2 else {
            let room = spec.arguments.contains { $0.repeated } ? Int.max : spec.arguments.count
            guard out.arguments.count < room else {
                throw EmbryoError.usage("Unexpected argument '\(a)'")
            }
            out.arguments.append(a)
            continue
        }
        var name = String(a.dropFirst(2))
        var inline: String? = nil
        if let eq = name.firstIndex(of: "=") {
            inline = String(name[name.index(after: eq)...])
            name = String(name[..<eq])
        }
        guard
            let o = spec.options.first(where: {
                $0.name == name || $0.aliases.contains(name) || $0.formerNames.contains(name)
            })
        else {
            throw EmbryoError.usage("Unknown option '--\(name)'")
        }
        if o.name != name { out.spelled[o.name] = name }
        if o.formerNames.contains(name) {
            writeStandardError("notice: --\(name) is now --\(o.name); the old name will go away\n")
        }
        name = o.name
        if o.value == nil {
            if inline != nil { throw EmbryoError.usage("The flag '--\(name)' does not take a value") }
            out.flags.insert(name)
            continue
        }
        let v: String
        if let inline {
            v = inline
        } else if o.valueMayBeOmitted && (i == args.count || (args[i].hasPrefix("--") && args[i].count > 2)) {
            v = ""
        } else {
            guard i < args.count, !(args[i].hasPrefix("--") && args[i].count > 2) else {
                throw EmbryoError.usage("Missing value for '--\(name) <\(o.value!)>'")
            }
            v = args[i]
            i += 1
        }
        out.values[name, default: []].append(v)
    }
    if !out.helpRequested, let missing = spec.options.first(where: { $0.required && out.values[$0.name] == nil }) {
        throw EmbryoError.usage("Missing expected argument '--\(missing.name) <\(missing.value!)>'")
    }
    return out
}

// Options declared once. An option that sets a field of a settings struct is bound to that field by key
// path: its default is the struct's own, the value is parsed into the field only when the option is
// given, and range checks live in the struct's validate(). Options without a settings struct are
// declared as constants and read through them, so a misspelt name does not compile. Option groups that
// several commands share (threads, the run, the task, fine-tuning) are declared here once.

import EmbryoCore
import EmbryoLab
import EmbryoRun
import Foundation

/// A settings struct that command-line options can be bound to.
protocol CommandSettings {
    init()
    func validate() throws
}

extension PretrainConfig: CommandSettings {}
extension FinetuneSettings: CommandSettings {}
extension CrosscoderSettings: CommandSettings {}

/// An option bound to one field of `S`.
struct Binding<S: CommandSettings> {
    let option: OptionSpec
    /// The field the option sets.
    var keyPath: PartialKeyPath<S>
    let apply: (inout S, ParsedArguments) throws -> Void

    /// The common case: help shows the field's default, and the option's value, read by `read`, replaces the
    /// field when the option is given.
    static func bound<V>(
        _ name: String, _ kp: WritableKeyPath<S, V>, _ help: String, value: String, shown: (V) -> String?,
        read: @escaping (ParsedArguments) throws -> V
    ) -> Binding {
        Binding(option: .option(name, value, help, default: shown(S()[keyPath: kp])), keyPath: kp) { s, a in
            if a.given(name) { s[keyPath: kp] = try read(a) }
        }
    }

    static func int(_ name: String, _ kp: WritableKeyPath<S, Int>, _ help: String, value: String = "n") -> Binding {
        bound(name, kp, help, value: value, shown: { String($0) }) { try $0.int(name)! }
    }

    static func int(_ name: String, _ kp: WritableKeyPath<S, Int?>, _ help: String, value: String = "n") -> Binding {
        bound(name, kp, help, value: value, shown: { $0.map(String.init) }) { try $0.int(name) }
    }

    static func double(_ name: String, _ kp: WritableKeyPath<S, Double>, _ help: String, value: String = "f")
        -> Binding
    {
        bound(name, kp, help, value: value, shown: { "\($0)" }) { try $0.double(name)! }
    }

    static func double(_ name: String, _ kp: WritableKeyPath<S, Double?>, _ help: String, value: String = "f")
        -> Binding
    {
        bound(name, kp, help, value: value, shown: { $0.map { "\($0)" } }) { try $0.double(name) }
    }

    static func string(_ name: String, _ kp: WritableKeyPath<S, String>, _ help: String, value: String) -> Binding {
        bound(name, kp, help, value: value, shown: { $0 }) { $0.string(name)! }
    }

    static func string(_ name: String, _ kp: WritableKeyPath<S, String?>, _ help: String, value: String) -> Binding {
        bound(name, kp, help, value: value, shown: { $0 }) { $0.string(name) }
    }

    static func choice(
        _ name: String, _ kp: WritableKeyPath<S, String>, _ allowed: [String], _ help: String, value: String = "name"
    ) -> Binding {
        bound(name, kp, help, value: value, shown: { $0 }) { try $0.choice(name, allowed)! }
    }

    static func choice(
        _ name: String, _ kp: WritableKeyPath<S, String?>, _ allowed: [String], _ help: String, value: String
    ) -> Binding {
        bound(name, kp, help, value: value, shown: { $0 }) { try $0.choice(name, allowed) }
    }

    /// A closed choice: its value names one of the enum's cases, listed in the help from the enum itself.
    static func choice<E: RawRepresentable & CaseIterable>(_ name: String, _ kp: WritableKeyPath<S, E>, _ help: String)
        -> Binding where E.RawValue == String
    {
        let cases = E.allCases.map(\.rawValue)
        return bound(name, kp, help, value: cases.joined(separator: "|"), shown: { $0.rawValue }) {
            E(rawValue: try $0.choice(name, cases)!)!
        }
    }

    static func choice<E: RawRepresentable & CaseIterable>(_ name: String, _ kp: WritableKeyPath<S, E?>, _ help: String)
        -> Binding where E.RawValue == String
    {
        let cases = E.allCases.map(\.rawValue)
        return bound(name, kp, help, value: cases.joined(separator: "|"), shown: { $0?.rawValue }) {
            try $0.choice(name, cases).flatMap(E.init(rawValue:))
        }
    }

    static func flag(_ name: String, _ kp: WritableKeyPath<S, Bool>, sets value: Bool = true, _ help: String) -> Binding
    {
        Binding(option: .flag(name, help), keyPath: kp) { s, a in if a.flag(name) { s[keyPath: kp] = value } }
    }

    static func list(_ name: String, _ kp: WritableKeyPath<S, [String]>, _ help: String, value: String) -> Binding {
        bound(name, kp, help, value: value, shown: { _ in nil }) { $0.strings(name) }
    }

    /// A field with its own parser (e.g. a number or a word such as "full").
    static func custom<V>(
        _ option: OptionSpec, _ kp: WritableKeyPath<S, V>, _ set: @escaping (inout S, String) throws -> Void
    ) -> Binding {
        Binding(option: option, keyPath: kp) { s, a in if let v = a.values[option.name]?.last { try set(&s, v) } }
    }
}

extension Array {
    /// The options of a list of bindings, for a command's spec.
    func options<S>() -> [OptionSpec] where Element == Binding<S> { map(\.option) }

    /// Sets every given option on `settings` (the defaults, or stored settings when resuming).
    func apply<S>(_ a: ParsedArguments, to settings: inout S) throws where Element == Binding<S> {
        for b in self { try b.apply(&settings, a) }
    }

    /// Whether the user gave the option bound to `field`.
    func given<S>(_ field: PartialKeyPath<S>, in a: ParsedArguments) -> Bool where Element == Binding<S> {
        contains { $0.keyPath == field && a.given($0.option) }
    }

    /// The settings from their defaults and the given options, validated.
    func settings<S>(_ a: ParsedArguments) throws -> S where Element == Binding<S> {
        var s = S()
        try apply(a, to: &s)
        try s.validate()
        return s
    }
}

/// Option groups that several commands share.
enum Shared {
    static let threads = OptionSpec.option("threads", "n", "Threads (default: one per core).", default: nil)

    /// --threads, or one per core.
    static func threadCount(_ a: ParsedArguments) throws -> Int { try a.int(threads, min: 1) ?? Threads.available }

    /// Configures the thread pool from --threads.
    static func configureThreads(_ a: ParsedArguments) throws { Threads.configure(try threadCount(a)) }

    static let run = OptionSpec.required(
        "run", "dir", "A run directory, its checkpoints/ folder, or any folder of step-N checkpoints."
    ).also("checkpoints")

    static let task = OptionSpec.required(
        "task", "dir", "Task folder in GLUE's TSV format (the world's tasks/<task>/ or a GLUE task).")
    static let textColumns = OptionSpec.option(
        "text-columns", "list", "Text column(s) for an unrecognised task: name or 0-based index.", default: nil)
    static let labelColumn = OptionSpec.option(
        "label-column", "col", "Label column for an unrecognised task.", default: nil)
    static let taskGroup = [task, textColumns, labelColumn]

    static func loadTask(_ a: ParsedArguments) throws -> TaskData {
        try GlueTask.load(
            a.string(task)!, textColumns: a.string(textColumns).map { $0.split(separator: ",").map(String.init) },
            labelColumn: a.string(labelColumn))
    }

    /// The fine-tuning recipe, shared by finetune and reinit.
    static let finetune: [Binding<FinetuneSettings>] = [
        .custom(
            .option("train-size", "n|full", "Training examples: a seeded random subset, or all.", default: "full"),
            \.trainSize
        ) {
            s, v in
            if v == "full" { return s.trainSize = nil }
            guard let n = Int(v), n > 0 else {
                throw EmbryoError.usage("--train-size: expected a positive number or 'full', got '\(v)'")
            }
            s.trainSize = n
        },
        .int("seed", \.seed, "First seed."),
        .int("epochs", \.epochs, "Epochs."),
        .double("lr", \.lr, "Peak learning rate."),
        .int("batch-size", \.batchSize, "Examples per step."),
        .int("max-len", \.maxLen, "Longest input in tokens (longest-first truncation)."),
    ]
}

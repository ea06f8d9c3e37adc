// Every probe of `embryo probe`, in one list: `--probes`, the command's help and the report's probe
// sections come from it. Adding a probe is one file with a type that conforms to ProbeMeasurement and one
// line here.

import EmbryoCore
import EmbryoRun
import Foundation

/// A measurement that `embryo probe` runs by name.
public protocol ProbeMeasurement: SnapshotMeasurement {
    /// The name in --probes and in the metrics' probe field.
    static var probeName: String { get }
    /// What it measures, for the help: one line per entry, wrapped by the caller's layout.
    static var help: [String] { get }
    static var probeNeeds: MeasurementNeeds { get }
    init(_ inputs: ProbeInputs) throws
    /// Files of its own that go with the metrics tables, rewritten whenever they are (e.g. facts.jsonl).
    func writeTables() throws
    /// Its section of the run's report (empty when it has nothing to show).
    static func reportSection(_ page: ReportPage) -> String
}

extension ProbeMeasurement {
    public var name: String { Self.probeName }
    public var needs: MeasurementNeeds { Self.probeNeeds }
    public func writeTables() throws {}
}

public enum ProbeRegistry {
    /// In report order.
    public static let probes: [any ProbeMeasurement.Type] = [
        MaskPredictionMeasurement.self,
        LayersMeasurement.self,
        KnowledgeMeasurement.self,
        LossMeasurement.self,
        LensMeasurement.self,
        AttentionMeasurement.self,
        DynamicsMeasurement.self,
        PairsMeasurement.self,
        ExamplesMeasurement.self,
        SimilarityMeasurement.self,
        LlcMeasurement.self,
    ]

    /// The probes run when none are named.
    public static let defaults = ["mlm", "layers", "knowledge", "loss"]

    /// The probes run on `run` when none are named: the defaults, and pairs when its world has minimal pairs.
    public static func defaults(for run: Run) -> [String] { defaults + (worldPairs(run) == nil ? [] : ["pairs"]) }

    /// The minimal pairs of a run's built-in world (its pairs/ folder), if it has them.
    public static func worldPairs(_ run: Run) -> URL? {
        guard let w = run.world else { return nil }
        let dir = w.appendingPathComponent("pairs")
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir) && isDir.boolValue ? dir : nil
    }

    public static var names: [String] { probes.map { $0.probeName } }

    public static func named(_ name: String, in registry: [any ProbeMeasurement.Type] = probes)
        -> (any ProbeMeasurement.Type)?
    {
        registry.first { $0.probeName == name }
    }

    /// The probe of that name in `registry`, else a usage error listing the names.
    public static func type(named name: String, in registry: [any ProbeMeasurement.Type] = probes) throws
        -> any ProbeMeasurement.Type
    {
        guard let t = named(name, in: registry) else {
            throw EmbryoError.usage(
                "--probes: unknown probe '\(name)'; expected a comma-separated list of "
                    + registry.map { $0.probeName }.joined(separator: ", "))
        }
        return t
    }

    /// Parses a --probes list: known names, at least one, no repeats.
    public static func parse(_ list: String) throws -> [String] {
        var out: [String] = []
        for part in list.split(separator: ",") {
            let name = part.trimmingCharacters(in: .whitespaces)
            _ = try type(named: name)
            if !out.contains(name) { out.append(name) }
        }
        guard !out.isEmpty else { throw EmbryoError.usage("--probes: give at least one probe") }
        return out
    }

    /// The help's list of probes: name, then its description, continued under it.
    public static var helpText: String {
        probes.map { p -> String in
            let head = p.probeName.padding(toLength: 11, withPad: " ", startingAt: 0)
            let more = defaults.contains(p.probeName) ? "" : "(when named) "
            let lines = p.help
            return ([head + more + lines[0]] + lines.dropFirst().map { String(repeating: " ", count: 11) + $0 })
                .map { "  " + $0 }.joined(separator: "\n")
        }.joined(separator: "\n")
    }
}

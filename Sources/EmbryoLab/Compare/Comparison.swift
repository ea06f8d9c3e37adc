// A comparison of probed runs in groups (the seeds of a suite, or runs named by the user): every probe
// metric the runs share, per run as measured and per group as a mean with its spread at the steps all of
// the group's runs were probed at; the final value and the step reaching 90% of it per run; and, between
// every two groups, permutation tests of both. A branched run enters from its branching step on.

import EmbryoCore
import EmbryoRun
import Foundation

public struct ComparedRun: Sendable {
    public var name: String
    public var run: Run
    /// "probe/key" -> points in step order.
    public var curves: [String: [(step: Int, value: Double)]]
    /// For a branched run: the step it left its parent at, and the parent's directory.
    public var branchedAt: Int?
    public var parent: String?
    /// The folder its metrics came from (probes/ unless compare was given --from).
    public var folder: URL
    /// Set when the comparison cut the run at a common step (its escape is then read up to that step).
    public var cutAt: Int? = nil

    public init(
        name: String, run: Run, curves: [String: [(step: Int, value: Double)]], branchedAt: Int?, parent: String?,
        folder: URL? = nil
    ) {
        (self.name, self.run, self.curves, self.branchedAt, self.parent) = (name, run, curves, branchedAt, parent)
        self.folder = folder ?? run.probes
    }

    /// The run's probe metrics (and downstream curves when it has them); a run not probed yet is an error
    /// that says how to probe it.
    public static func load(_ run: Run, name: String, from folder: String = "probes") throws -> ComparedRun {
        let probes = run.root.appendingPathComponent(folder)
        let file = probes.appendingPathComponent("metrics.jsonl")
        guard FileManager.default.fileExists(atPath: file.path) else {
            throw EmbryoError.runtime(
                "\(run.root.path) has not been probed (no \(folder)/metrics.jsonl); run 'embryo probe --run \(run.root.path)' first"
            )
        }
        var metrics = try MetricTables.read(file)
        let downstream = probes.appendingPathComponent("downstream.jsonl")
        if FileManager.default.fileExists(atPath: downstream.path) { metrics += try MetricTables.read(downstream) }
        let branch = run.hasManifest ? try run.manifest().branch : nil
        var curves: [String: [(step: Int, value: Double)]] = [:]
        for m in metrics where m.value.isFinite && m.step >= (branch?.step ?? 0) {
            curves["\(m.probe)/\(m.key)", default: []].append((m.step, m.value))
        }
        for k in curves.keys { curves[k]!.sort { $0.step < $1.step } }
        return ComparedRun(
            name: name, run: run, curves: curves, branchedAt: branch?.step, parent: branch?.parent, folder: probes)
    }
}

extension ComparedRun {
    /// The last step any of its curves reaches.
    public var lastStep: Int { curves.values.compactMap { $0.last?.step }.max() ?? 0 }

    /// The run with its curves cut at `step` (curves with no point left are dropped).
    public func truncated(to step: Int) -> ComparedRun {
        var r = self
        r.curves = curves.compactMapValues { c in
            let kept = c.filter { $0.step <= step }
            return kept.isEmpty ? nil : kept
        }
        r.cutAt = step
        return r
    }
}

extension Comparison {
    /// Runs that end at different steps would mix their "final" values: every run is cut at the last step
    /// they all reached, and the returned sentence says so (nil when they already end together).
    public static func atCommonStep(_ groups: inout [ComparisonGroup]) -> String? {
        let runs = groups.flatMap(\.runs)
        let ends = Set(runs.map(\.lastStep))
        guard ends.count > 1, let common = ends.min() else { return nil }
        for g in groups.indices { groups[g].runs = groups[g].runs.map { $0.truncated(to: common) } }
        let short = runs.filter { $0.lastStep == common }.map(\.name)
        return "the runs end at different steps (\(ends.sorted().map(String.init).joined(separator: ", "))): every "
            + "run is compared up to step \(common), the last step all reached (\(short.prefix(5).joined(separator: ", "))"
            + "\(short.count > 5 ? ", ..." : "") end there)"
    }
}

public struct ComparisonGroup: Sendable {
    public var name: String
    public var runs: [ComparedRun]

    public init(name: String, runs: [ComparedRun]) {
        self.name = name
        self.runs = runs
    }
}

public struct Comparison: Sendable {
    public var groups: [ComparisonGroup]
    /// Metrics every run has, sorted.
    public let shared: [String]
    /// Metrics only some runs have, with the runs that have them.
    public let unshared: [(metric: String, runs: [String])]

    public init(groups: [ComparisonGroup]) throws {
        let runs = groups.flatMap(\.runs)
        guard !runs.isEmpty else { throw EmbryoError.usage("nothing to compare: give runs, --suite or --group") }
        let names = runs.map(\.name)
        if let dup = names.first(where: { n in names.filter { $0 == n }.count > 1 }) {
            throw EmbryoError.usage("the run \(dup) is named twice")
        }
        self.groups = groups
        let all = Set(runs.flatMap { $0.curves.keys })
        shared = all.filter { k in runs.allSatisfy { $0.curves[k] != nil } }.sorted()
        unshared = all.subtracting(shared).sorted().map { k in (k, runs.filter { $0.curves[k] != nil }.map(\.name)) }
    }

    public struct BandPoint: Sendable {
        public var step: Int
        public var n: Int
        public var mean: Double
        public var sd: Double
        public var ci: SeedStatistics.Interval
    }

    /// A group's mean and spread of `metric` at every step all its runs have.
    public func band(_ g: ComparisonGroup, _ metric: String) -> [BandPoint] {
        let perRun = g.runs.map {
            Dictionary($0.curves[metric]!.map { ($0.step, $0.value) }, uniquingKeysWith: { a, _ in a })
        }
        guard let first = perRun.first else { return [] }
        let steps = first.keys.filter { s in perRun.allSatisfy { $0[s] != nil } }.sorted()
        return steps.map { s in
            let xs = perRun.map { $0[s]! }
            return BandPoint(
                step: s, n: xs.count, mean: SeedStatistics.mean(xs), sd: SeedStatistics.sd(xs),
                ci: SeedStatistics.bootstrapMean(xs))
        }
    }

    /// Per run of a group: the final value and the step reaching 90% of it.
    public func outcomes(_ g: ComparisonGroup, _ metric: String) -> [(final: Double, t90: Double?)] {
        g.runs.map { r in
            let c = r.curves[metric]!
            return (c.last!.value, SeedStatistics.stepReaching90(c).map(Double.init))
        }
    }

    public struct Test: Sendable {
        public var metric: String
        public var statistic: String
        public var a: String, b: String
        public var meanA: Double, meanB: Double
        public var result: SeedStatistics.Permutation
        public var nA: Int, nB: Int
    }

    /// Between every two groups: permutation tests of the final value and of t90 (over the runs where the
    /// curve reaches 90%).
    public func tests(_ metric: String) -> [Test] {
        var out: [Test] = []
        for i in groups.indices {
            for j in groups.indices where j > i {
                let oa = outcomes(groups[i], metric), ob = outcomes(groups[j], metric)
                for (stat, xa, xb) in [
                    ("final", oa.map(\.final), ob.map(\.final)),
                    ("t90", oa.compactMap(\.t90), ob.compactMap(\.t90)),
                ] where !xa.isEmpty && !xb.isEmpty {
                    out.append(
                        Test(
                            metric: metric, statistic: stat, a: groups[i].name, b: groups[j].name,
                            meanA: SeedStatistics.mean(xa), meanB: SeedStatistics.mean(xb),
                            result: SeedStatistics.permutationTest(xa, xb), nA: xa.count, nB: xb.count))
                }
            }
        }
        return out
    }
}

extension Comparison {
    /// One point of the similarity between runs: the mean linear CKA, over every pair of a group's runs, of
    /// the same layer at the same step (from the runs' cached `similarity` probe representations).
    public struct CrossRunPoint: Sendable {
        public var group: String
        public var layer: Int
        public var step: Int
        public var cka: Double
        public var pairs: Int
    }

    /// The cached representations of a run's snapshots, by step (none when it was not probed with
    /// `similarity`).
    static func similarityCaches(_ r: ComparedRun) -> [Int: URL] {
        let cache = r.folder.appendingPathComponent("cache")
        var out: [Int: URL] = [:]
        for name in ((try? FileManager.default.contentsOfDirectory(atPath: cache.path)) ?? []).sorted()
        where name.hasPrefix("similarity-step-") && name.hasSuffix(".safetensors") {
            let digits = name.dropFirst("similarity-step-".count).prefix(while: \.isNumber)
            if let step = Int(digits), out[step] == nil { out[step] = cache.appendingPathComponent(name) }
        }
        return out
    }

    /// Per group with at least two runs probed with `similarity`: per step every run has and per layer, the
    /// mean CKA over pairs of runs.
    public func crossRunSimilarity() throws -> [CrossRunPoint] {
        var out: [CrossRunPoint] = []
        for g in groups where g.runs.count >= 2 {
            let caches = g.runs.map(Comparison.similarityCaches)
            guard caches.allSatisfy({ !$0.isEmpty }) else { continue }
            let steps = caches[0].keys.filter { s in caches.allSatisfy { $0[s] != nil } }.sorted()
            for step in steps {
                let reps = try caches.map { try SimilarityProbe.load($0[step]!) }
                guard let H = reps.first?.hidden,
                    reps.allSatisfy({ $0.hidden == H && $0.reps.count == reps[0].reps.count })
                else { continue }
                for l in reps[0].reps.indices {
                    var sum = 0.0, pairs = 0
                    for i in reps.indices {
                        for j in reps.indices where j > i {
                            let n = min(reps[i].reps[l].count, reps[j].reps[l].count) / H
                            sum += Similarity.linearCKA(reps[i].reps[l], dx: H, reps[j].reps[l], dy: H, n: n)
                            pairs += 1
                        }
                    }
                    out.append(
                        CrossRunPoint(group: g.name, layer: l, step: step, cka: sum / Double(pairs), pairs: pairs))
                }
            }
        }
        return out
    }
}

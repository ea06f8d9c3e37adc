// `embryo probe` on one run: the chosen probes (ProbeRegistry) measured on every snapshot by the one
// MeasurementRunner (each result cached under the weights' hash and the probe's settings, so re-running
// after more training only probes the new snapshots), then metrics.jsonl, metrics.csv and report.html.

import EmbryoCore
import EmbryoRun
import EmbryoText
import Foundation

public final class ProbeRunner {
    public let run: Run
    public let out: URL
    public let inputs: ProbeInputs
    public let runner: MeasurementRunner
    /// The probes this runner can run and whose sections its page has.
    public let registry: [any ProbeMeasurement.Type]
    /// The probes it runs, in the order named.
    let probes: [any ProbeMeasurement]

    public var options: ProbeOptions { inputs.options }
    public var heldOutDescription: String { inputs.heldOutDescription }
    /// Seconds spent in each probe (cache misses and assembly), for the throughput report.
    public var seconds: [String: Double] { runner.seconds }

    /// `registry`: the probes `options.probes` names (ProbeRegistry's, by default); with none named, the
    /// run's defaults.
    public init(
        run: Run, options: ProbeOptions, out: URL? = nil, registry: [any ProbeMeasurement.Type] = ProbeRegistry.probes,
        warn: @escaping (String) -> Void
    ) throws {
        self.run = run
        self.out = out ?? run.probes
        self.registry = registry
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: run.checkpoints.path, isDirectory: &isDir), isDir.boolValue else {
            throw EmbryoError.io(run.checkpoints.path, "no such directory")
        }
        var options = options
        options.probes = options.probes ?? ProbeRegistry.defaults(for: run)
        let types = try options.probes!.map { try ProbeRegistry.type(named: $0, in: registry) }
        let warned = WarnOnce(warn)
        let needs = types.reduce(MeasurementNeeds()) { $0.union($1.probeNeeds) }
        inputs = try ProbeInputs(run: run, options: options, out: self.out, needs: needs, warnOnce: warned.say)
        let inputs = self.inputs
        probes = try types.map { try $0.init(inputs) }
        runner = MeasurementRunner(
            cache: self.out.appendingPathComponent("cache"), measurements: probes, warn: warned.say)
        runner.skipUnreadable = true
        runner.checkLoaded = { s, todo in
            let model = try s.model()
            guard let first = todo.first(where: { $0.needs.contains(.mlmHead) }),
                model.absentParts.contains(.mlmHead)
            else { return }
            do { try model.require(.mlmHead, for: "the \(first.name) probe (step \(s.step))") } catch {
                let headless = registry.filter { !$0.probeNeeds.contains(.mlmHead) }.map { $0.probeName }
                throw EmbryoError.runtime(
                    "\(describe(error)); probe it with --probes \(headless.joined(separator: ",")), which need no head")
            }
        }
    }

    /// The run's snapshots in step order; incomplete ones are skipped with a warning (once).
    public func scan() throws -> [Snapshot] { try run.snapshots(warn: runner.warnOnce) }

    /// Probes `refs` (cached results reused), writes the tables and the report, and returns every metric.
    /// `progress(done, total, step, cached)` after each checkpoint.
    public func run(_ refs: [Snapshot], progress: (Int, Int, Int, Bool) -> Void) throws -> [ProbeMetric] {
        let pass = try runner.measure(refs, progress: progress, afterEach: writeOutputs)
        try writeOutputs(pass.metrics)
        return pass.metrics
    }

    /// Job `shard` of a job array: probes its share of `all` into the per-snapshot cache and writes
    /// nothing else (no tables, no report, no cross-snapshot results: the run's final `probe` assembles them
    /// from the cache). Returns how many snapshots were probed and how many were already cached.
    public func fillCache(shard: Shard, of all: [Snapshot], progress: (Int, Int, Int, Bool) -> Void) throws -> (
        probed: Int, cached: Int
    ) {
        let pass = try runner.measure(shard: shard, of: all, progress: progress)
        return (pass.measured, pass.cached)
    }

    func writeOutputs(_ metrics: [ProbeMetric]) throws {
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        for p in probes { try p.writeTables() }
        Milestones.dropStale(in: out, lastStep: metrics.map(\.step).max() ?? 0)
        try writeAtomically(Data(MetricTables.jsonl(metrics).utf8), to: out.appendingPathComponent("metrics.jsonl"))
        try writeAtomically(Data(MetricTables.csv(metrics).utf8), to: out.appendingPathComponent("metrics.csv"))
        let o = options
        let info = ReportInfo(
            title: run.name, checkpoints: run.checkpoints.path, pos: o.pos?.path, posTrain: o.posTrain?.path,
            facts: o.facts, heldOut: heldOutDescription, maxSentences: o.maxSentences, trainLog: run.log)
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        try writeAtomically(try enc.encode(info), to: out.appendingPathComponent("report-info.json"))
        try RunReport.write(folder: out, run: run, probes: metrics, info: info, fallback: info, registry: registry)
    }
}

// The milestones of a run's development, found from its files: the escape from the word-frequency plateau
// and the steepest descent of the held-out loss (train_log.jsonl, as `embryo findings`), the structure
// onset (Chen et al. 2024: the largest rise per step of attention/uas/best between snapshots), the
// capabilities onset (the first snapshot whose minimal-pair accuracy, the pairs probe's mean over
// paradigms, breaks above the mean of the snapshots before it by 3 binomial standard errors; without that
// probe, the mask prediction of agreement targets, AUX) and
// the release of representation collapse (the fastest fall per step of dynamics/collapse). Onsets read
// from snapshots count only from the end of the warmup on, where the learning rate has reached its peak.
// The structure onset and the release of collapse are the extreme interval of a curve that also moves from
// snapshot to snapshot without any transition, so each carries its prominence: how many robust standard
// deviations of the curve's own per-step changes the rise it holds stands out by (distinct from 3 on).

import EmbryoCore
import EmbryoRun
import Foundation

public struct Milestones: Codable, Sendable, Equatable {
    public var escape: Int?
    public var steepestDescent: Int?
    public var structureOnset: Int?
    public var capabilitiesOnset: Int?
    public var collapseRelease: Int?
    /// The prominence of the structure onset's and of the collapse release's interval (`prominence`); nil
    /// without the onset or with too few snapshots to judge it.
    public var structureOnsetZ: Double? = nil
    public var collapseReleaseZ: Double? = nil
    /// Snapshot-based onsets are sought from this step on.
    public var from: Int
    public var lastStep: Int
    /// The metric the capabilities onset was read from.
    public var capabilities: String
    /// Developmental stage boundaries from the local learning coefficient: the snapshots where its slope
    /// changes sign (Hoogland et al. 2024); nil when the llc probe was not run.
    public var llcStageBoundaries: [Int]? = nil

    enum CodingKeys: String, CodingKey {
        case escape, steepestDescent = "steepest_descent", structureOnset = "structure_onset"
        case capabilitiesOnset = "capabilities_onset", collapseRelease = "collapse_release", from
        case lastStep = "last_step", capabilities = "capabilities_metric"
        case llcStageBoundaries = "llc_stage_boundaries"
        case structureOnsetZ = "structure_onset_z", collapseReleaseZ = "collapse_release_z"
    }

    public init(
        escape: Int? = nil, steepestDescent: Int? = nil, structureOnset: Int? = nil, capabilitiesOnset: Int? = nil,
        collapseRelease: Int? = nil, from: Int, lastStep: Int, capabilities: String
    ) {
        (self.escape, self.steepestDescent, self.structureOnset) = (escape, steepestDescent, structureOnset)
        (self.capabilitiesOnset, self.collapseRelease) = (capabilitiesOnset, collapseRelease)
        (self.from, self.lastStep, self.capabilities) = (from, lastStep, capabilities)
    }

    public static let fileName = "milestones.json"
    /// The capabilities measure until a minimal-pairs probe exists: agreement targets by mask prediction.
    public static let capabilitiesKey = "mask_prediction/upos/AUX"
    /// The capabilities measure once the pairs probe ran (Chen et al.'s BLiMP accuracy): its mean over paradigms.
    public static let pairsKey = "accuracy/mean"

    /// An onset's prominence from this many robust standard deviations on: distinct from snapshot noise.
    public static let distinctZ = 3.0

    /// How far the interval ending at `step` stands out among the intervals of `points` starting at or
    /// after `from`: the rise (`rising` false: fall) it still holds at the next point (the smaller of its own
    /// and the one up to the next point; a spike that the next snapshot undoes holds none), per step, minus
    /// the median rate of all the intervals, over 1.4826 times the rates' median absolute deviation from
    /// that median (their standard deviation for normal noise; the mean absolute deviation times sqrt(pi/2)
    /// when over half the rates are equal). nil when the step ends no such interval, with fewer than
    /// `minIntervals` intervals, or with no spread.
    public static func prominence(
        _ points: [(step: Int, value: Double)], at step: Int?, rising: Bool, from: Int = 0, minIntervals: Int = 5
    ) -> Double? {
        guard let step else { return nil }
        let p = points.sorted { $0.step < $1.step }.filter { $0.step >= from }
        func change(_ a: (step: Int, value: Double), _ b: (step: Int, value: Double)) -> Double {
            rising ? b.value - a.value : a.value - b.value
        }
        let rates = zip(p, p.dropFirst()).filter { $1.step > $0.step }.map { a, b in
            (step: b.step, rate: change(a, b) / Double(b.step - a.step))
        }
        guard rates.count >= minIntervals, let i = p.indices.dropFirst().first(where: { p[$0].step == step }),
            p[i].step > p[i - 1].step
        else { return nil }
        let next = p[(i + 1)...].first { $0.step > p[i].step }
        let kept = next.map { min(change(p[i - 1], p[i]), change(p[i - 1], $0)) } ?? change(p[i - 1], p[i])
        let at = kept / Double(p[i].step - p[i - 1].step)
        let median = SeedStatistics.median(rates.map(\.rate).sorted())
        let deviations = rates.map { abs($0.rate - median) }.sorted()
        var scale = 1.4826 * SeedStatistics.median(deviations)
        if scale == 0 { scale = (Double.pi / 2).squareRoot() * deviations.reduce(0, +) / Double(deviations.count) }
        return scale > 0 ? (at - median) / scale : nil
    }

    /// The first point (from `from` on, after at least one earlier point) whose accuracy exceeds the mean of
    /// every earlier point by `z` binomial standard errors of its own count (the mean floored at 1/count,
    /// so that one lucky word on a plateau at 0 is no onset).
    public static func breakUp(_ points: [(step: Int, value: Double, count: Int)], z: Double = 3, from: Int = 0)
        -> Int?
    {
        let p = points.sorted { $0.step < $1.step }
        for i in p.indices.dropFirst() where p[i].step >= from && p[i].count > 0 {
            let mean = p[..<i].map(\.value).reduce(0, +) / Double(i), n = Double(p[i].count)
            let q = min(max(mean, 1 / n), 1)
            if p[i].value > mean + z * (q * (1 - q) / n).squareRoot() { return p[i].step }
        }
        return nil
    }

    /// The milestones of `run` from its probe metrics (`metrics`: its metrics.jsonl, with the attention and
    /// dynamics probes when they were run) and its training log, both up to step `last` when given.
    /// `pairs` false reads the capabilities onset from mask prediction even when minimal pairs were probed.
    public static func of(run: Run, metrics all: [ProbeMetric], upTo last: Int? = nil, pairs usePairs: Bool = true)
        throws -> Milestones
    {
        let metrics = all.filter { $0.step <= (last ?? .max) }
        func series(_ probe: String, _ key: String) -> [(step: Int, value: Double, count: Int)] {
            metrics.filter { $0.probe == probe && $0.key == key }.map { ($0.step, $0.value, $0.count) }
        }
        let from = run.hasManifest ? (try? run.manifest().config.warmup) ?? 0 : 0
        let escape = try EscapeSummary.of(run, upTo: last)
        let uas = series("attention", "uas/best").map { ($0.step, $0.value) }
        let collapse = series("dynamics", "collapse").map { ($0.step, $0.value) }
        let pairs = usePairs ? series("pairs", pairsKey) : []
        let cap = pairs.isEmpty ? series("mlm", capabilitiesKey) : pairs
        let llc = series("llc", "mean").map { ($0.step, $0.value) }.sorted { $0.0 < $1.0 }
        let structure = Trajectory.steepest(uas, rising: true, from: from)
        let release = Trajectory.steepest(collapse, rising: false, from: from)
        var m = Milestones(
            escape: escape?.escapeStep, steepestDescent: escape?.steepestDescentStep, structureOnset: structure,
            capabilitiesOnset: breakUp(cap, from: from), collapseRelease: release,
            from: from, lastStep: max(metrics.map(\.step).max() ?? 0, escape?.lastStep ?? 0),
            capabilities: pairs.isEmpty ? "mlm/" + capabilitiesKey : "pairs/" + pairsKey)
        m.structureOnsetZ = prominence(uas, at: structure, rising: true, from: from)
        m.collapseReleaseZ = prominence(collapse, at: release, rising: false, from: from)
        let llcErrors = Dictionary(series("llc", "std_error").map { ($0.step, $0.value) }) { a, _ in a }
        m.llcStageBoundaries = llc.isEmpty ? nil : LlcReport.stageBoundaries(llc, errors: llcErrors)
        return m
    }

    /// Each milestone by name, nil where it was not found (or its probe not run).
    public var named: [(name: String, step: Int?)] {
        [
            ("escape", escape), ("steepest_descent", steepestDescent), ("structure_onset", structureOnset),
            ("capabilities_onset", capabilitiesOnset), ("collapse_release", collapseRelease),
        ]
    }

    /// The prominence of the named milestone, for those that have one, as a table cell: "–" without one,
    /// and "within noise" below `distinctZ`.
    public func prominenceCell(_ name: String) -> String {
        let z = name == "structure_onset" ? structureOnsetZ : name == "collapse_release" ? collapseReleaseZ : nil
        guard let z else { return "–" }
        // one decimal, rounded down, so that a figure shown as 3.0 is at least 3
        return String(format: "%.1f", (z * 10).rounded(.down) / 10) + (z < Self.distinctZ ? " (within noise)" : "")
    }

    /// Every milestone, then every lag, as one row of steps (the columns of a comparison).
    public var columns: [(name: String, step: Int?)] { named + lags.map { ($0.name, $0.steps) } }

    /// The lags the literature orders: structure after the escape, capabilities after structure.
    public var lags: [(name: String, steps: Int?)] {
        func lag(_ a: Int?, _ b: Int?) -> Int? { a.flatMap { a in b.map { a - $0 } } }
        return [
            ("structure_minus_escape", lag(structureOnset, escape)),
            ("capabilities_minus_structure", lag(capabilitiesOnset, structureOnset)),
        ]
    }

    /// milestones.json beside the metrics.
    public func write(to folder: URL) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try writeAtomically(try enc.encode(self), to: folder.appendingPathComponent(Self.fileName))
    }

    /// Removes the folder's milestones.json when it was found on fewer snapshots than `lastStep` (the page
    /// would show milestones of an earlier probe).
    public static func dropStale(in folder: URL, lastStep: Int) {
        let url = folder.appendingPathComponent(fileName)
        guard let data = try? readFile(url), let m = try? JSONDecoder().decode(Milestones.self, from: data),
            m.lastStep < lastStep
        else { return }
        try? FileManager.default.removeItem(at: url)
    }

    /// The report's section: a table of the milestones (from milestones.json in the folder).
    static func section(folder: URL) -> String {
        guard let data = try? readFile(folder.appendingPathComponent(fileName)),
            let m = try? JSONDecoder().decode(Milestones.self, from: data)
        else { return "" }
        var h = "<h2>Milestones</h2>\n<p class=note>Found by <code>embryo milestones</code>: the escape from the "
        h += "word-frequency plateau and the steepest descent of the held-out loss; the structure onset (largest "
        h += "rise per step of the best head's implicit-parse UAS), the capabilities onset (first break of "
        h += "\(esc(m.capabilities)) above the snapshots before it by 3 standard errors) and the release of "
        h += "collapse (fastest fall of the mean cosine), sought from step \(m.from) on. Prominence: how many "
        h += "robust standard deviations of the curve's own snapshot-to-snapshot changes the rise (fall) that "
        h += "the onset's interval still holds at the next snapshot stands out by; below \(Int(distinctZ)) it "
        h += "is not told apart from noise.</p>\n"
        h += "<table><tr><th>milestone</th><th>step</th><th>prominence (z)</th></tr>\n"
        for (name, step) in m.named {
            h += "<tr><td>\(name.replacingOccurrences(of: "_", with: " "))</td>"
            h += "<td class=num>\(step.map(String.init) ?? "none by \(m.lastStep)")</td>"
            h += "<td class=num>\(m.prominenceCell(name))</td></tr>\n"
        }
        h += "</table>\n"
        if let b = m.llcStageBoundaries {
            h += "<p>Stage boundaries from the local learning coefficient (its slope changes sign): "
            h += (b.isEmpty ? "none" : b.map { "step \($0)" }.joined(separator: ", ")) + ".</p>\n"
        }
        return h
    }
}

// Runs measurements over a run's snapshots, the same way for probes, per-snapshot fine-tuning and the
// activation store: each snapshot loaded once for all of them; each result cached per (measurement,
// snapshot) under the weights' hash and the measurement's settings, so a second run measures only what is
// new; a job-array shard measures its share into the cache; a watch follows a running pretrain.

import EmbryoCore
import EmbryoRun
import EmbryoText
import Foundation

public final class MeasurementRunner {
    public let cache: URL
    public let measurements: [any SnapshotMeasurement]
    /// Skip a snapshot that cannot be read (with a warning) instead of stopping.
    public var skipUnreadable = false
    /// Called once a snapshot is loaded for the measurements that still need it (e.g. to require a head).
    public var checkLoaded: ((LoadedSnapshot, [any SnapshotMeasurement]) throws -> Void)?
    let warned: WarnOnce
    private var firstVocab: (step: Int, hash: String)?
    /// Seconds spent measuring, per measurement (cache misses only).
    public private(set) var seconds: [String: Double] = [:]

    /// The outcome of one pass over snapshots.
    public struct Pass {
        /// Every result in step order, each snapshot's in the measurements' order, then the assembled ones.
        public var metrics: [ProbeMetric] = []
        /// Steps with a result (snapshots skipped as unreadable are left out).
        public var steps: [Int] = []
        public var measured = 0
        public var cached = 0
        /// A stop was requested: the pass ended before its last snapshot.
        public var stopped = false
    }

    public init(cache: URL, measurements: [any SnapshotMeasurement], warn: @escaping (String) -> Void) {
        self.cache = cache
        self.measurements = measurements
        warned = WarnOnce(warn)
    }

    public func warnOnce(_ s: String) { warned.say(s) }

    /// The cache entry of one measurement on one snapshot.
    struct Entry: Codable {
        var format = 2
        var settings: String
        var result: Measured
    }

    func entryURL(_ m: any SnapshotMeasurement, _ s: LoadedSnapshot) -> URL { s.cacheFile(m.name, suffix: ".json") }

    func cached(_ m: any SnapshotMeasurement, _ s: LoadedSnapshot) throws -> Measured? {
        if let data = try? readFile(entryURL(m, s)) {
            if let e = try? JSONDecoder().decode(Entry.self, from: data) {
                return e.format == 2 && e.settings == m.settings && m.isUsable(e.result, for: s) ? e.result : nil
            }
            if let r = legacyEntry(data, settings: m.settings), m.isUsable(r, for: s) { return r }
        }
        // a result of an earlier version, in the measurement's own place: cached from now on
        guard let r = m.legacyResult(for: s), m.isUsable(r, for: s) else { return nil }
        try write(r, of: m, at: s)
        return r
    }

    /// A probe's cache entry as written before entries had a format: its settings, metrics and, for the
    /// knowledge and examples probes, the per-fact or per-word results that are now the artifact.
    func legacyEntry(_ data: Data, settings: String) -> Measured? {
        guard let o = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any], o["format"] == nil,
            o["settings"] as? String == settings, let ms = o["metrics"], JSONSerialization.isValidJSONObject(ms),
            let msData = try? JSONSerialization.data(withJSONObject: ms),
            let metrics = try? JSONDecoder().decode([ProbeMetric].self, from: msData)
        else { return nil }
        let artifact = (o["facts"] ?? o["examples"]).flatMap {
            JSONSerialization.isValidJSONObject($0)
                ? try? JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]) : nil
        }
        return Measured(metrics: metrics, artifact: artifact.map { String(decoding: $0, as: UTF8.self) })
    }

    func write(_ r: Measured, of m: any SnapshotMeasurement, at s: LoadedSnapshot) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        try writeAtomically(try enc.encode(Entry(settings: m.settings, result: r)), to: entryURL(m, s))
    }

    /// Removes this measurement's entries for the snapshot's step, whatever weights they were made from:
    /// its files outside the cache are named by step and are about to change.
    func removeEntries(of m: any SnapshotMeasurement, at s: LoadedSnapshot) {
        let prefix = "\(m.name)-\(Run.checkpointName(s.step))-"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: cache.path)) ?? []
        for n in names where n.hasPrefix(prefix) && n.hasSuffix(".json") {
            try? FileManager.default.removeItem(at: cache.appendingPathComponent(n))
        }
    }

    /// Measures `refs` in order. `progress(done, total, step, cached)` after each snapshot, then `afterEach`
    /// with every metric so far (to keep tables current). With `assemble`, the measurements' cross-snapshot
    /// results follow (also after a stop, over the snapshots done); a shard passes false and leaves them to
    /// the final run.
    /// Job `shard` of a job array: its share of `all` (the snapshots at positions i, i+n, ...) into the
    /// cache, nothing assembled; one plain run afterwards assembles every snapshot from the cache.
    public func measure(
        shard: Shard, of all: [Snapshot], progress: (Int, Int, Int, Bool) -> Void = { _, _, _, _ in }
    ) throws -> Pass {
        try measure(shard.share(all), assemble: false, progress: progress)
    }

    public func measure(
        _ refs: [Snapshot], assemble: Bool = true, progress: (Int, Int, Int, Bool) -> Void = { _, _, _, _ in },
        afterEach: ([ProbeMetric]) throws -> Void = { _ in }
    ) throws -> Pass {
        try FileManager.default.createDirectory(at: cache, withIntermediateDirectories: true)
        var pass = Pass()
        for (i, ref) in refs.enumerated() {
            do {
                // after a stop, the snapshots still to come count only with what is cached
                guard let (metrics, fresh) = try measureOne(ref) else {
                    pass.stopped = true
                    continue
                }
                pass.metrics += metrics
                pass.steps.append(ref.step)
                if fresh { pass.measured += 1 } else { pass.cached += 1 }
                progress(i + 1, refs.count, ref.step, !fresh)
            } catch let e as LoadedSnapshot.Unreadable {
                guard skipUnreadable else { throw e.underlying }
                warnOnce("skipping \(ref.dir.path): \(e.reason)")
                progress(i + 1, refs.count, ref.step, true)
            }
            try afterEach(pass.metrics)
        }
        if assemble {
            for m in measurements {
                let t0 = Date()
                pass.metrics += try m.assemble(steps: pass.steps)
                seconds[m.name, default: 0] += Date().timeIntervalSince(t0)
            }
        }
        return pass
    }

    /// One snapshot's metrics and whether any was measured now; nil when a stop was requested before work.
    func measureOne(_ ref: Snapshot) throws -> ([ProbeMetric], Bool)? {
        let s = try LoadedSnapshot(ref, cache: cache)
        var results = try measurements.map { try cached($0, s) }
        let todo = measurements.indices.filter { results[$0] == nil }
        if !todo.isEmpty && stopRequested != 0 { return nil }
        if !todo.isEmpty {
            try checkLoaded?(s, todo.map { measurements[$0] })
            if s.isLoaded { try noteVocabulary(s) }
        }
        for i in todo {
            let m = measurements[i], t0 = Date()
            // entries go before the files they describe change, and one comes back once they are in place
            removeEntries(of: m, at: s)
            let r = try m.measure(s)
            seconds[m.name, default: 0] += Date().timeIntervalSince(t0)
            try write(r, of: m, at: s)
            results[i] = r
        }
        for (m, r) in zip(measurements, results) { m.collect(r!, at: s) }
        return (results.flatMap { $0!.metrics }, !todo.isEmpty)
    }

    /// Warns (once) when a snapshot's vocabulary differs from the first one measured.
    func noteVocabulary(_ s: LoadedSnapshot) throws {
        let hash = try s.vocabHash()
        if let f = firstVocab, f.hash != hash {
            warnOnce(
                "step \(s.step) has a different vocabulary from step \(f.step); its probe inputs are tokenized "
                    + "with its own vocab.txt")
        } else if firstVocab == nil {
            firstVocab = (s.step, hash)
        }
    }

    /// Runs `pass` on the run's snapshots; with `watch`, again whenever new ones appear, until the run's last
    /// planned snapshot has been seen or a stop is requested (polling every `poll` seconds).
    public static func follow(
        _ run: Run, watch: Bool, poll: Double, warn: (String) -> Void, pass: ([Snapshot]) throws -> Void
    ) throws {
        var seen = Set<Int>()
        var first = true
        while true {
            let refs = watch ? try run.snapshots(warn: warn) : try run.requireSnapshots(warn: warn)
            let steps = Set(refs.map(\.step))
            // a watch waits for the first snapshot, then measures whenever the set of snapshots changes
            if (first && !watch) || (!steps.isEmpty && steps != seen) { try pass(refs) }
            (seen, first) = (steps, false)
            let last = run.plannedSteps?.max()
            guard watch, stopRequested == 0, !(last.map { steps.contains($0) } ?? false) else { return }
            var waited = 0.0
            while waited < poll && stopRequested == 0 {
                Thread.sleep(forTimeInterval: min(0.5, poll))
                waited += min(0.5, poll)
            }
            if stopRequested != 0 { return }
        }
    }
}

/// Says each distinct warning once.
public final class WarnOnce {
    let warn: (String) -> Void
    var said = Set<String>()
    public init(_ warn: @escaping (String) -> Void) { self.warn = warn }
    public func say(_ s: String) { if said.insert(s).inserted { warn(s) } }
}

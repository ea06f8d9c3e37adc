// The one runner behind probe, finetune --run and activations, tested once with a counting measurement:
// every snapshot measured exactly once across the shards of any job array, nothing measured again by a
// second run, a new result when the settings or the weights change, new snapshots picked up by a watch,
// and a stop that ends a pass before the next snapshot.

import EmbryoCore
import EmbryoLab
import EmbryoRun
import EmbryoTestSupport
import XCTest

/// Counts what it is asked to measure; its metric is the step, its artifact the step's square (in a list).
final class CountingMeasurement: SnapshotMeasurement {
    let name = "count"
    let needs: MeasurementNeeds = []
    var settings = "count v1"
    var measured: [Int] = []
    var collected: [Int: Int] = [:]
    var onMeasure: (Int) -> Void = { _ in }

    func measure(_ s: LoadedSnapshot) throws -> Measured {
        measured.append(s.step)
        onMeasure(s.step)
        let m = ProbeMetric(step: s.step, probe: name, key: "step", value: Double(s.step), count: 1)
        return try Measured(metrics: [m], encoding: [s.step * s.step])
    }

    func collect(_ result: Measured, at s: LoadedSnapshot) { collected[s.step] = result.decoded([Int].self)?.first }

    func isUsable(_ result: Measured, for s: LoadedSnapshot) -> Bool { result.decoded([Int].self) != nil }

    func assemble(steps: [Int]) throws -> [ProbeMetric] {
        [ProbeMetric(step: steps.last ?? -1, probe: name, key: "snapshots", value: Double(steps.count), count: 1)]
    }
}

final class MeasurementRunnerTests: ScratchDirectoryTestCase {
    /// A snapshot folder the runner can key (its files are never read as a model).
    func addSnapshot(_ step: Int, weights: String? = nil) throws {
        let d = dir.appendingPathComponent("checkpoints/step-\(step)")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        for (f, text) in [("model.safetensors", weights ?? "w\(step)"), ("config.json", "{}"), ("vocab.txt", "[PAD]")] {
            try text.write(to: d.appendingPathComponent(f), atomically: true, encoding: .utf8)
        }
    }

    func runner(_ m: CountingMeasurement) -> MeasurementRunner {
        MeasurementRunner(cache: dir.appendingPathComponent("cache"), measurements: [m], warn: { _ in })
    }

    func testEverySnapshotOnceAcrossShardsThenNothingAgain() throws {
        let steps = [0, 1, 2, 4, 8, 16, 100]
        for s in steps { try addSnapshot(s) }
        let run = try Run.open(dir.appendingPathComponent("checkpoints").path)
        let all = try run.requireSnapshots()
        for n in [1, 2, 3, 7, 9] {
            try? FileManager.default.removeItem(at: dir.appendingPathComponent("cache"))
            var measured: [Int] = []
            for i in 0..<n {
                let m = CountingMeasurement()
                let pass = try runner(m).measure(Shard(index: i, count: n).share(all), assemble: false)
                XCTAssertEqual(pass.metrics.map(\.key), Array(repeating: "step", count: pass.steps.count))
                measured += m.measured
            }
            XCTAssertEqual(measured.sorted(), steps, "\(n) shards")
            // the final run measures nothing and assembles every snapshot from the cache, in step order
            let m = CountingMeasurement()
            var cachedFlags: [Bool] = []
            let pass = try runner(m).measure(all) { _, _, _, c in cachedFlags.append(c) }
            XCTAssertEqual(m.measured, [], "\(n) shards")
            XCTAssertEqual(cachedFlags, Array(repeating: true, count: steps.count))
            XCTAssertEqual([pass.measured, pass.cached], [0, steps.count])
            XCTAssertEqual(pass.metrics.map(\.step), steps + [100])
            XCTAssertEqual(pass.metrics.last?.value, Double(steps.count))
            XCTAssertEqual(m.collected, Dictionary(uniqueKeysWithValues: steps.map { ($0, $0 * $0) }))
        }
    }

    func testNewSettingsOrWeightsAreMeasuredAgain() throws {
        for s in [0, 10, 20] { try addSnapshot(s) }
        let all = try Run.open(dir.appendingPathComponent("checkpoints").path).requireSnapshots()
        let first = CountingMeasurement()
        _ = try runner(first).measure(all)
        XCTAssertEqual(first.measured, [0, 10, 20])
        let changed = CountingMeasurement()
        changed.settings = "count v2"
        _ = try runner(changed).measure(all)
        XCTAssertEqual(changed.measured, [0, 10, 20], "new settings")
        try addSnapshot(10, weights: "retrained")
        let again = CountingMeasurement()
        again.settings = "count v2"
        _ = try runner(again).measure(all)
        XCTAssertEqual(again.measured, [10], "new weights at step 10 only")
        // a cache entry that is not one (truncated, foreign) is measured again, not trusted
        let entry = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("cache").path)
            .first { $0.hasPrefix("count-step-000020-") }!
        try "{\"format\": 2".write(
            to: dir.appendingPathComponent("cache/\(entry)"), atomically: true, encoding: .utf8)
        let fourth = CountingMeasurement()
        fourth.settings = "count v2"
        _ = try runner(fourth).measure(all)
        XCTAssertEqual(fourth.measured, [20])
    }

    func testEntriesOfEarlierVersionsOtherWeightsAndUnreadableArtifacts() throws {
        for s in [0, 10] { try addSnapshot(s) }
        let all = try Run.open(dir.appendingPathComponent("checkpoints").path).requireSnapshots()
        let cache = dir.appendingPathComponent("cache")
        try FileManager.default.createDirectory(at: cache, withIntermediateDirectories: true)
        // an entry as probes wrote them before entries had a format: settings, metrics, per-item results
        let weights0 = try all[0].weightsHash()
        let legacy =
            "{\"settings\":\"count v1\",\"metrics\":[{\"step\":0,\"probe\":\"count\",\"key\":\"step\","
            + "\"value\":0,\"count\":1}],\"examples\":[49]}"
        try legacy.write(
            to: cache.appendingPathComponent("count-step-000000-\(weights0).json"), atomically: true, encoding: .utf8)
        let m = CountingMeasurement()
        _ = try runner(m).measure(all)
        XCTAssertEqual(m.measured, [10], "the earlier version's entry stands for step 0")
        XCTAssertEqual(m.collected[0], 49)
        // new weights at step 10: the old weights' entry goes, one entry per measurement and step remains
        try addSnapshot(10, weights: "retrained")
        let again = CountingMeasurement()
        _ = try runner(again).measure(all)
        XCTAssertEqual(again.measured, [10])
        let names = try FileManager.default.contentsOfDirectory(atPath: cache.path)
        XCTAssertEqual(names.filter { $0.hasPrefix("count-step-000010-") }.count, 1, "\(names)")
        // an entry whose artifact no longer reads is measured again
        let entry = cache.appendingPathComponent(names.first { $0.hasPrefix("count-step-000010-") }!)
        let text = try String(contentsOf: entry, encoding: .utf8).replacingOccurrences(of: "[100]", with: "[\\\"x\\\"]")
        try text.write(to: entry, atomically: true, encoding: .utf8)
        let third = CountingMeasurement()
        _ = try runner(third).measure(all)
        XCTAssertEqual(third.measured, [10])
    }

    func testWatchPicksUpNewSnapshotsAndStopEndsAPass() throws {
        for s in [0, 10] { try addSnapshot(s) }
        let run = try Run.open(dir.appendingPathComponent("checkpoints").path)
        let m = CountingMeasurement()
        let r = runner(m)
        var passes: [[Int]] = []
        // a pretrain writes step 20 while the first pass runs; the second pass then asks to stop
        try MeasurementRunner.follow(run, watch: true, poll: 0.1, warn: { _ in }) { refs in
            passes.append(refs.map(\.step))
            _ = try r.measure(refs)
            if passes.count == 1 { try addSnapshot(20) } else { stopRequested = 1 }
        }
        XCTAssertEqual(passes, [[0, 10], [0, 10, 20]])
        XCTAssertEqual(m.measured, [0, 10, 20], "each snapshot once")
        // after a stop requested during a pass, snapshots that need work are left out and cached ones kept
        stopRequested = 0
        for step in [30, 40, 50] { try addSnapshot(step) }
        _ = try runner(CountingMeasurement()).measure(try run.requireSnapshots().filter { $0.step == 50 })
        let s = CountingMeasurement()
        s.onMeasure = { step in if step == 30 { stopRequested = 1 } }
        let pass = try runner(s).measure(try run.requireSnapshots())
        XCTAssertEqual(s.measured, [30])
        XCTAssertTrue(pass.stopped)
        XCTAssertEqual(pass.steps, [0, 10, 20, 30, 50])
        // a watch of a run with no snapshot yet waits for the first
        stopRequested = 0
        let later = dir.appendingPathComponent("later/checkpoints")
        try FileManager.default.createDirectory(at: later, withIntermediateDirectories: true)
        var seen: [[Int]] = []
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) {
            let d = later.appendingPathComponent("step-5")
            try? FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
            for f in ["model.safetensors", "config.json", "vocab.txt"] {
                try? "x".write(to: d.appendingPathComponent(f), atomically: true, encoding: .utf8)
            }
        }
        try MeasurementRunner.follow(try Run.open(later.path), watch: true, poll: 0.1, warn: { _ in }) { refs in
            seen.append(refs.map(\.step))
            stopRequested = 1
        }
        XCTAssertEqual(seen, [[5]])
        // without a watch, a folder with no snapshot is an error, not an empty pass
        let empty = dir.appendingPathComponent("empty/checkpoints")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        XCTAssertThrowsError(
            try MeasurementRunner.follow(try Run.open(empty.path), watch: false, poll: 1, warn: { _ in }) { _ in })
    }
}

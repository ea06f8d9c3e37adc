// Measuring every snapshot, as a user drives it on a run: concurrent job-array shards of probe, finetune
// --run and activations, each assembled by one plain run into the same bytes as an unsharded one, and a
// watch that follows a live pretrain into the same files as probing the finished run.

import EmbryoTestSupport
import Foundation
import XCTest

final class MeasuringTests: ScratchDirectoryTestCase {
    func recipe(steps: Int = 24, saveEvery: Int = 8) throws -> [String] {
        try microRecipe(steps: steps, saveEvery: saveEvery)
    }

    func testWatchingALiveRunWithTheDynamicsProbesEqualsProbingItAfterwards() throws {
        let r = try recipe(steps: 2400, saveEvery: 400)
        let training = try startEmbryo(["pretrain"] + r + ["--threads", "1", "--out", path("live")])
        defer { if training.isRunning { training.terminate() } }
        waitFor(path("live/checkpoints/step-000000"), while: training)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("live/checkpoints/step-002400")))
        let probes = "mlm,loss,similarity,lens,attention,examples"
        let probe = [
            "probe", "--run", path("live"), "--pos", path("w/probe.conllu"), "--probes", probes, "--threads", "1",
        ]
        let watched = try runEmbryo(probe + ["--watch", "--poll", "0.5"])
        XCTAssertEqual(watched.code, 0, watched.err)
        training.waitUntilExit()
        XCTAssertEqual(training.terminationStatus, 0)
        // it probed while the run was training: more than one round, the first on fewer snapshots
        let rounds = watched.err.split(separator: "\n").filter { $0.hasPrefix("probe: checkpoint 1/") }
        XCTAssertGreaterThan(rounds.count, 1, watched.err)
        XCTAssertNotEqual(rounds.first, rounds.last, watched.err)
        // the metrics that depend on the last snapshot (similarity to it, the examples' learning steps) were
        // brought up to date: every file equals a probe of the finished run
        let after = try runEmbryo(probe + ["--out", path("after")])
        XCTAssertEqual(after.code, 0, after.err)
        for name in ["metrics.jsonl", "metrics.csv", "examples.jsonl", "similarity-matrix.json", "report.html"] {
            let a = try Data(contentsOf: URL(fileURLWithPath: path("live/probes/\(name)")))
            XCTAssertEqual(a, try Data(contentsOf: URL(fileURLWithPath: path("after/\(name)"))), name)
        }
        let metrics = try String(contentsOfFile: path("after/metrics.jsonl"), encoding: .utf8)
        for key in [
            #""probe":"similarity","key":"cka_to_final/layer_2""#, #""probe":"lens","key":"accuracy/layer_1""#,
            #""probe":"attention","key":"entropy/layer_1"#, #""probe":"examples""#,
        ] {
            XCTAssertTrue(metrics.contains(key), key)
        }
    }

    func testConcurrentShardsFillOneCacheThatTheFinalProbeAssembles() throws {
        let r = try recipe(steps: 48)
        let trained = try runEmbryo(["pretrain"] + r + ["--threads", "1", "--out", path("run")])
        XCTAssertEqual(trained.code, 0, trained.err)
        let probe = [
            "probe", "--run", path("run"), "--pos", path("w/probe.conllu"), "--threads", "1", "--probes",
            "mlm,layers,loss,similarity,lens,attention,examples",
        ]
        // two jobs per shard at once: each cache file has two writers racing to put it in place
        try runTogether([0, 1, 0, 1].map { probe + ["--shard", "\($0)/2", "--out", path("sharded")] })
        let cache = try FileManager.default.contentsOfDirectory(atPath: path("sharded/cache"))
        XCTAssertFalse(cache.contains { $0.hasPrefix(".") }, "no temporary file left: \(cache)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("sharded/metrics.jsonl")), "shards write no tables")
        // the final probe probes nothing and equals a probe without shards
        let final = try runEmbryo(probe + ["--out", path("sharded")])
        XCTAssertEqual(final.code, 0, final.err)
        XCTAssertFalse(final.err.contains("forward passes"), final.err)
        let plain = try runEmbryo(probe + ["--out", path("plain")])
        XCTAssertEqual(plain.code, 0, plain.err)
        for name in ["metrics.jsonl", "examples.jsonl", "similarity-matrix.json", "report.html"] {
            XCTAssertEqual(
                try Data(contentsOf: URL(fileURLWithPath: path("sharded/\(name)"))),
                try Data(contentsOf: URL(fileURLWithPath: path("plain/\(name)"))), name)
        }
        let watch = try runEmbryo(probe + ["--shard", "0/2", "--watch"])
        XCTAssertEqual(watch.code, 64)
        let bad = try runEmbryo(probe + ["--shard", "2/2"])
        XCTAssertEqual(bad.code, 64)
        XCTAssertTrue(bad.err.contains("--shard: i counts from 0 and must be below n"), bad.err)
    }

    func testFinetuneShardsThenOneRunEqualAPlainRun() throws {
        let r = try recipe()
        let trained = try runEmbryo(["pretrain"] + r + ["--threads", "1", "--out", path("run")])
        XCTAssertEqual(trained.code, 0, trained.err)
        try FileManager.default.copyItem(atPath: path("run"), toPath: path("copy"))
        let ft = [
            "--task", path("w/tasks/grammar"), "--epochs", "1", "--train-size", "32", "--seeds", "2", "--threads", "1",
        ]
        try runTogether((0..<2).map { ["finetune", "--run", path("run")] + ft + ["--shard", "\($0)/2"] })
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: path("run/probes/downstream.jsonl")), "shards write no report")
        let assembled = try runEmbryo(["finetune", "--run", path("run")] + ft)
        XCTAssertEqual(assembled.code, 0, assembled.err)
        XCTAssertTrue(assembled.err.contains("snapshots reused from earlier results"), assembled.err)
        let plain = try runEmbryo(["finetune", "--run", path("copy")] + ft)
        XCTAssertEqual(plain.code, 0, plain.err)
        XCTAssertEqual(
            try Data(contentsOf: URL(fileURLWithPath: path("run/probes/downstream.jsonl"))),
            try Data(contentsOf: URL(fileURLWithPath: path("copy/probes/downstream.jsonl"))))
        // other settings are not reused
        let other = try runEmbryo(["finetune", "--run", path("run")] + ft + ["--lr", "1e-4"])
        XCTAssertEqual(other.code, 0, other.err)
        XCTAssertFalse(other.err.contains("reused"), other.err)
        let bad = try runEmbryo(
            ["finetune", "--checkpoint", path("run/checkpoints/step-000008")] + ft + ["--shard", "0/2"])
        XCTAssertEqual(bad.code, 64)
        XCTAssertTrue(bad.err.contains("--shard goes with --run"), bad.err)
    }

    func testActivationShardsThenOneRunEqualAPlainStore() throws {
        let r = try recipe()
        let trained = try runEmbryo(["pretrain"] + r + ["--threads", "1", "--out", path("run")])
        XCTAssertEqual(trained.code, 0, trained.err)
        let act = [
            "activations", "--run", path("run"), "--layer", "1", "--text", path("w/probe.conllu"), "--tokens", "1500",
            "--threads", "1",
        ]
        try runTogether((0..<2).map { act + ["--out", path("store"), "--shard", "\($0)/2"] })
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("store/store.json")), "shards write no manifest")
        let assembled = try runEmbryo(act + ["--out", path("store")])
        XCTAssertEqual(assembled.code, 0, assembled.err)
        XCTAssertTrue(assembled.err.contains("snapshots kept from the store"), assembled.err)
        let plain = try runEmbryo(act + ["--out", path("plain")])
        XCTAssertEqual(plain.code, 0, plain.err)
        // the store and the runner's cache entries (each snapshot's scale), byte for byte
        let entries = try FileManager.default.contentsOfDirectory(atPath: path("plain/cache")).map { "cache/" + $0 }
        let files =
            try FileManager.default.contentsOfDirectory(atPath: path("plain")).filter {
                !$0.hasPrefix(".") && $0 != "cache"
            }
            + entries
        XCTAssertTrue(files.contains("store.json"))
        XCTAssertEqual(entries.count, files.filter { $0.hasSuffix(".f16") }.count)
        XCTAssertGreaterThan(files.filter { $0.hasSuffix(".f16") }.count, 3)
        for f in files {
            XCTAssertEqual(
                try Data(contentsOf: URL(fileURLWithPath: path("store/\(f)"))),
                try Data(contentsOf: URL(fileURLWithPath: path("plain/\(f)"))), f)
        }
    }
}

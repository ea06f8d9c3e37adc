// Experiments across runs, as a user drives them: seed suites (each run equal to the single run of its
// seed), a suite interrupted and resumed, probing a suite, and the errors of each.

import Foundation
import XCTest

final class ExperimentTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("embryo-exp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// A small world and a micro model, so each run takes a second or two.
    func recipe(steps: Int = 24) throws -> [String] {
        if !FileManager.default.fileExists(atPath: path("w/train.txt")) {
            let w = try runEmbryo(["world", "--out", path("w"), "--tokens", "30000", "--task-examples", "10"])
            XCTAssertEqual(w.code, 0, w.err)
            try
                "{\"embedding_size\": 16, \"hidden_size\": 32, \"num_hidden_layers\": 2, \"num_attention_heads\": 2, \"intermediate_size\": 64, \"max_position_embeddings\": 64}"
                .write(toFile: path("micro.json"), atomically: true, encoding: .utf8)
        }
        return [
            "--corpus", path("w/train.txt"), "--config", path("micro.json"), "--vocab-size", "300", "--steps",
            String(steps), "--batch-size", "8", "--seq-len", "32", "--save-every", "8", "--eval-every", "8",
        ]
    }

    func weights(_ run: String) throws -> [String: Data] {
        let ck = URL(fileURLWithPath: run).appendingPathComponent("checkpoints")
        var out: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: ck.path) where name.hasPrefix("step-") {
            out[name] = try Data(
                contentsOf: ck.appendingPathComponent(name).appendingPathComponent("model.safetensors"))
        }
        return out
    }

    func testTwoSeedSuiteEqualsTwoSingleRuns() throws {
        let r = try recipe()
        let suite = try runEmbryo(
            ["pretrain"] + r + ["--seeds", "3-4", "--jobs", "2", "--threads", "2", "--out", path("s")])
        XCTAssertEqual(suite.code, 0, suite.err)
        XCTAssertEqual(suite.out, path("s") + "\n")
        XCTAssertTrue(suite.err.contains("seed 4: pretrain: done"), suite.err)
        let manifest =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("s/suite.json"))))
            as! [String: Any]
        XCTAssertEqual(manifest["seeds"] as? [Int], [3, 4])
        XCTAssertEqual(manifest["threads_per_run"] as? Int, 1)
        for seed in [3, 4] {
            let single = try runEmbryo(
                ["pretrain"] + r + ["--seed", String(seed), "--threads", "1", "--out", path("single\(seed)")])
            XCTAssertEqual(single.code, 0, single.err)
            let a = try weights(path("s/seed-\(seed)")), b = try weights(path("single\(seed)"))
            XCTAssertEqual(a.count, 7)
            XCTAssertEqual(a, b, "seed \(seed)")
        }
        // a second start refuses; a resume of a finished suite trains nothing
        let again = try runEmbryo(["pretrain"] + r + ["--seeds", "3-4", "--out", path("s")])
        XCTAssertEqual(again.code, 1)
        XCTAssertTrue(again.err.contains("already holds a suite"), again.err)
        let resumed = try runEmbryo(["pretrain", "--resume", path("s")])
        XCTAssertEqual(resumed.code, 0, resumed.err)
        XCTAssertTrue(resumed.err.contains("0 to train"), resumed.err)
        // probing the suite probes each run into its own probes/
        let probe = try runEmbryo([
            "probe", "--suite", path("s"), "--probes", "loss,knowledge", "--facts", path("w/facts"),
        ])
        XCTAssertEqual(probe.code, 0, probe.err)
        for seed in [3, 4] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: path("s/seed-\(seed)/probes/metrics.jsonl")))
        }
    }

    func testSuiteInterruptedThenResumedMatchesUninterrupted() throws {
        let r = try recipe(steps: 400)
        let p = Process()
        p.executableURL = embryoBinary
        p.arguments = ["pretrain"] + r + ["--seeds", "2", "--threads", "1", "--out", path("cut")]
        p.environment = ["EMBRYO_NO_REEXEC": "1"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        waitFor(path("cut/seed-1/checkpoints/step-000008"), while: p)
        kill(p.processIdentifier, SIGINT)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 130)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("cut/seed-2/run.json")), "seed 2 must not start")
        let resumed = try runEmbryo(["pretrain", "--resume", path("cut")])
        XCTAssertEqual(resumed.code, 0, resumed.err)
        let single = try runEmbryo(["pretrain"] + r + ["--seed", "2", "--threads", "1", "--out", path("single2")])
        XCTAssertEqual(single.code, 0, single.err)
        XCTAssertEqual(try weights(path("cut/seed-2")), try weights(path("single2")))
        XCTAssertGreaterThanOrEqual(try weights(path("cut/seed-1")).count, 54)  // plus the step it was stopped at
    }

    func testSuiteUsageErrors() throws {
        let r = try recipe()
        for (args, message) in [
            (["--seeds", "1-x"], "--seeds: expected"),
            (["--seeds", "1,1"], "names a seed twice"),
            (["--jobs", "2"], "--jobs goes with --seeds"),
            (["--seeds", "2", "--jobs", "0"], "--jobs"),
        ] {
            let res = try runEmbryo(["pretrain"] + r + args + ["--out", path("x")])
            XCTAssertEqual(res.code, 64, "\(args)")
            XCTAssertTrue(res.err.contains(message), res.err)
        }
        let notSuite = try runEmbryo(["probe", "--suite", path("w")])
        XCTAssertEqual(notSuite.code, 1)
        XCTAssertTrue(notSuite.err.contains("not a suite"), notSuite.err)
        let both = try runEmbryo(["probe", "--suite", path("w"), "--run", path("w")])
        XCTAssertEqual(both.code, 64)
    }
}

// Experiments across runs, as a user drives them: seed suites (each run equal to the single run of its
// seed), a suite interrupted and resumed, probing a suite, and the errors of each.

import EmbryoTestSupport
import Foundation
import XCTest

final class ExperimentTests: ScratchDirectoryTestCase {
    func recipe(steps: Int = 24, saveEvery: Int = 8) throws -> [String] {
        try microRecipe(steps: steps, saveEvery: saveEvery)
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
        try checkSimilarityAcrossTheSuite()
        // fine-tuning the suite fine-tunes every snapshot of each run into that run
        let ft = try runEmbryo([
            "finetune", "--suite", path("s"), "--task", path("w/tasks/grammar"), "--epochs", "1",
        ])
        XCTAssertEqual(ft.code, 0, ft.err)
        for seed in [3, 4] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: path("s/seed-\(seed)/probes/downstream.jsonl")))
        }
        // the suite as one group against a run probed on fewer metrics: the shared ones are compared
        let partial = try runEmbryo([
            "probe", "--run", path("single3"), "--probes", "loss", "--facts", path("w/facts"),
        ])
        XCTAssertEqual(partial.code, 0, partial.err)
        let cmp = try runEmbryo(["compare", "--suite", path("s"), path("single3"), "--out", path("cmp"), "--markdown"])
        XCTAssertEqual(cmp.code, 0, cmp.err)
        XCTAssertTrue(cmp.out.hasPrefix("| metric | s: final | s: t90 | single3: final | single3: t90 |"), cmp.out)
        XCTAssertTrue(cmp.out.contains("| loss/mlm_loss |"), cmp.out)
        XCTAssertTrue(cmp.err.contains("not measured on every run are left out"), cmp.err)
        let jsonl = try String(contentsOfFile: path("cmp/compare.jsonl"), encoding: .utf8)
        XCTAssertTrue(jsonl.contains("\"kind\":\"unshared\",\"metric\":\"similarity/"), "metrics of the suite only")
        XCTAssertTrue(jsonl.contains("\"kind\":\"test\",\"metric\":\"loss/mlm_loss\""))
        let missing = try runEmbryo(["compare", "--suite", path("s"), "--from", "elsewhere", "--out", path("cmp2")])
        XCTAssertEqual(missing.code, 1)
        XCTAssertTrue(missing.err.contains("no elsewhere/metrics.jsonl"), missing.err)
        // the batch of a step, for a person to read
        let decoded = try runEmbryo(["batches", "--run", path("s/seed-3"), "--range", "2", "--decode"])
        XCTAssertEqual(decoded.code, 0, decoded.err)
        let lines = decoded.out.split(separator: "\n")
        XCTAssertEqual(lines.count, 8)
        XCTAssertTrue(lines[0].hasPrefix("step 2 row 0 ("), String(lines[0]))
        XCTAssertTrue(decoded.out.contains("[MASK:"), decoded.out)
    }

    /// The similarity probe on the two-seed suite "s": every layer of the last snapshot is identical to
    /// itself, and compare adds the similarity between the runs.
    func checkSimilarityAcrossTheSuite() throws {
        // the similarity probe: every layer of the last snapshot is identical to itself
        let sim = try runEmbryo([
            "probe", "--run", path("s/seed-3"), "--probes", "similarity", "--pos", path("w/probe.conllu"), "--out",
            path("sim"),
        ])
        XCTAssertEqual(sim.code, 0, sim.err)
        let simLines = try String(contentsOfFile: path("sim/metrics.jsonl"), encoding: .utf8).split(separator: "\n")
        let last = simLines.filter { $0.contains("\"step\":24,") && $0.contains("cka_to_final/layer_2") }
        XCTAssertEqual(last.count, 1)
        XCTAssertTrue(last[0].contains("\"value\":1") || last[0].contains("\"value\":0.99999"), String(last[0]))
        XCTAssertEqual(simLines.filter { $0.contains("cka_to_previous/layer_0") }.count, 6)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("sim/similarity-matrix.json")))
        // both runs of the suite probed with similarity: compare adds the similarity between them
        for seed in [3, 4] {
            let r = try runEmbryo([
                "probe", "--run", path("s/seed-\(seed)"), "--probes", "loss,similarity", "--pos",
                path("w/probe.conllu"),
            ])
            XCTAssertEqual(r.code, 0, r.err)
        }
        let cross = try runEmbryo(["compare", "--suite", path("s"), "--out", path("cmp-sim")])
        XCTAssertEqual(cross.code, 0, cross.err)
        let crossLines = try String(contentsOfFile: path("cmp-sim/compare.jsonl"), encoding: .utf8)
            .split(separator: "\n").filter { $0.contains("cross_run_similarity") }
        XCTAssertEqual(crossLines.count, 7 * 3, "7 snapshots x 3 layers")
        XCTAssertTrue(crossLines.allSatisfy { $0.contains("\"pairs\":1") })
    }

    func testSuiteInterruptedThenResumedMatchesUninterrupted() throws {
        let r = try recipe(steps: 400)
        let p = try startEmbryo(["pretrain"] + r + ["--seeds", "2", "--threads", "1", "--out", path("cut")])
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

    func testPreparedSuiteTrainedMemberByMemberEqualsASuiteAndVaryHoldsASeed() throws {
        let r = try recipe(steps: 16)
        // prepare, then each member as a job-array task would train it, two at once
        let prep = try runEmbryo(
            ["pretrain"] + r + ["--seeds", "1-2", "--threads", "1", "--out", path("p"), "--prepare"])
        XCTAssertEqual(prep.code, 0, prep.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("p/seed-1")))
        // at once, in this process's environment (the BLAS kernels it selects are part of the bits)
        let members = ["1", "2"].map { seed -> Thread in
            let t = Thread {
                let r = try? runEmbryo(["pretrain", "--resume", self.path("p"), "--member", seed])
                XCTAssertEqual(r?.code, 0, r?.err ?? "")
            }
            t.start()
            return t
        }
        while members.contains(where: { !$0.isFinished }) { usleep(50_000) }
        let suite = try runEmbryo(
            ["pretrain"] + r + ["--seeds", "1-2", "--jobs", "2", "--threads", "2", "--out", path("s")])
        XCTAssertEqual(suite.code, 0, suite.err)
        for seed in [1, 2] { XCTAssertEqual(try weights(path("p/seed-\(seed)")), try weights(path("s/seed-\(seed)"))) }
        let done = try runEmbryo(["pretrain", "--resume", path("p"), "--member", "2"])
        XCTAssertEqual(done.code, 0, done.err)
        XCTAssertTrue(done.err.contains("is complete"), done.err)
        let unknown = try runEmbryo(["pretrain", "--resume", path("p"), "--member", "7"])
        XCTAssertEqual(unknown.code, 64)
        XCTAssertTrue(unknown.err.contains("has seeds 1, 2"), unknown.err)
        // --vary init: the members share the data seed (the first batches) and differ in their weights
        let vary = try runEmbryo(
            ["pretrain"] + r + [
                "--seeds", "1-2", "--vary", "init", "--jobs", "2", "--threads", "2", "--out", path("v"),
            ])
        XCTAssertEqual(vary.code, 0, vary.err)
        let b1 = try runEmbryo(["batches", "--run", path("v/seed-1"), "--range", "1", "--decode"])
        let b2 = try runEmbryo(["batches", "--run", path("v/seed-2"), "--range", "1", "--decode"])
        XCTAssertEqual(b1.code, 0, b1.err)
        XCTAssertEqual(b1.out, b2.out)
        XCTAssertNotEqual(try weights(path("v/seed-1"))["step-000000"], try weights(path("v/seed-2"))["step-000000"])
        // and the suite's seed-1 run with --vary both has the same step 0 as v/seed-1
        XCTAssertEqual(try weights(path("v/seed-1"))["step-000000"], try weights(path("s/seed-1"))["step-000000"])
    }

    func testSuiteUsageErrors() throws {
        let r = try recipe()
        for (args, message) in [
            (["--seeds", "1-x"], "--seeds: expected"),
            (["--seeds", "1,1"], "names a seed twice"),
            (["--jobs", "2"], "--jobs goes with --seeds"),
            (["--seeds", "2", "--jobs", "0"], "--jobs"),
            (["--vary", "init"], "--vary goes with --seeds"),
            (["--seeds", "2", "--vary", "x"], "--vary"),
            (["--seeds", "2", "--init-seed", "4"], "use --vary data"),
            (["--seeds", "2", "--vary", "init", "--init-seed", "4"], "drop --init-seed"),
            (["--prepare"], "--prepare goes with --seeds"),
            (["--member", "1"], "--member goes with --resume"),
            (["--save-steps", "5-1"], "runs backwards"),
            (["--mask-rate", "0.9"], "--mask-rate"),
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

    func testBranchWithNothingChangedEqualsItsParentFromTheBranchingStep() throws {
        let r = try recipe()
        let parent = try runEmbryo(["pretrain"] + r + ["--keep-state", "all", "--threads", "1", "--out", path("p")])
        XCTAssertEqual(parent.code, 0, parent.err)
        let b = try runEmbryo(["pretrain", "--branch", path("p"), "--at", "8", "--out", path("b")])
        XCTAssertEqual(b.code, 0, b.err)
        let pw = try weights(path("p")), bw = try weights(path("b"))
        XCTAssertEqual(Set(bw.keys), ["step-000008", "step-000016", "step-000024"])
        for (k, v) in bw { XCTAssertEqual(v, pw[k], k) }
        let manifest =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("b/run.json"))))
            as! [String: Any]
        let branch = manifest["branch"] as! [String: Any]
        XCTAssertEqual(branch["step"] as? Int, 8)
        XCTAssertEqual(branch["parent"] as? String, path("p"))
        // a changed learning rate from step 8 on: the same snapshot at 8, different ones after
        let lr = try runEmbryo(["pretrain", "--branch", path("p"), "--at", "8", "--lr", "0.002", "--out", path("lr")])
        XCTAssertEqual(lr.code, 0, lr.err)
        let lw = try weights(path("lr"))
        XCTAssertEqual(lw["step-000008"], pw["step-000008"])
        XCTAssertNotEqual(lw["step-000016"], pw["step-000016"])

        for (args, message) in [
            (["--at", "5"], "has no snapshot of step 5 (it has 0, 1, 2, 4, 8, 16, 24)"),
            (["--at", "8", "--seq-len", "16"], "seq_len cannot change"),
            (["--at", "8", "--world-edit", "remove:born_in:Nobody"], "edits the parent's built-in world"),
            (["--at", "24"], "must train past it"),
            ([], "--branch needs --at"),
        ] {
            let res = try runEmbryo(["pretrain", "--branch", path("p")] + args + ["--out", path("x")])
            XCTAssertEqual(res.code, 64, "\(args): \(res.err)")
            XCTAssertTrue(res.err.contains(message), res.err)
        }
        // a parent that kept only its last state
        let last = try runEmbryo(["pretrain"] + r + ["--threads", "1", "--out", path("q")])
        XCTAssertEqual(last.code, 0, last.err)
        let noState = try runEmbryo(["pretrain", "--branch", path("q"), "--at", "8", "--out", path("y")])
        XCTAssertEqual(noState.code, 64)
        XCTAssertTrue(noState.err.contains("--keep-state all"), noState.err)
    }

    func testBranchOnTheBuiltInWorldWithAnEditAndAnUnknownFact() throws {
        _ = try recipe()  // writes the micro config
        let r = [
            "--world-tokens", "20000", "--vocab-size", "300", "--config", path("micro.json"), "--steps", "12",
            "--batch-size", "8", "--seq-len", "32", "--save-every", "6", "--eval-every", "6", "--keep-state", "all",
        ]
        let p = try runEmbryo(["pretrain"] + r + ["--out", path("wp")])
        XCTAssertEqual(p.code, 0, p.err)
        let unknown = try runEmbryo([
            "pretrain", "--branch", path("wp"), "--at", "6", "--world-edit", "remove:born_in:Nobody", "--out",
            path("wx"),
        ])
        XCTAssertEqual(unknown.code, 64)
        XCTAssertTrue(unknown.err.contains("no born_in fact has the subject 'Nobody'"), unknown.err)
        let b = try runEmbryo([
            "pretrain", "--branch", path("wp"), "--at", "6", "--world-edit", "frequency:speaks=2", "--out", path("wb"),
        ])
        XCTAssertEqual(b.code, 0, b.err)
        XCTAssertTrue(b.err.contains("world edits:"), b.err)
        let edits = try String(contentsOfFile: path("wb/world/edits.jsonl"), encoding: .utf8)
        XCTAssertTrue(edits.contains("\"factor\":2"), edits)
        XCTAssertNotEqual(
            try Data(contentsOf: URL(fileURLWithPath: path("wb/world/train.txt"))),
            try Data(contentsOf: URL(fileURLWithPath: path("wp/world/train.txt"))))
    }
}

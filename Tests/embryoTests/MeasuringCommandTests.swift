// The measuring commands as a user meets them: probe, finetune, reinit, activations, crosscode and
// features on bad input (file and line named, non-zero exit), and probe --watch following a live run.

import EmbryoTestSupport
import Foundation
import XCTest

final class MeasuringCommandTests: ScratchDirectoryTestCase {
    typealias Result = CLIResult

    var binary: URL { embryoBinary }

    func run(_ args: [String], stdin: String? = nil) throws -> Result { try runEmbryo(args, stdin: stdin) }

    func testProbeBadInputNamesFileAndLine() throws {
        let ckpts = dir.appendingPathComponent("ckpts")
        let r = try run(["init", "--config", "tiny", "--vocab-size", "100", "--out", ckpts.path + "/step-000000"])
        XCTAssertEqual(r.code, 0, r.err)
        let words = ["a", "cat"] + (0..<93).map { "w\($0)" }
        try (["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words).joined(separator: "\n").write(
            to: ckpts.appendingPathComponent("step-000000/vocab.txt"), atomically: true, encoding: .utf8)
        // not a world run: the probe sets must be given, and the error says so
        let r0 = try run(["probe", "--checkpoints", ckpts.path])
        XCTAssertEqual(r0.code, 64)
        XCTAssertTrue(r0.err.contains("pass --pos FILE.conllu"), r0.err)
        let good = "1\tA\ta\tDET\t_\t_\t2\tdet\t_\t_\n2\tcat\tcat\tNOUN\t_\t_\t0\troot\t_\t_\n\n"
        let cases: [(String, String)] = [
            ("1\tA\ta\tDET\t_\t_\t2\tdet\t_\n", "bad.conllu:1: expected 10 tab-separated columns, found 9"),
            (
                good + "1\tA\ta\tDET\t_\t_\t2\tdet\t_\t_\n3\tcat\tcat\tNOUN\t_\t_\t0\troot\t_\t_\n",
                "bad.conllu:5: word id 3 out of order"
            ),
            (good + "x\tA\ta\tDET\t_\t_\t2\tdet\t_\t_\n", "bad.conllu:4: invalid word id 'x'"),
            (good + "1\tA\ta\tDET\t_\t_\tnoun\tdet\t_\t_\n", "bad.conllu:4: invalid HEAD 'noun'"),
        ]
        let bad = dir.appendingPathComponent("bad.conllu")
        for (text, message) in cases {
            try text.write(to: bad, atomically: true, encoding: .utf8)
            let r1 = try run(["probe", "--checkpoints", ckpts.path, "--pos", bad.path, "--probes", "mlm"])
            XCTAssertEqual(r1.code, 1, r1.err)
            XCTAssertTrue(r1.err.contains(message), "\(message) not in: \(r1.err)")
        }
        // an empty checkpoint folder beside a good one: warned about and skipped, the good one is probed
        try good.write(to: bad, atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(
            at: ckpts.appendingPathComponent("step-000010"), withIntermediateDirectories: true)
        let r2 = try run(["probe", "--checkpoints", ckpts.path, "--pos", bad.path, "--probes", "mlm,layers,loss"])
        XCTAssertEqual(r2.code, 0, r2.err)
        XCTAssertTrue(r2.err.contains("warning: skipping \(ckpts.path)/step-000010: no model.safetensors"), r2.err)
        XCTAssertTrue(r2.out.hasSuffix("probes/report.html\n"), r2.out)
        let r3 = try run(["probe", "--checkpoints", ckpts.path, "--pos", bad.path, "--probes", "mlm,smell"])
        XCTAssertEqual(r3.code, 64)
        XCTAssertTrue(r3.err.contains("unknown probe 'smell'"), r3.err)
        let r4 = try run([
            "probe", "--checkpoints", ckpts.path, "--pos", bad.path, "--probes", "layers", "--layers", "0,9",
        ])
        XCTAssertEqual(r4.code, 64)
        XCTAssertTrue(r4.err.contains("layer 9 is out of range; this model has layers 0...2"), r4.err)
        // the probe cache is keyed by the architecture too: the same shared-layer weights applied 4 times
        // instead of 2 are probed anew, not served the 2-layer results
        let report = try XCTUnwrap(r2.out.split(separator: "\n").last)
        let metrics = URL(fileURLWithPath: String(report)).deletingLastPathComponent().appendingPathComponent(
            "metrics.jsonl")
        XCTAssertFalse(try String(contentsOf: metrics, encoding: .utf8).contains("layer_4"))
        let configURL = ckpts.appendingPathComponent("step-000000/config.json")
        var config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as? [String: Any])
        XCTAssertEqual(config["num_hidden_layers"] as? Int, 2)
        config["num_hidden_layers"] = 4
        try JSONSerialization.data(withJSONObject: config).write(to: configURL)
        let r5 = try run(["probe", "--checkpoints", ckpts.path, "--pos", bad.path, "--probes", "mlm,layers,loss"])
        XCTAssertEqual(r5.code, 0, r5.err)
        XCTAssertTrue(try String(contentsOf: metrics, encoding: .utf8).contains("layer_4"))
    }

    func testProbeWatchPicksUpNewSnapshotsAndStopsAtTheLast() throws {
        let ckpts = dir.appendingPathComponent("run/checkpoints")
        let first = ckpts.appendingPathComponent("step-000000")
        XCTAssertEqual(try run(["init", "--config", "tiny", "--vocab-size", "100", "--out", first.path]).code, 0)
        try (["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "cat"] + (0..<93).map { "w\($0)" })
            .joined(separator: "\n").write(
                to: first.appendingPathComponent("vocab.txt"), atomically: true, encoding: .utf8)
        try #"{"checkpoint_steps": [0, 10]}"#.write(
            to: dir.appendingPathComponent("run/run.json"), atomically: true, encoding: .utf8)
        let pos = dir.appendingPathComponent("p.conllu")
        try "1\tA\ta\tDET\t_\t_\t2\tdet\t_\t_\n2\tcat\tcat\tNOUN\t_\t_\t0\troot\t_\t_\n\n".write(
            to: pos, atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = binary
        p.arguments = [
            "probe", "--checkpoints", ckpts.path, "--pos", pos.path, "--probes", "mlm", "--watch", "--poll", "0.5",
        ]
        p.standardOutput = Pipe()
        p.standardError = Pipe()
        try p.run()
        Thread.sleep(forTimeInterval: 2)
        XCTAssertTrue(p.isRunning, "--watch stopped before the run's last snapshot")
        // a new snapshot appears the way pretrain writes one: complete, then renamed into place
        let tmp = ckpts.appendingPathComponent(".tmp-step-000010")
        try FileManager.default.copyItem(at: first, to: tmp)
        try FileManager.default.moveItem(at: tmp, to: ckpts.appendingPathComponent("step-000010"))
        let deadline = Date().addingTimeInterval(60)
        while p.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.2) }
        XCTAssertFalse(p.isRunning)
        if p.isRunning { p.terminate() }
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        let metrics = try String(contentsOf: dir.appendingPathComponent("run/probes/metrics.jsonl"), encoding: .utf8)
        XCTAssertTrue(metrics.contains(#""step":10,"#), metrics)
        XCTAssertTrue(metrics.contains(#""step":0,"#), metrics)
    }

    func testFinetuneAndReinitBadInput() throws {
        let ckpt = dir.appendingPathComponent("ckpt")
        XCTAssertEqual(try run(["init", "--config", "tiny", "--vocab-size", "100", "--out", ckpt.path]).code, 0)
        try (["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad"] + (0..<93).map { "w\($0)" })
            .joined(separator: "\n").write(
                to: ckpt.appendingPathComponent("vocab.txt"), atomically: true, encoding: .utf8)
        let task = dir.appendingPathComponent("task")
        try FileManager.default.createDirectory(at: task, withIntermediateDirectories: true)
        try "sentence\tlabel\ngood w1\t1\nbad w2\t0\n".write(
            to: task.appendingPathComponent("train.tsv"), atomically: true, encoding: .utf8)
        try "sentence\tlabel\ngood w3\t1\nbad w4\tmaybe\n".write(
            to: task.appendingPathComponent("dev.tsv"), atomically: true, encoding: .utf8)
        let r = try run(["finetune", "--checkpoint", ckpt.path, "--task", task.path])
        XCTAssertEqual(r.code, 1)
        XCTAssertTrue(r.err.contains("dev.tsv:3: label 'maybe' is not one of the declared labels (0, 1)"), r.err)
        let r2 = try run(["finetune", "--checkpoint", ckpt.path, "--checkpoints", dir.path, "--task", task.path])
        XCTAssertEqual(r2.code, 64)
        XCTAssertTrue(
            r2.err.contains("give exactly one of --checkpoint DIR, --checkpoints DIR and --suite DIR"), r2.err)
        try "sentence\tlabel\ngood w3\t1\nbad w4\t0\n".write(
            to: task.appendingPathComponent("dev.tsv"), atomically: true, encoding: .utf8)
        let r3 = try run([
            "reinit", "--checkpoint", ckpt.path, "--task", task.path, "--scheme", "block", "--block-size", "9",
        ])
        XCTAssertEqual(r3.code, 64)
        XCTAssertTrue(r3.err.contains("--block-size 9 is out of range for a 2-layer model (1...2)"), r3.err)
        let r4 = try run(["reinit", "--checkpoint", ckpt.path, "--task", task.path, "--scheme", "shuffle"])
        XCTAssertEqual(r4.code, 64)
        XCTAssertTrue(r4.err.contains("expected one of progressive, block, inverse-block, single, scramble"), r4.err)
        // a working run: two examples, one epoch, the model saved for transformers
        let out = dir.appendingPathComponent("ft")
        let r5 = try run([
            "finetune", "--checkpoint", ckpt.path, "--task", task.path, "--epochs", "1", "--seeds", "2", "--out",
            out.path,
        ])
        XCTAssertEqual(r5.code, 0, r5.err)
        XCTAssertTrue(r5.out.contains("task dev accuracy: "), r5.out)
        for f in [
            "results.json", "model-seed1/config.json", "model-seed2/model.safetensors", "model-seed1/logits-dev.tsv",
        ] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(f).path), f)
        }
        // every snapshot of a run: the downstream curve joins the run's report
        let runDir = dir.appendingPathComponent("run")
        try FileManager.default.createDirectory(
            at: runDir.appendingPathComponent("checkpoints"), withIntermediateDirectories: true)
        for step in ["step-000000", "step-000010"] {
            try FileManager.default.copyItem(at: ckpt, to: runDir.appendingPathComponent("checkpoints/\(step)"))
        }
        let r6 = try run([
            "finetune", "--checkpoints", runDir.appendingPathComponent("checkpoints").path, "--task", task.path,
            "--epochs", "1", "--seeds", "2",
        ])
        XCTAssertEqual(r6.code, 0, r6.err)
        XCTAssertTrue(r6.out.hasSuffix("probes/report.html\n"), r6.out)
        let downstream = try String(
            contentsOf: runDir.appendingPathComponent("probes/downstream.jsonl"), encoding: .utf8)
        XCTAssertTrue(downstream.contains(#""step":10,"probe":"downstream","key":"task/dev/accuracy""#), downstream)
        let html = try String(contentsOf: runDir.appendingPathComponent("probes/report.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("Downstream fine-tuning") && html.contains("task (2 seeds)"))
    }

    /// Two snapshots of a tiny model with a 100-word vocabulary, and CoNLL-U text over it.
    func twoSnapshotsAndText() throws -> (ckpts: URL, vocab: String, text: URL) {
        let ckpts = dir.appendingPathComponent("run/checkpoints")
        let vocab = (["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad"] + (0..<93).map { "w\($0)" })
            .joined(separator: "\n")
        for (step, seed) in [("step-000000", "1"), ("step-000010", "2")] {
            let c = ckpts.appendingPathComponent(step)
            XCTAssertEqual(
                try run(["init", "--config", "tiny", "--vocab-size", "100", "--seed", seed, "--out", c.path]).code, 0)
            try vocab.write(to: c.appendingPathComponent("vocab.txt"), atomically: true, encoding: .utf8)
        }
        // CoNLL-U text, so that positions carry tags and the attribution runs
        let text = dir.appendingPathComponent("text.conllu")
        try (0..<40).map { k in
            let forms = ["good", "w\(k % 9)", "bad", "w\(k % 7)", "w\(k % 5)"]
            let tags = ["ADJ", "NOUN", "ADJ", "NOUN", "NOUN"]
            return forms.indices.map { "\($0 + 1)\t\(forms[$0])\t_\t\(tags[$0])\t_\t_\t\($0 == 1 ? 0 : 2)\tdep\t_\t_" }
                .joined(separator: "\n") + "\n\n"
        }.joined().write(to: text, atomically: true, encoding: .utf8)
        return (ckpts, vocab, text)
    }

    func testCrosscoderCommandsAndTheirErrors() throws {
        let (ckpts, vocab, text) = try twoSnapshotsAndText()
        let store = dir.appendingPathComponent("store")
        let r0 = try run([
            "activations", "--checkpoints", ckpts.path, "--layer", "9", "--text", text.path, "--out", store.path,
        ])
        XCTAssertEqual(r0.code, 64)
        XCTAssertTrue(r0.err.contains("--layer 9 is out of range; the model has layers 0...2"), r0.err)
        let r1 = try run([
            "activations", "--checkpoints", ckpts.path, "--layer", "2", "--text", text.path, "--out", store.path,
        ])
        XCTAssertEqual(r1.code, 0, r1.err)
        let cc = dir.appendingPathComponent("cc")
        let r2 = try run([
            "crosscode", "--activations", store.path, "--steps", "20", "--batch-size", "16", "--features", "32",
            "--out", cc.path,
        ])
        XCTAssertEqual(r2.code, 0, r2.err)
        XCTAssertTrue(r2.err.contains("crosscode: step 20/20, loss "), r2.err)
        for f in [
            "crosscoder.safetensors", "config.json", "state/save/adam.safetensors", "state/save/crosscoder.safetensors",
            "state/save/state.json",
        ] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: cc.appendingPathComponent(f).path), f)
        }
        let r3 = try run([
            "features", "--crosscoder", cc.path, "--run", dir.appendingPathComponent("run").path, "--out",
            dir.appendingPathComponent("feat").path,
        ])
        XCTAssertEqual(r3.code, 0, r3.err)
        XCTAssertTrue(r3.out.hasPrefix("32 features, L0 "), r3.out)
        // attribution: sum_tokens f_i dm/df_i agrees with finite differences of the loss
        let checks = r3.out.split(separator: "\n").filter { $0.hasPrefix("check, feature") }
        XCTAssertEqual(checks.count, 3, r3.out)
        for line in checks {
            let nums = line.split(separator: " ").compactMap {
                Double($0.trimmingCharacters(in: CharacterSet(charactersIn: ",:")))
            }
            let (attr, fd) = (nums[nums.count - 2], nums[nums.count - 1])
            XCTAssertEqual(attr, fd, accuracy: 0.05 * abs(fd) + 1e-3, String(line))
        }
        let report = try String(contentsOf: dir.appendingPathComponent("run/probes/report.html"), encoding: .utf8)
        XCTAssertTrue(report.contains("Crosscoder features (layer 2)"))
        // a truncated store
        let f16 = store.appendingPathComponent("step-000010.f16")
        let data = try Data(contentsOf: f16)
        try data.prefix(data.count - 100).write(to: f16)
        let r4 = try run([
            "crosscode", "--activations", store.path, "--steps", "2", "--batch-size", "8", "--out", cc.path,
        ])
        XCTAssertEqual(r4.code, 1)
        XCTAssertTrue(r4.err.contains("step-000010.f16: truncated or wrong-sized activation file"), r4.err)
        // mismatched snapshots: another vocabulary, another hidden size
        try (vocab + "\n").replacingOccurrences(of: "w92", with: "zz").write(
            to: ckpts.appendingPathComponent("step-000010/vocab.txt"), atomically: true, encoding: .utf8)
        let r5 = try run([
            "activations", "--checkpoints", ckpts.path, "--layer", "1", "--text", text.path, "--out", store.path,
        ])
        XCTAssertEqual(r5.code, 1)
        XCTAssertTrue(r5.err.contains("mismatched snapshots: a different vocabulary from step 0's"), r5.err)
        let small = ckpts.appendingPathComponent("step-000020")
        XCTAssertEqual(try run(["init", "--config", "small", "--vocab-size", "100", "--out", small.path]).code, 0)
        try vocab.write(to: small.appendingPathComponent("vocab.txt"), atomically: true, encoding: .utf8)
        let r6 = try run([
            "activations", "--checkpoints", ckpts.path, "--steps", "0,20", "--layer", "1", "--text", text.path, "--out",
            store.path,
        ])
        XCTAssertEqual(r6.code, 1)
        XCTAssertTrue(r6.err.contains("mismatched snapshots: hidden size 256"), r6.err)
    }
}

// BERT snapshots through every command, as a user drives them: a BERT pretrained by embryo (every probe,
// fill, finetune, reinit, activations, crosscode), and the same snapshots as transformers saves its other BERT
// classes, in an HF Trainer folder: BertForMaskedLM (no pooler or next-sentence head) and BertModel (bare
// names, no heads, so the probes that need the MLM head refuse with a clear error).

import EmbryoCore
import EmbryoRun
import EmbryoTestSupport
import Foundation
import XCTest

final class BertTests: ScratchDirectoryTestCase {
    /// A micro BERT pretrained on a small world: snapshots up to step 24.
    func pretrainBert() throws {
        try smallWorld()
        try
            "{\"model_type\": \"bert\", \"hidden_size\": 32, \"num_hidden_layers\": 2, \"num_attention_heads\": 2, \"intermediate_size\": 64, \"max_position_embeddings\": 64}"
            .write(toFile: path("bert.json"), atomically: true, encoding: .utf8)
        let r = try runEmbryo([
            "pretrain", "--corpus", path("w/train.txt"), "--config", path("bert.json"), "--vocab-size", "300",
            "--steps", "24", "--batch-size", "8", "--seq-len", "32", "--save-every", "8", "--eval-every", "8",
            "--threads", "1", "--out", path("run"),
        ])
        XCTAssertEqual(r.code, 0, r.err)
    }

    /// The steps of the run's snapshots.
    func steps() throws -> Set<Int> {
        Set(
            try FileManager.default.contentsOfDirectory(atPath: path("run/checkpoints")).compactMap {
                Int($0.dropFirst(5))
            })
    }

    func metrics(_ file: String) throws -> [[String: Any]] {
        try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
    }

    /// The probe inputs of the small world (the run is not on the built-in one).
    var data: [String] { ["--pos", path("w/probe.conllu"), "--facts", path("w/facts")] }

    func testBertRunThroughEveryCommand() throws {
        try pretrainBert()
        let last = path("run/checkpoints/step-000024")
        let cfg =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: last + "/config.json")))
            as! [String: Any]
        XCTAssertEqual(cfg["model_type"] as? String, "bert")
        XCTAssertEqual(cfg["hidden_act"] as? String, "gelu")
        let file = try SafetensorsFile(url: URL(fileURLWithPath: last + "/model.safetensors"))
        XCTAssertNotNil(file.entries["bert.encoder.layer.1.output.LayerNorm.weight"])
        XCTAssertNotNil(file.entries["cls.seq_relationship.weight"])

        let probes = "mlm,layers,knowledge,loss,similarity,lens,examples,attention"
        let p = try runEmbryo(["probe", "--run", path("run"), "--probes", probes, "--threads", "1"] + data)
        XCTAssertEqual(p.code, 0, p.err)
        let m = try metrics(path("run/probes/metrics.jsonl"))
        for probe in probes.split(separator: ",") {
            XCTAssertTrue(m.contains { $0["probe"] as? String == String(probe) }, "no \(probe) metrics")
        }
        XCTAssertEqual(Set(m.compactMap { $0["step"] as? Int }), try steps())
        XCTAssertTrue(m.contains { $0["key"] as? String == "sop_accuracy" })

        let fill = try runEmbryo(["fill", "--checkpoint", last, "the [MASK] is red ."])
        XCTAssertEqual(fill.code, 0, fill.err)
        XCTAssertFalse(fill.out.isEmpty)

        let ft = try runEmbryo([
            "finetune", "--run", path("run"), "--task", path("w/tasks/grammar"), "--epochs", "1", "--train-size", "32",
            "--seeds", "1", "--threads", "1",
        ])
        XCTAssertEqual(ft.code, 0, ft.err)
        XCTAssertEqual(try metrics(path("run/probes/downstream.jsonl")).isEmpty, false)

        let reinit = try runEmbryo([
            "reinit", "--checkpoint", last, "--task", path("w/tasks/grammar"), "--scheme", "single", "--train-sizes",
            "32", "--epochs", "1", "--no-probing", "--threads", "1", "--out", path("reinit"),
        ])
        XCTAssertEqual(reinit.code, 0, reinit.err)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("reinit/results.jsonl")), reinit.err)

        let act = try runEmbryo([
            "activations", "--run", path("run"), "--layer", "1", "--text", path("w/probe.conllu"), "--tokens", "1500",
            "--threads", "1", "--out", path("store"),
        ])
        XCTAssertEqual(act.code, 0, act.err)
        let cc = try runEmbryo([
            "crosscode", "--activations", path("store"), "--steps", "20", "--batch-size", "16", "--features", "32",
            "--out", path("cc"), "--threads", "1",
        ])
        XCTAssertEqual(cc.code, 0, cc.err)
        XCTAssertTrue(cc.err.contains("crosscode: step 20/20, loss "), cc.err)
    }

    /// Writes `from`'s model.safetensors to `to` with each tensor under the name `keep` gives it (nil drops it).
    func rewrite(_ from: URL, _ to: URL, keep: (String) -> String?) throws {
        let file = try SafetensorsFile(url: from.appendingPathComponent("model.safetensors"))
        var list: [(name: String, shape: [Int], data: UnsafePointer<Float>)] = []
        var buffers: [FloatBuffer] = []
        for n in file.names {
            guard let renamed = keep(n) else { continue }
            let e = file.entries[n]!
            let b = FloatBuffer(count: e.count)
            try file.read(n, into: b.pointer, expectShape: e.shape)
            buffers.append(b)
            list.append((name: renamed, shape: e.shape, data: UnsafePointer(b.pointer)))
        }
        try writeSafetensors(list, metadata: ["format": "pt"], to: to.appendingPathComponent("model.safetensors"))
        withExtendedLifetime(buffers) {}
    }

    /// Rewrites every snapshot of the run as transformers saves another class, into an HF Trainer folder
    /// (checkpoint-N with trainer_state.json).
    func trainerFolder(_ name: String, keep: (String) -> String?) throws -> String {
        let src = URL(fileURLWithPath: path("run/checkpoints"))
        for ck in try FileManager.default.contentsOfDirectory(atPath: src.path) where ck.hasPrefix("step-") {
            let step = Int(ck.dropFirst(5))!
            let out = URL(fileURLWithPath: path("\(name)/checkpoint-\(step)"))
            try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
            let from = src.appendingPathComponent(ck)
            try rewrite(from, out, keep: keep)
            for f in ["config.json", "vocab.txt"] {
                try FileManager.default.copyItem(at: from.appendingPathComponent(f), to: out.appendingPathComponent(f))
            }
            try "{\"global_step\": \(step)}".write(
                to: out.appendingPathComponent("trainer_state.json"), atomically: true, encoding: .utf8)
        }
        return path(name)
    }

    /// BertForMaskedLM's tensors: no pooler, no next-sentence head.
    static func maskedLM(_ n: String) -> String? { n.hasPrefix("bert.pooler") || n.hasPrefix("cls.seq") ? nil : n }

    func testTransformersBertClassesInATrainerFolder() throws {
        try pretrainBert()
        // BertForMaskedLM: no pooler, no next-sentence head
        let mlm = try trainerFolder("mlm", keep: Self.maskedLM)
        let p = try runEmbryo(["probe", "--checkpoints", mlm, "--out", path("mlm-probes"), "--threads", "1"] + data)
        XCTAssertEqual(p.code, 0, p.err)
        let m = try metrics(path("mlm-probes/metrics.jsonl"))
        XCTAssertEqual(Set(m.compactMap { $0["step"] as? Int }), try steps())
        XCTAssertTrue(m.contains { $0["key"] as? String == "mlm_accuracy" })
        // the same MLM figures as the run's own snapshots
        let own = try runEmbryo(
            ["probe", "--checkpoints", path("run/checkpoints"), "--out", path("own-probes"), "--threads", "1"] + data)
        XCTAssertEqual(own.code, 0, own.err)
        let mine = try metrics(path("own-probes/metrics.jsonl")).filter { $0["probe"] as? String == "mlm" }
        let theirs = m.filter { $0["probe"] as? String == "mlm" }
        XCTAssertEqual(mine.count, theirs.count)
        XCTAssertGreaterThan(mine.count, 0)
        for (a, b) in zip(mine, theirs) { XCTAssertEqual(a["value"] as? Double, b["value"] as? Double) }

        // fine-tuning a BertForMaskedLM snapshot: a new pooler, said so
        let ft = try runEmbryo([
            "finetune", "--checkpoint", mlm + "/checkpoint-24", "--task", path("w/tasks/grammar"), "--epochs", "1",
            "--train-size", "32", "--seeds", "1", "--threads", "1", "--out", path("ft"),
        ])
        XCTAssertEqual(ft.code, 0, ft.err)
        XCTAssertTrue(ft.err.contains("has no pooler"), ft.err)

        // BertModel: names without "bert.", no heads at all
        let bare = try trainerFolder("bare") { n in
            n.hasPrefix("bert.") ? String(n.dropFirst(5)) : nil
        }
        let refused = try runEmbryo(["probe", "--checkpoints", bare, "--out", path("bare-probes")] + data)
        XCTAssertEqual(refused.code, 1)
        XCTAssertTrue(refused.err.contains("needs an MLM head"), refused.err)
        XCTAssertTrue(refused.err.contains("BertModel"), refused.err)
        XCTAssertTrue(refused.err.contains("--probes layers,attention,similarity"), refused.err)
        let layers = try runEmbryo(
            [
                "probe", "--checkpoints", bare, "--out", path("bare-probes"), "--probes", "layers,similarity,attention",
            ] + data)
        XCTAssertEqual(layers.code, 0, layers.err)
        let fill = try runEmbryo(["fill", "--checkpoint", bare + "/checkpoint-24", "the [MASK] is red ."])
        XCTAssertEqual(fill.code, 1)
        XCTAssertTrue(fill.err.contains("fill needs an MLM head"), fill.err)
        // activations and a crosscoder need no head; features' attribution (through the MLM loss) does
        let act = try runEmbryo([
            "activations", "--run", bare, "--layer", "1", "--text", path("w/probe.conllu"), "--tokens", "800",
            "--threads", "1", "--out", path("bare-store"),
        ])
        XCTAssertEqual(act.code, 0, act.err)
        let cc = try runEmbryo([
            "crosscode", "--activations", path("bare-store"), "--steps", "10", "--batch-size", "16", "--features",
            "16", "--out", path("bare-cc"), "--threads", "1",
        ])
        XCTAssertEqual(cc.code, 0, cc.err)
        let features = try runEmbryo(["features", "--crosscoder", path("bare-cc"), "--out", path("bare-features")])
        XCTAssertEqual(features.code, 1)
        XCTAssertTrue(features.err.contains("attribution (--attribute NOUN"), features.err)
        XCTAssertTrue(features.err.contains("needs an MLM head"), features.err)
    }

    /// The loss probe scores the run's held-out documents, with SOP accuracy from the sentence head; a copy of
    /// the run whose snapshots were saved as BertForMaskedLM has the same MLM figures and no SOP accuracy.
    func testLossProbeWithoutASentenceHead() throws {
        try pretrainBert()
        try FileManager.default.copyItem(atPath: path("run"), toPath: path("mlm-run"))
        let ck = URL(fileURLWithPath: path("mlm-run/checkpoints"))
        for name in try FileManager.default.contentsOfDirectory(atPath: ck.path) where name.hasPrefix("step-") {
            let dir = ck.appendingPathComponent(name)
            try rewrite(dir, dir, keep: Self.maskedLM)
        }
        var figures: [String: [String: Double]] = [:]
        for run in ["run", "mlm-run"] {
            let p = try runEmbryo(["probe", "--run", path(run), "--probes", "loss", "--threads", "1"] + data)
            XCTAssertEqual(p.code, 0, p.err)
            for m in try metrics(path("\(run)/probes/metrics.jsonl")) {
                figures[run, default: [:]]["\(m["step"]!) \(m["key"]!)"] = m["value"] as? Double
            }
        }
        let own = figures["run"]!, stripped = figures["mlm-run"]!
        XCTAssertTrue(own.keys.contains { $0.hasSuffix(" sop_accuracy") })
        XCTAssertFalse(stripped.keys.contains { $0.hasSuffix(" sop_accuracy") }, "no sentence head, no SOP accuracy")
        XCTAssertTrue(stripped.keys.contains { $0.hasSuffix(" mlm_accuracy") })
        XCTAssertEqual(stripped, own.filter { !$0.key.hasSuffix(" sop_accuracy") })
    }
}

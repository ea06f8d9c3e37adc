import EmbryoCore
import EmbryoLab
import EmbryoRun
import EmbryoTestSupport
import EmbryoText
import XCTest

final class RunTests: ScratchDirectoryTestCase {
    /// A small checkpoint in `dir` (weights, config.json, vocab.txt), optionally with a trainer_state.json.
    func writeSnapshot(_ dir: URL, trainerState: String? = nil, seed: UInt64 = 1) throws {
        let config = AlbertConfig.preset("tiny", vocabSize: 40)!
        let model = try Albert(config: config)
        model.initializeWeights(seed: seed)
        try model.save(to: dir)
        let vocab = Vocabulary.specialTokens + (0..<35).map { "w\($0)" }
        try WordPieceTokenizer(vocab: try Vocabulary(tokens: vocab), lowercase: true).save(to: dir)
        if let trainerState {
            try trainerState.write(
                to: dir.appendingPathComponent("trainer_state.json"), atomically: true, encoding: .utf8)
        }
    }

    func testOpenFindsTheRunFromItsDirectoryItsCheckpointsOrOneSnapshot() throws {
        let root = tmp.appendingPathComponent("run")
        for step in [0, 10, 2] { try writeSnapshot(Run(root).checkpoint(step)) }
        // half-written: skipped with a warning
        try FileManager.default.createDirectory(at: Run(root).checkpoint(20), withIntermediateDirectories: true)
        for path in [root.path, root.path + "/checkpoints", root.path + "/checkpoints/"] {
            let run = try Run.open(path)
            XCTAssertEqual(run.root.standardizedFileURL.path, root.standardizedFileURL.path, path)
            XCTAssertEqual(run.probes.lastPathComponent, "probes")
            var warnings: [String] = []
            XCTAssertEqual(try run.snapshots(warn: { warnings.append($0) }).map(\.step), [0, 2, 10], path)
            XCTAssertEqual(warnings.count, 1)
            XCTAssertTrue(warnings[0].contains("step-000020: no model.safetensors"), warnings[0])
        }
        let one = try Run.open(Run(root).checkpoint(10).path)
        XCTAssertEqual(one.root.standardizedFileURL.path, root.standardizedFileURL.path)
        XCTAssertEqual(try one.snapshots().map(\.step), [10])
        XCTAssertEqual(
            one.finetuneOut(task: "t", snapshot: Run(root).checkpoint(10)).path,
            root.standardizedFileURL.appendingPathComponent("finetune/t/step-000010").path)
        XCTAssertEqual(try one.snapshots(steps: [10]).map(\.step), [10])
        XCTAssertThrowsError(try one.snapshots(steps: [10, 0]), "opened at one snapshot, the others are not listed")
        let all = try Run.open(root.path)
        XCTAssertEqual(try all.snapshots(steps: [10, 0, 10]).map(\.step), [0, 10])
        XCTAssertThrowsError(try all.snapshots(steps: [5])) { e in
            XCTAssertTrue("\(e)".contains("no checkpoint for step 5"), "\(e)")
            XCTAssertTrue("\(e)".contains("have 0, 2, 10"), "\(e)")
        }
        // the snapshot knows its hashes: the architecture is part of the network's identity
        let snap = try all.snapshots()[0]
        let before = try snap.weightsHash()
        let (model, tok) = try snap.load()
        XCTAssertEqual(model.config.vocabSize, tok.vocab.count)
        var config = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(contentsOf: snap.configURL)) as? [String: Any])
        config["num_hidden_layers"] = 4
        try JSONSerialization.data(withJSONObject: config).write(to: snap.configURL)
        XCTAssertNotEqual(try snap.weightsHash(), before)
    }

    func testFoldersFromOtherTrainersAreReadInStepOrder() throws {
        // HF Trainer's output folder: checkpoint-N, the step from trainer_state.json's global_step
        let hf = tmp.appendingPathComponent("hf-output")
        try writeSnapshot(hf.appendingPathComponent("checkpoint-500"), trainerState: #"{"global_step": 500}"#)
        try writeSnapshot(hf.appendingPathComponent("checkpoint-1000"), trainerState: #"{"global_step": 1000}"#)
        try writeSnapshot(hf.appendingPathComponent("checkpoint-50"))
        try writeSnapshot(hf.appendingPathComponent("step7"))
        try "notes".write(to: hf.appendingPathComponent("README.md"), atomically: true, encoding: .utf8)
        let run = try Run.open(hf.path)
        XCTAssertEqual(try run.snapshots().map(\.step), [7, 50, 500, 1000])
        XCTAssertEqual(run.root.standardizedFileURL.path, hf.standardizedFileURL.path)
        XCTAssertFalse(run.hasManifest)
        XCTAssertNil(run.world)
        // a folder of unrelated names: the error lists what it found
        let other = tmp.appendingPathComponent("other")
        try writeSnapshot(other.appendingPathComponent("final-model"))
        try FileManager.default.createDirectory(
            at: other.appendingPathComponent("logs"), withIntermediateDirectories: true)
        XCTAssertThrowsError(try Run.open(other.path).requireSnapshots()) { e in
            XCTAssertTrue("\(e)".contains("holds no complete step-N checkpoint directories"), "\(e)")
            XCTAssertTrue("\(e)".contains("found final-model, logs"), "\(e)")
        }
        // weights as a PyTorch pickle: an error that says how to convert, not a skipped snapshot
        let pickled = hf.appendingPathComponent("checkpoint-1500")
        try writeSnapshot(pickled)
        try FileManager.default.moveItem(
            at: pickled.appendingPathComponent("model.safetensors"),
            to: pickled.appendingPathComponent("pytorch_model.bin"))
        XCTAssertThrowsError(try run.snapshots()) { e in
            XCTAssertTrue("\(e)".contains("checkpoint-1500/pytorch_model.bin: PyTorch pickle weights"), "\(e)")
            XCTAssertTrue("\(e)".contains("save_pretrained("), "\(e)")
        }
        XCTAssertThrowsError(try Run.open(tmp.appendingPathComponent("missing").path)) { e in
            XCTAssertTrue("\(e)".contains("no such directory"), "\(e)")
        }
    }

    func testStepNames() {
        XCTAssertEqual(Snapshot.stepInName("step-000200"), 200)
        XCTAssertEqual(Snapshot.stepInName("checkpoint-1500"), 1500)
        XCTAssertEqual(Snapshot.stepInName("step42"), 42)
        for bad in ["step-", "step-+5", "checkpoint", "steps", "step-1a", "final", ".step-000010.tmp"] {
            XCTAssertNil(Snapshot.stepInName(bad), bad)
        }
    }

    func testManifestRoundTripsAndNamesTheFileWhenBroken() throws {
        var config = PretrainConfig()
        config.steps = 40
        let m = RunManifest(
            embryoVersion: "0.1.0", config: config, model: AlbertConfig.preset("tiny", vocabSize: 40)!, seed: 1,
            corpus: [.init(path: "/c.txt", kind: "text", bytes: 10, fnv1a64: "ab")],
            vocabulary: .init(path: "tokenizer/vocab.txt", size: 40, fnv1a64: "cd", lowercase: true),
            tokenCache: "/cache/tokens.bin",
            data: .init(tokens: 1, sentences: 1, documents: 1, heldOutDocuments: 0, maxPredictionsPerSeq: 20),
            checkpointSteps: config.checkpointSteps(),
            machine: .init(threads: 2, cores: 2, blasCore: "Zen"), world: nil)
        let run = Run(tmp.appendingPathComponent("r"))
        try FileManager.default.createDirectory(at: run.root, withIntermediateDirectories: true)
        try m.write(to: run.runJSON)
        let back = try run.manifest()
        XCTAssertEqual(back.config, config)
        XCTAssertEqual(back.checkpointSteps, config.checkpointSteps())
        XCTAssertEqual(back.tokenCache, "/cache/tokens.bin")
        XCTAssertEqual(run.plannedSteps, config.checkpointSteps())
        try #"{"config": {}}"#.write(to: run.runJSON, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try run.manifest()) { e in
            XCTAssertTrue("\(e)".contains("run.json"), "\(e)")
            XCTAssertTrue("\(e)".contains("not a valid run.json: missing field"), "\(e)")
        }
    }
}

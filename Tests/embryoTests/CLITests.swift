// The embryo binary as a user meets it: help text (snapshot), exit codes 0/1/64, error lines, both
// option spellings, and a tiny bench run whose JSON carries the documented keys.

import EmbryoTestSupport
import Foundation
import XCTest

final class CLITests: ScratchDirectoryTestCase {
    typealias Result = CLIResult

    var binary: URL { embryoBinary }

    func run(_ args: [String], stdin: String? = nil) throws -> Result { try runEmbryo(args, stdin: stdin) }

    func testRootHelpSnapshot() throws {
        let expected = """
            OVERVIEW: A training-dynamics lab: pretrain ALBERT from random weights, keep snapshots, and probe them.

            USAGE: embryo <subcommand>

            OPTIONS:
              --version             Show the version.
              -h, --help            Show help information.

            SUBCOMMANDS:
              bench                 Time training steps and inference on random tokens.
              init                  Write a randomly initialised ALBERT or BERT checkpoint in Hugging Face format.
              infer                 Run a checkpoint on token ids; write hidden states and logits as safetensors.
              vocab                 Learn a WordPiece vocabulary from text files.
              tokenize              Tokenize text line by line with a WordPiece vocabulary.
              world                 Generate the built-in world: corpus, gold annotation, facts and tasks.
              pretrain              Pretrain ALBERT from random weights, keeping snapshots along the way.
              batches               Write the exact training batches of a run's steps as safetensors.
              probe                 Probe every snapshot of a run and write the metrics and an HTML report.
              fill                  Top-K predictions at each [MASK] of some texts, from one checkpoint.
              pairs                 Score minimal pairs with one checkpoint: each sentence's pseudo-log-likelihood, both variants.
              finetune              Fine-tune a checkpoint (or every snapshot of a run) on a classification or regression task.
              reinit                Re-initialise some pretrained layers, fine-tune, and compare across data sizes.
              activations           Store the residual stream after one layer for the same tokens in every snapshot.
              crosscode             Train a crosscoder shared by every snapshot of an activation store.
              features              Analyse a crosscoder's features: strength over training, emergence, contexts, tags.
              findings              Print a run's findings against the lab's targets as a Markdown table.
              milestones            Find a run's milestones: the loss escape, the structure and capabilities onsets, collapse.
              llc-sweep             Estimate one snapshot's LLC over a grid of SGLD settings, to choose them.
              compare               Compare probed runs: per-group means with bands, final values, t90 and permutation tests.
              exposure              Count what a run's model had seen by each snapshot: tokens, masked targets and, on the world, facts.
              export                Export a run's training log and probe metrics for other tools (TensorBoard event files).

              See 'embryo help <subcommand>' for detailed help.

            """
        for args in [[], ["--help"], ["-h"], ["help"]] {
            let r = try run(args)
            XCTAssertEqual(r.code, 0, "\(args)")
            XCTAssertEqual(r.out, expected, "\(args)")
            XCTAssertEqual(r.err, "")
        }
    }

    func testSubcommandHelpSnapshot() throws {
        let expected = """
            OVERVIEW: Write a randomly initialised ALBERT or BERT checkpoint in Hugging Face format.

            USAGE: embryo init [--config <preset|file>] [--vocab-size <n>] [--unshared] [--seed <n>] --out <dir> [--force]

            OPTIONS:
              --config <preset|file>
                                    tiny, small, base (ALBERT), bert-tiny, bert-small, bert-base (BERT), or a config.json path. (default: tiny)
              --vocab-size <n>      Vocabulary size (presets only). (default: 8192)
              --unshared            One layer group per layer (BERT-like) instead of ALBERT's shared block.
              --seed <n>            Initialisation seed. (default: 0)
              --out <dir>           Checkpoint directory to write.
              --force               Replace the weights and config of an existing checkpoint in --out.
              -h, --help            Show help information.

            """
        for args in [["init", "--help"], ["help", "init"], ["init", "-h"], ["init", "--out", "x", "--help"]] {
            let r = try run(args)
            XCTAssertEqual(r.code, 0, "\(args)")
            XCTAssertEqual(r.out, expected, "\(args)")
        }
        for sub in [
            "bench", "infer", "vocab", "tokenize", "world", "pretrain", "batches", "probe", "fill", "finetune",
            "reinit",
            "activations",
            "crosscode", "features",
        ] {
            let r = try run([sub, "--help"])
            XCTAssertEqual(r.code, 0)
            XCTAssertTrue(r.out.hasPrefix("OVERVIEW: "), r.out)
            XCTAssertTrue(r.out.contains("\nUSAGE: embryo \(sub) ") && r.out.contains("\nOPTIONS:\n"), r.out)
        }
        XCTAssertTrue(
            try run(["bench", "--help"]).out.contains(
                "--config <preset>     Model preset: tiny, small, base, or bert-tiny, bert-small, bert-base. (default: tiny)"
            ))
        XCTAssertEqual(try run(["--version"]).code, 0)
    }

    func testUsageErrorsExit64WithUsageLine() throws {
        let cases: [([String], String)] = [
            (["frobnicate"], "Error: Unknown subcommand 'frobnicate'"),
            (["help", "frobnicate"], "Error: Unknown subcommand 'frobnicate'"),
            (["bench", "--bogus"], "Error: Unknown option '--bogus'"),
            (["bench", "--config=huge"], "Error: The value 'huge' is invalid for '--config <preset>'"),
            (["bench", "--steps"], "Error: Missing value for '--steps <n>'"),
            (["bench", "--steps", "zero"], "Error: The value 'zero' is invalid for '--steps <n>'"),
            (["bench", "--threads", "0"], "Error: '--threads' must be at least 1, got 0"),
            (["bench", "extra"], "Error: Unexpected argument 'extra'"),
            (["init"], "Error: Missing expected argument '--out <dir>'"),
            (["init", "--unshared=yes", "--out", "x"], "Error: The flag '--unshared' does not take a value"),
            (["llc-sweep", "--checkpoint", "/tmp", "--eps", "1e-4,zero"], "Error: '--eps' expects positive numbers"),
            (["llc-sweep", "--checkpoint", "/tmp", "--llc-eps", "-1"], "Error: '--llc-eps' must be a positive number"),
            (["llc-sweep", "--checkpoint", "/tmp"], "Error: /tmp is not a snapshot inside a run"),
            (["probe", "--run", "/tmp", "--llc-chains", "1"], "Error: '--llc-chains' must be at least 2, got 1"),
            (
                ["probe", "--run", "/tmp", "--llc-sampler", "hmc"],
                "Error: The value 'hmc' is invalid for '--llc-sampler"
            ),
        ]
        for (args, message) in cases {
            let r = try run(args)
            XCTAssertEqual(r.code, 64, "\(args)")
            XCTAssertEqual(r.out, "", "\(args)")
            XCTAssertTrue(r.err.hasPrefix(message), "\(args): \(r.err)")
            XCTAssertTrue(r.err.contains("\nUsage: embryo"), "\(args): \(r.err)")
            XCTAssertTrue(r.err.contains("for more information.") || r.err.contains("for detailed help"), r.err)
        }
    }

    func testRuntimeErrorsExit1() throws {
        let r = try run(["infer", "--checkpoint", "/nonexistent/ckpt", "--ids", "/nonexistent/ids", "--out", "/tmp/x"])
        XCTAssertEqual(r.code, 1)
        XCTAssertEqual(r.err, "Error: /nonexistent/ckpt/config.json: no such file\n")
    }

    func testInitThenInferWithBothOptionSpellings() throws {
        let ckpt = dir.appendingPathComponent("ckpt").path
        let r = try run(["init", "--config=tiny", "--vocab-size", "100", "--seed=3", "--out", ckpt])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(FileManager.default.fileExists(atPath: ckpt + "/model.safetensors"))
        // an existing checkpoint is never overwritten without --force
        let weights = try Data(contentsOf: URL(fileURLWithPath: ckpt + "/model.safetensors"))
        let again = try run(["init", "--config=tiny", "--vocab-size", "100", "--seed=4", "--out", ckpt])
        XCTAssertEqual(again.code, 64)
        XCTAssertTrue(again.err.contains("already holds a checkpoint (model.safetensors, config.json)"), again.err)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: ckpt + "/model.safetensors")), weights)
        let forced = try run(["init", "--config=tiny", "--vocab-size", "100", "--seed=3", "--out", ckpt, "--force"])
        XCTAssertEqual(forced.code, 0, forced.err)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: ckpt + "/model.safetensors")), weights)
        let ids = dir.appendingPathComponent("ids.txt")
        try "2 5 6 7 3\n2 9 8 3 0\n".write(to: ids, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("out.safetensors").path
        let r2 = try run(["infer", "--checkpoint", ckpt, "--ids=\(ids.path)", "--threads", "1", "--out", out])
        XCTAssertEqual(r2.code, 0, r2.err)
        try "2 5 6 7 3\n2 9 8 3\n".write(to: ids, atomically: true, encoding: .utf8)
        let r3 = try run(["infer", "--checkpoint", ckpt, "--ids", ids.path, "--out", out])
        XCTAssertEqual(r3.code, 1)
        XCTAssertTrue(r3.err.contains("ids.txt:2: expected 5 ids like the first line, found 4"), r3.err)
        try "2 5 6 7 3\n2 9 800 3 0\n".write(to: ids, atomically: true, encoding: .utf8)
        let r4 = try run(["infer", "--checkpoint", ckpt, "--ids", ids.path, "--out", out])
        XCTAssertEqual(r4.code, 1)
        XCTAssertTrue(r4.err.contains("token id 800 at position 7 is outside the vocabulary (100)"), r4.err)
    }

    func testFillPrintsOneLinePerPrediction() throws {
        let ckpt = dir.appendingPathComponent("ckpt")
        XCTAssertEqual(try run(["init", "--config", "tiny", "--vocab-size", "100", "--out", ckpt.path]).code, 0)
        let words = ["a", "cat", "--odd"] + (0..<92).map { "w\($0)" }
        try (["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words).joined(separator: "\n").write(
            to: ckpt.appendingPathComponent("vocab.txt"), atomically: true, encoding: .utf8)
        let r = try run([
            "fill", "--checkpoint", ckpt.path, "--top-k", "3", "a [MASK] cat [MASK]", "--", "--odd [MASK]",
        ])
        XCTAssertEqual(r.code, 0, r.err)
        let lines = r.out.split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
        XCTAssertEqual(lines.count, 9)
        XCTAssertEqual(lines.map { "\($0[0]) \($0[1]) \($0[2])" }.prefix(4), ["0 0 1", "0 0 2", "0 0 3", "0 1 1"])
        XCTAssertEqual(lines.last?[0], "1")
        for l in lines {
            XCTAssertEqual(l.count, 5)
            XCTAssertTrue(l[4].range(of: #"^0\.\d{6}$"#, options: .regularExpression) != nil, l[4])
        }
        let r2 = try run(["fill", "--checkpoint", ckpt.path])
        XCTAssertEqual(r2.code, 64)
        XCTAssertTrue(r2.err.contains("give at least one TEXT"), r2.err)
    }

    func testBenchPrintsOneJsonLine() throws {
        let r = try run([
            "bench", "--config", "tiny", "--steps", "2", "--warmup", "0", "--batch-size", "2", "--seq-len", "32",
            "--threads", "1",
        ])
        XCTAssertEqual(r.code, 0, r.err)
        let lines = r.out.split(separator: "\n")
        XCTAssertEqual(lines.count, 1)
        let obj = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as! [String: Any]
        for key in [
            "config", "threads", "train_tokens_per_s", "infer_tokens_per_s", "train_ms_per_step", "peak_rss_mib",
            "train_gflops",
        ] {
            XCTAssertNotNil(obj[key], key)
        }
        XCTAssertEqual(obj["config"] as? String, "tiny")
        XCTAssertEqual(obj["threads"] as? Int, 1)
        XCTAssertGreaterThan(obj["train_tokens_per_s"] as? Double ?? 0, 0)
    }

    func testBenchTimesFineTuningsStep() throws {
        let r = try run([
            "bench", "--head", "classifier", "--steps", "3", "--warmup", "0", "--batch-size", "4", "--seq-len", "16",
            "--threads", "2", "--profile",
        ])
        XCTAssertEqual(r.code, 0, r.err)
        let obj = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! [String: Any]
        XCTAssertEqual(obj["head"] as? String, "classifier")
        XCTAssertEqual(obj["optimizer"] as? String, "adamw")
        XCTAssertEqual(obj["seq"] as? Int, 16)
        let losses = obj["loss_first_last"] as? [Double] ?? []
        XCTAssertEqual(losses.count, 2)
        // a 2-label head starts near ln 2
        XCTAssertEqual(losses[0], log(2), accuracy: 0.1)
        let train = (obj["profile"] as? [String: Any])?["train"] as? [String: Any] ?? [:]
        for kernel in ["sopHead", "ffnIn", "zeroGrad", "gradientReduce", "clipping", "optimizer"] {
            XCTAssertNotNil(train[kernel], kernel)
        }
        XCTAssertNil(train["mlmDecoder"], "fine-tuning has no MLM decoder")
        let bad = try run(["bench", "--head", "crf"])
        XCTAssertEqual(bad.code, 64)
        XCTAssertTrue(bad.err.contains("'crf' is invalid for '--head <name>'"), bad.err)
    }

    func testVocabThenTokenize() throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let corpus = dir.appendingPathComponent("corpus.txt")
        try String(repeating: "the cat sat on the mat. The dog sat on the log!\n", count: 20).write(
            to: corpus, atomically: true, encoding: .utf8)
        let vocab = dir.appendingPathComponent("tok/vocab.txt").path
        let r = try run(["vocab", "--corpus", corpus.path, "--size=40", "--out", vocab])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(r.out, vocab + "\n")
        XCTAssertTrue(
            FileManager.default.fileExists(atPath: dir.appendingPathComponent("tok/tokenizer_config.json").path))
        let lines = try String(contentsOfFile: vocab, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 40)
        XCTAssertEqual(Array(lines.prefix(5)), ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])

        let toks = try run(["tokenize", "--vocab", vocab, "--tokens"], stdin: "The cat sat.\n\nA [MASK] dog")
        XCTAssertEqual(toks.code, 0, toks.err)
        let outLines = toks.out.split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(outLines.count, 4, toks.out)  // three input lines, the last without a newline
        XCTAssertEqual(outLines[1], "")
        XCTAssertTrue(outLines[2].hasPrefix("a [MASK] "), toks.out)
        let ids = try run(["tokenize", "--vocab=\(vocab)"], stdin: "the cat\n")
        XCTAssertEqual(
            ids.out.split(separator: " ").count,
            ids.out.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }.count)
        let json = try run(["tokenize", "--vocab", vocab, "--json"], stdin: "the cat\n")
        let obj = try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as! [String: Any]
        XCTAssertEqual((obj["spans"] as? [[Int]])?.first, [0, 3])
        XCTAssertEqual((obj["words"] as? [Int])?.first, 0)
        let bench = try run(["tokenize", "--vocab", vocab, "--input", corpus.path, "--bench"])
        XCTAssertEqual(bench.code, 0, bench.err)
        XCTAssertNotNil((try JSONSerialization.jsonObject(with: Data(bench.out.utf8)) as! [String: Any])["mb_per_s"])

        let both = try run(["tokenize", "--vocab", vocab, "--tokens", "--json"])
        XCTAssertEqual(both.code, 64)
        XCTAssertTrue(both.err.hasPrefix("Error: Choose one of --ids, --tokens, --json, --bench"), both.err)
        let missing = try run(["vocab", "--corpus", dir.appendingPathComponent("nope").path, "--out", vocab])
        XCTAssertEqual(missing.code, 1)
        XCTAssertTrue(missing.err.contains("nope: no such file or directory"), missing.err)
        try "[PAD]\n[UNK]\n".write(toFile: vocab, atomically: true, encoding: .utf8)
        let bad = try run(["tokenize", "--vocab", vocab], stdin: "x\n")
        XCTAssertEqual(bad.code, 1)
        XCTAssertTrue(bad.err.contains("missing special token(s) [CLS] [SEP] [MASK]"), bad.err)
    }

    /// A process killed with SIGKILL between checkpoints, then resumed, ends with the same checkpoints as an
    /// uninterrupted run; SIGINT saves, prints how to resume and exits 130.
    func testPretrainKillNineThenResumeIsBitIdentical() throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let w = try run([
            "world", "--out", dir.appendingPathComponent("w").path, "--tokens", "30000", "--task-examples", "10",
        ])
        XCTAssertEqual(w.code, 0, w.err)
        let cfg = dir.appendingPathComponent("micro.json")
        try
            "{\"embedding_size\": 16, \"hidden_size\": 32, \"num_hidden_layers\": 2, \"num_attention_heads\": 2, \"intermediate_size\": 64, \"max_position_embeddings\": 64}"
            .write(to: cfg, atomically: true, encoding: .utf8)
        let args = [
            "pretrain", "--corpus", dir.appendingPathComponent("w/train.txt").path, "--config", cfg.path,
            "--vocab-size", "300",
            "--steps", "400", "--batch-size", "8", "--seq-len", "32", "--save-every", "100", "--no-log-steps",
            "--eval-every", "100", "--threads", "1",
        ]
        let full = dir.appendingPathComponent("full").path, cut = dir.appendingPathComponent("cut").path
        let r = try run(args + ["--out", full])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.out.hasSuffix("full/checkpoints\n"), r.out)

        try checkBatches(run: full, steps: 400, batch: 8, seqLen: 32)

        // start the same run, SIGKILL it once a checkpoint past step 0 exists, resume
        let p = Process()
        p.executableURL = binary
        p.arguments = args + ["--out", cut]
        p.environment = ProcessInfo.processInfo.environment.merging(["EMBRYO_NO_REEXEC": "1"]) { _, b in b }
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let marker = dir.appendingPathComponent("cut/checkpoints/step-000100").path
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: marker) && Date() < deadline && p.isRunning { usleep(20_000) }
        usleep(150_000)  // between checkpoints
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationReason, .uncaughtSignal)
        let refused = try run(args + ["--out", cut])
        XCTAssertEqual(refused.code, 1)
        XCTAssertTrue(refused.err.contains("already holds a run"), refused.err)
        let differs = try run(["pretrain", "--resume", cut, "--steps", "500"])
        XCTAssertEqual(differs.code, 1)
        XCTAssertTrue(differs.err.contains("steps differs"), differs.err)
        let resumed = try run(["pretrain", "--resume", cut])
        XCTAssertEqual(resumed.code, 0, resumed.err)
        for step in [0, 100, 200, 300, 400] {
            let name = "checkpoints/step-\(String(format: "%06d", step))/model.safetensors"
            XCTAssertEqual(
                try Data(contentsOf: URL(fileURLWithPath: full).appendingPathComponent(name)),
                try Data(contentsOf: URL(fileURLWithPath: cut).appendingPathComponent(name)), "step \(step)")
        }

        // SIGINT: finish the step, save, exit 130 with a resume hint
        let q = Process()
        q.executableURL = binary
        q.arguments = args + ["--out", dir.appendingPathComponent("int").path]
        q.environment = ProcessInfo.processInfo.environment.merging(["EMBRYO_NO_REEXEC": "1"]) { _, b in b }
        let err = Pipe()
        q.standardError = err
        q.standardOutput = FileHandle.nullDevice
        try q.run()
        let first = dir.appendingPathComponent("int/checkpoints/step-000000").path
        while !FileManager.default.fileExists(atPath: first) && q.isRunning { usleep(20_000) }
        usleep(100_000)
        kill(q.processIdentifier, SIGINT)
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        q.waitUntilExit()
        XCTAssertEqual(q.terminationStatus, 130, text)
        XCTAssertTrue(text.contains("embryo pretrain --resume"), text)
    }

    /// A safetensors file's header: name -> (dtype, shape).
    func safetensorsHeader(_ url: URL) throws -> [String: (String, [Int])] {
        let data = try Data(contentsOf: url)
        let n = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try JSONSerialization.jsonObject(with: data[8..<(8 + n)]) as! [String: Any]
        var out: [String: (String, [Int])] = [:]
        for (k, v) in header where k != "__metadata__" {
            let e = v as! [String: Any]
            out[k] = (e["dtype"] as! String, e["shape"] as! [Int])
        }
        return out
    }

    /// `embryo batches` on a finished run: shapes and dtypes as transformers' arguments, the same bytes
    /// twice, and its usage errors.
    func checkBatches(run dir: String, steps: Int, batch B: Int, seqLen T: Int) throws {
        let out = URL(fileURLWithPath: dir).appendingPathComponent("b.safetensors")
        let r = try run(["batches", "--run", dir, "--steps", "3-5", "--out", out.path])
        XCTAssertEqual(r.code, 0, r.err)
        let h = try safetensorsHeader(out)
        for name in ["input_ids", "token_type_ids", "attention_mask", "labels"] {
            XCTAssertEqual(h[name]?.0, "I64", name)
            XCTAssertEqual(h[name]?.1, [3, B, T], name)
        }
        XCTAssertEqual(h["sentence_order_label"]?.1, [3, B])
        let first = try Data(contentsOf: out)
        XCTAssertEqual(try run(["batches", "--run", dir, "--steps", "3-5", "--out", out.path]).code, 0)
        XCTAssertEqual(try Data(contentsOf: out), first, "batches are a function of (seed, step)")
        let one = try run(["batches", "--run", dir, "--steps", "\(steps)", "--out", out.path])
        XCTAssertEqual(one.code, 0, one.err)
        XCTAssertEqual(try safetensorsHeader(out)["labels"]?.1, [1, B, T])
        let list = try run(["batches", "--run", dir, "--steps", "5,3-4", "--out", out.path])
        XCTAssertEqual(list.code, 0, list.err)
        XCTAssertEqual(try safetensorsHeader(out)["labels"]?.1, [3, B, T])
        let decoded = try run(["batches", "--run", dir, "--steps", "5,3", "--decode"])
        XCTAssertTrue(decoded.out.hasPrefix("step 5 row 0") && decoded.out.contains("\nstep 3 row 0"), decoded.out)
        for bad in ["0-3", "5-3", "x", "1-2-3", "2,", "3,,4"] {
            let e = try run(["batches", "--run", dir, "--steps", bad, "--out", out.path])
            XCTAssertEqual(e.code, 64, bad)
            XCTAssertTrue(e.err.contains("--steps"), e.err)
        }
        let past = try run(["batches", "--run", dir, "--steps", "1-\(steps + 1)", "--out", out.path])
        XCTAssertEqual(past.code, 64, past.err)
        XCTAssertTrue(past.err.contains("outside the run's steps 1-\(steps)"), past.err)
        let none = try run(["batches", "--run", dir + "/nowhere", "--steps", "1", "--out", out.path])
        XCTAssertEqual(none.code, 1)
        XCTAssertTrue(none.err.contains("no run.json"), none.err)
    }
}

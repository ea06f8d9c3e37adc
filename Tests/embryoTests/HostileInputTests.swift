// The binary under hostile but fair use: absurd sizes and values refused before anything is allocated,
// inputs that used to hang, a full stdout, two writers on one run, a changed corpus on --resume, a
// non-finite loss, and the files an interrupted writer leaves behind.

import EmbryoTestSupport
import Foundation
import XCTest

final class HostileInputTests: ScratchDirectoryTestCase {
    func write(_ text: String, _ name: String) throws -> String {
        let url = dir.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    /// A micro model config and a small generated world's train.txt.
    func microAndWorld() throws -> (config: String, corpus: String) {
        let w = try runEmbryo(["world", "--out", dir.appendingPathComponent("w").path, "--tokens", "20000"])
        XCTAssertEqual(w.code, 0, w.err)
        let cfg = try write(
            "{\"embedding_size\": 16, \"hidden_size\": 32, \"num_hidden_layers\": 2, \"num_attention_heads\": 2, "
                + "\"intermediate_size\": 64, \"max_position_embeddings\": 64}", "micro.json")
        return (cfg, dir.appendingPathComponent("w/train.txt").path)
    }

    func pretrainArgs(_ m: (config: String, corpus: String), steps: Int, out: String) -> [String] {
        [
            "pretrain", "--corpus", m.corpus, "--config", m.config, "--vocab-size", "200", "--steps", "\(steps)",
            "--batch-size", "4", "--seq-len", "32", "--save-every", "5", "--no-log-steps", "--eval-every", "1000",
            "--threads", "1", "--out", out,
        ]
    }

    func testVocabRefusesEmptyAndBinaryCorpora() throws {
        let empty = try write("", "empty.txt")
        let r = try runEmbryo(["vocab", "--corpus", empty, "--out", dir.appendingPathComponent("v/vocab.txt").path])
        XCTAssertEqual(r.code, 1)
        XCTAssertTrue(r.err.contains("no words to learn a vocabulary from"), r.err)
        let bin = dir.appendingPathComponent("bin.txt")
        try Data([0x61, 0x62, 0x0A, 0x00, 0x01, 0x02, 0x0A]).write(to: bin)
        let b = try runEmbryo(["vocab", "--corpus", bin.path, "--out", dir.appendingPathComponent("v/vocab.txt").path])
        XCTAssertEqual(b.code, 1)
        XCTAssertTrue(b.err.contains("bin.txt:2: contains NUL bytes"), b.err)
    }

    func testOnlySpecialTokensIsAnErrorNotAHang() throws {
        let m = try microAndWorld()
        let vocab = try write("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n", "special/vocab.txt")
        var args = pretrainArgs(m, steps: 2, out: dir.appendingPathComponent("r").path)
        args.removeAll { $0 == "--vocab-size" || $0 == "200" }
        let r = try runEmbryo(args + ["--vocab", vocab])
        XCTAssertNotEqual(r.code, 0)
        XCTAssertTrue(r.err.contains("only special tokens"), r.err)
    }

    func testAbsurdSizesAreRefusedBeforeAllocating() throws {
        let huge = try write("{\"hidden_size\": 1000000000, \"num_attention_heads\": 1}", "huge.json")
        let h = try runEmbryo(["init", "--config", huge, "--out", dir.appendingPathComponent("h").path])
        XCTAssertEqual(h.code, 1)
        XCTAssertTrue(h.err.contains("hidden_size 1000000000 is beyond the engine's limit"), h.err)
        let layers = try write("{\"num_hidden_layers\": 1000000000}", "layers.json")
        let l = try runEmbryo(["init", "--config", layers, "--out", dir.appendingPathComponent("l").path])
        XCTAssertEqual(l.code, 1)
        XCTAssertTrue(l.err.contains("num_hidden_layers 1000000000 is beyond"), l.err)
        let v = try runEmbryo(["init", "--vocab-size", "1000000000", "--out", dir.appendingPathComponent("v").path])
        XCTAssertEqual(v.code, 1)
        XCTAssertTrue(v.err.contains("vocab_size 1000000000 is beyond"), v.err)
        // a config within each limit but too large in all
        let big = try write(
            "{\"vocab_size\": 4000000, \"embedding_size\": 60000, \"hidden_size\": 1024, \"num_attention_heads\": 16}",
            "big.json")
        let g = try runEmbryo(["init", "--config", big, "--out", dir.appendingPathComponent("g").path])
        XCTAssertEqual(g.code, 1)
        XCTAssertTrue(g.err.contains("parameters, beyond the engine's limit"), g.err)
        let b = try runEmbryo(["pretrain", "--batch-size", "1000000", "--out", dir.appendingPathComponent("b").path])
        XCTAssertEqual(b.code, 64)
        XCTAssertTrue(b.err.contains("beyond the engine's limit of 1,048,576 tokens per step"), b.err)
        let c = try runEmbryo(["crosscode", "--activations", dir.path, "--l1", "-1", "--out", dir.path + "/c"])
        XCTAssertEqual(c.code, 64)
        XCTAssertTrue(c.err.contains("'--l1 <lambda>'"), c.err)
        let p = try runEmbryo(["probe", "--checkpoints", dir.path, "--watch", "--poll", "0"])
        XCTAssertEqual(p.code, 64)
        XCTAssertTrue(p.err.contains("'--poll <seconds>'"), p.err)
    }

    func testFullStdoutIsAnError() throws {
        let vocab = try write("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\n", "v/vocab.txt")
        let input = try write(String(repeating: "hello hello\n", count: 20_000), "in.txt")
        guard let full = FileHandle(forWritingAtPath: "/dev/full") else { throw XCTSkip("no /dev/full") }
        let t = try runEmbryo(["tokenize", "--vocab", vocab, "--input", input], stdout: full)
        XCTAssertEqual(t.code, 1)
        XCTAssertTrue(t.err.contains("standard output"), t.err)
        // a command whose only stdout is the path it wrote
        let v = try runEmbryo(
            ["vocab", "--corpus", input, "--size", "20", "--out", dir.appendingPathComponent("v2/vocab.txt").path],
            stdout: full)
        XCTAssertEqual(v.code, 1)
        XCTAssertTrue(v.err.contains("could not write the output to standard output"), v.err)
    }

    func testNonFiniteLossStopsAndKeepsTheLastSnapshot() throws {
        let m = try microAndWorld()
        let out = dir.appendingPathComponent("nan").path
        let r = try runEmbryo(pretrainArgs(m, steps: 40, out: out) + ["--lr", "100", "--warmup", "0"])
        XCTAssertEqual(r.code, 1)
        XCTAssertTrue(r.err.contains("not finite at step"), r.err)
        let names = try FileManager.default.contentsOfDirectory(atPath: out + "/checkpoints")
        XCTAssertTrue(names.contains("step-000000"), "\(names)")
        XCTAssertFalse(names.contains { $0.contains("tmp") }, "\(names)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/checkpoints/step-000000/model.safetensors"))
    }

    func testASecondWriterIsRefusedAndStaleTemporariesAreRemoved() throws {
        let m = try microAndWorld()
        let out = dir.appendingPathComponent("two").path
        let p = try startEmbryo(pretrainArgs(m, steps: 100_000, out: out))
        let marker = out + "/checkpoints/step-000005"
        waitFor(marker, while: p)
        XCTAssertTrue(p.isRunning)
        let second = try runEmbryo(pretrainArgs(m, steps: 10, out: out) + ["--force"])
        XCTAssertEqual(second.code, 1)
        XCTAssertTrue(
            second.err.contains("is in use by another embryo process (pid \(p.processIdentifier))"), second.err)
        let resume = try runEmbryo(["pretrain", "--resume", out])
        XCTAssertEqual(resume.code, 1)
        XCTAssertTrue(resume.err.contains("in use by another embryo process"), resume.err)
        XCTAssertTrue(FileManager.default.fileExists(atPath: marker + "/model.safetensors"), "the first run is intact")
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        // the kernel released the lock with the process; leftovers of a killed write are cleaned on resume
        let stale = out + "/state/.state.json.tmp-99999"
        try Data("x".utf8).write(to: URL(fileURLWithPath: stale))
        let staleDir = out + "/checkpoints/.step-000999.tmp"
        try FileManager.default.createDirectory(atPath: staleDir, withIntermediateDirectories: true)
        let changed = try runEmbryo(["pretrain", "--resume", out, "--steps", "99999"])
        // (a changed --steps is refused, after the lock was taken and the directory cleaned)
        XCTAssertEqual(changed.code, 1, changed.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale))
        XCTAssertFalse(FileManager.default.fileExists(atPath: staleDir))
    }

    func testResumeRefusesAChangedCorpus() throws {
        let m = try microAndWorld()
        let corpus = try write(try String(contentsOfFile: m.corpus, encoding: .utf8), "copy/train.txt")
        let out = dir.appendingPathComponent("c").path
        let p = try startEmbryo(pretrainArgs((m.config, corpus), steps: 100_000, out: out))
        waitFor(out + "/checkpoints/step-000005", while: p)
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        // the run recorded an absolute path; the file is edited before resuming from another directory
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: corpus))
        try h.seekToEnd()
        try h.write(contentsOf: Data("An extra sentence.\n".utf8))
        try h.close()
        let r = try runEmbryo(["pretrain", "--resume", out])
        XCTAssertEqual(r.code, 1)
        XCTAssertTrue(r.err.contains("has changed since the run started (fnv1a64 "), r.err)
        XCTAssertTrue(r.err.contains("in run.json for \(corpus)"), r.err)
    }

    func testAHugeLineDoesNotStallTraining() throws {
        let m = try microAndWorld()
        var text = try String(contentsOfFile: m.corpus, encoding: .utf8)
        text += "\n" + Array(repeating: "word", count: 400_000).joined(separator: " ") + ".\n"
        let corpus = try write(text, "huge/train.txt")
        let start = Date()
        let r = try runEmbryo(pretrainArgs((m.config, corpus), steps: 30, out: dir.appendingPathComponent("h").path))
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertLessThan(Date().timeIntervalSince(start), 120)
    }

    func testByteOrderMarkInCoNLLUIsAcceptedByPretrain() throws {
        let m = try microAndWorld()
        let conllu = try String(contentsOfFile: dir.appendingPathComponent("w/probe.conllu").path, encoding: .utf8)
        let bom = try write("\u{FEFF}" + conllu, "bom.conllu")
        let r = try runEmbryo(pretrainArgs((m.config, bom), steps: 2, out: dir.appendingPathComponent("b").path))
        XCTAssertEqual(r.code, 0, r.err)
    }

    func testFileErrorsAreInWords() throws {
        let r = try runEmbryo(["world", "--out", "/proc/embryo-cannot-write-here", "--tokens", "2000"])
        XCTAssertEqual(r.code, 1)
        XCTAssertFalse(r.err.contains("Error Domain="), r.err)
        XCTAssertTrue(r.err.contains("/proc/embryo-cannot-write-here"), r.err)
    }

    /// On a micro run: finetune records the --max-len it used; crosscode refuses a second writer and exits
    /// 130 on Ctrl-C after saving.
    func testCrosscoderLockAndInterruptAndRecordedMaxLen() throws {
        let m = try microAndWorld()
        let run = dir.appendingPathComponent("m").path
        XCTAssertEqual(try runEmbryo(pretrainArgs(m, steps: 10, out: run)).code, 0)
        let ft = try runEmbryo([
            "finetune", "--checkpoint", run + "/checkpoints/step-000010", "--task", dir.path + "/w/tasks/grammar",
            "--train-size", "16", "--epochs", "1", "--max-len", "100000", "--out", dir.path + "/ft",
        ])
        XCTAssertEqual(ft.code, 0, ft.err)
        let results = try JSONSerialization.jsonObject(
            with: Data(contentsOf: dir.appendingPathComponent("ft/results.json")))
        XCTAssertEqual(((results as? [String: Any])?["settings"] as? [String: Any])?["max_len"] as? Int, 64)
        let acts = dir.appendingPathComponent("acts").path
        let a = try runEmbryo([
            "activations", "--checkpoints", run + "/checkpoints", "--layer", "1", "--text",
            dir.path + "/w/probe.conllu",
            "--tokens", "1000", "--out", acts,
        ])
        XCTAssertEqual(a.code, 0, a.err)
        let cc = dir.appendingPathComponent("cc").path
        let p = try startEmbryo([
            "crosscode", "--activations", acts, "--steps", "1000000", "--batch-size", "32", "--save-every", "50",
            "--threads", "1", "--out", cc,
        ])
        waitFor(cc + "/state/save/state.json", while: p)
        let second = try runEmbryo(["crosscode", "--activations", acts, "--steps", "10", "--out", cc])
        XCTAssertEqual(second.code, 1)
        XCTAssertTrue(second.err.contains("is in use by another embryo process"), second.err)
        kill(p.processIdentifier, SIGINT)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 130)
        XCTAssertTrue(FileManager.default.fileExists(atPath: cc + "/crosscoder.safetensors"))
    }
}

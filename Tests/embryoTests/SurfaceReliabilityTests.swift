// The surfaces added around suites, branches, caches and data files, used as a hostile newcomer would:
// a branch onto its own parent, a suite member stopped on its own, a suite resumed from elsewhere or with
// other options, a diverged snapshot, a gzip stream with no line end, a corrupted token cache and names
// that try to be paths. Each case must end in a clear error or a correct result, never in lost data.

import EmbryoTestSupport
import Foundation
import XCTest

final class SurfaceReliabilityTests: ScratchDirectoryTestCase {
    func recipe(steps: Int = 24, saveEvery: Int = 8) throws -> [String] {
        try microRecipe(steps: steps, saveEvery: saveEvery) + ["--threads", "1"]
    }

    func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: path(name)) }

    func testABranchOntoItsOwnParentIsRefusedBeforeAnythingIsRemoved() throws {
        let r = try recipe()
        let p = try runEmbryo(["pretrain"] + r + ["--keep-state", "all", "--out", path("pp")])
        XCTAssertEqual(p.code, 0, p.err)
        let before = try FileManager.default.subpathsOfDirectory(atPath: path("pp")).sorted()
        let b = try runEmbryo(["pretrain", "--branch", path("pp"), "--at", "8", "--out", path("pp"), "--force"])
        XCTAssertEqual(b.code, 64, b.err)
        XCTAssertTrue(b.err.contains("reads from"), b.err)
        XCTAssertEqual(try FileManager.default.subpathsOfDirectory(atPath: path("pp")).sorted(), before)
        // a vocabulary inside the run that --force would replace is refused the same way
        let v = try runEmbryo(
            ["pretrain"] + r
                + ["--vocab", path("pp/tokenizer/vocab.txt"), "--out", path("pp"), "--force"]
                .filter { $0 != "--vocab-size" && $0 != "300" })
        XCTAssertEqual(v.code, 64, v.err)
        XCTAssertTrue(exists("pp/tokenizer/vocab.txt") && exists("pp/run.json"))
        // and a branch into a fresh folder still works
        let ok = try runEmbryo(["pretrain", "--branch", path("pp"), "--at", "8", "--out", path("b")])
        XCTAssertEqual(ok.code, 0, ok.err)
    }

    func testASuiteWithAMemberStoppedOnItsOwnIsNotDone() throws {
        let r = try recipe(steps: 1000, saveEvery: 100)
        let p = try startEmbryo(
            ["pretrain"] + r + ["--seeds", "1-2", "--jobs", "2", "--out", path("s")], captureErrors: true)
        waitFor(path("s/seed-1/checkpoints/step-000004"), while: p)
        // the child training seed 1: its own SIGTERM saves it and ends it with 130
        let pgrep = try runShell("pgrep -f 'suite-recipe \(path("s")) --seed [1] --out'")
        let pid = pid_t(pgrep.split(separator: "\n").first.map(String.init) ?? "") ?? 0
        XCTAssertGreaterThan(pid, 0, "no child process found")
        kill(pid, SIGTERM)
        let err = String(decoding: (p.standardError as! Pipe).fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 1, err)
        XCTAssertTrue(err.contains("is not complete: seed 1 stopped at step"), err)
        XCTAssertFalse(err.contains("suite done"), err)
        // readers say which member is unfinished
        let probe = try runEmbryo(["probe", "--suite", path("s"), "--probes", "loss"])
        XCTAssertEqual(probe.code, 0, probe.err)
        XCTAssertTrue(probe.err.contains("seed 1 stopped at step"), probe.err)
        // compare cuts every run at the last step all reached, and says so
        let c = try runEmbryo(["compare", "--suite", path("s"), "--out", path("cmp")])
        XCTAssertEqual(c.code, 0, c.err)
        XCTAssertTrue(c.err.contains("compared up to step"), c.err)
        let rows = try String(contentsOfFile: path("cmp/compare.jsonl"), encoding: .utf8)
        XCTAssertFalse(rows.contains("\"step\":1000"), "the finished run's step 1000 must not be compared")
        // resuming finishes it, and the suite is then done
        let resumed = try runEmbryo(["pretrain", "--resume", path("s")])
        XCTAssertEqual(resumed.code, 0, resumed.err)
        XCTAssertTrue(resumed.err.contains("suite done: 2 runs"), resumed.err)
    }

    func testASuiteResumesWithItsRecordedFilesAndNoOtherOptions() throws {
        try smallWorld()
        let v = try runEmbryo([
            "vocab", "--corpus", path("w/train.txt"), "--size", "300", "--out", path("v1/vocab.txt"),
        ])
        XCTAssertEqual(v.code, 0, v.err)
        var r = try recipe()
        r.removeAll { $0 == "--vocab-size" || $0 == "300" }
        // a relative --vocab is recorded absolute, with its hash
        let p = try runEmbryo(
            ["pretrain"] + r + ["--vocab", "v1/vocab.txt", "--seeds", "1-2", "--prepare", "--out", path("s")],
            cwd: dir)
        XCTAssertEqual(p.code, 0, p.err)
        let suite = try String(contentsOfFile: path("s/suite.json"), encoding: .utf8).replacingOccurrences(
            of: "\\/", with: "/")
        XCTAssertTrue(suite.contains(path("v1/vocab.txt")), suite)
        XCTAssertTrue(suite.contains("fnv1a64"), suite)
        // options a suite's resume would drop are refused, each named
        for args in [["--seeds", "4-6"], ["--steps", "80", "--lr", "0.5"]] {
            let res = try runEmbryo(["pretrain", "--resume", path("s")] + args)
            XCTAssertEqual(res.code, 64, "\(args): \(res.err)")
            for a in args where a.hasPrefix("--") { XCTAssertTrue(res.err.contains(a), res.err) }
        }
        // a vocabulary changed under the suite stops every later member
        try "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\n".write(
            toFile: path("v1/vocab.txt"), atomically: true, encoding: .utf8)
        let resumed = try runEmbryo(["pretrain", "--resume", path("s")])
        XCTAssertEqual(resumed.code, 1, resumed.err)
        XCTAssertTrue(resumed.err.contains("has changed since"), resumed.err)
        XCTAssertFalse(exists("s/seed-1/run.json"))
    }
}

/// Runs a shell command and returns its stdout.
func runShell(_ command: String) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    p.arguments = ["-c", command]
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    let d = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return String(decoding: d, as: UTF8.self)
}

extension SurfaceReliabilityTests {
    /// Multiplies one tensor of a snapshot's model.safetensors by `factor` (clamped to Float's range).
    func scaleTensor(_ checkpoint: String, suffix: String, by factor: Float) throws {
        let url = URL(fileURLWithPath: checkpoint).appendingPathComponent("model.safetensors")
        var bytes = [UInt8](try Data(contentsOf: url))
        let n = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + n)])) as! [String: Any]
        let entry = header.first { $0.key.hasSuffix(suffix) }!.value as! [String: Any]
        let offsets = entry["data_offsets"] as! [Int]
        bytes.withUnsafeMutableBytes { raw in
            for at in stride(from: 8 + n + offsets[0], to: 8 + n + offsets[1], by: 4) {
                let v = raw.load(fromByteOffset: at, as: Float.self) * factor
                raw.storeBytes(of: min(max(v, -3e38), 3e38), toByteOffset: at, as: Float.self)
            }
        }
        try Data(bytes).write(to: url)
    }

    func testADivergedSnapshotIsReportedNotATrap() throws {
        let r = try recipe()
        let q = try runEmbryo(["pretrain"] + r + ["--out", path("q")])
        XCTAssertEqual(q.code, 0, q.err)
        try scaleTensor(path("q/checkpoints/step-000024"), suffix: "word_embeddings.weight", by: 1e20)
        let probe = try runEmbryo(["probe", "--run", path("q"), "--probes", "loss"])
        XCTAssertEqual(probe.code, 0, probe.err)
        let metrics = try String(contentsOfFile: path("q/probes/metrics.jsonl"), encoding: .utf8)
        XCTAssertTrue(metrics.contains("\"step\":24,\"probe\":\"loss\",\"key\":\"mlm_loss\""), metrics)
        let exposure = try runEmbryo(["exposure", "--run", path("q")])
        XCTAssertEqual(exposure.code, 0, exposure.err)
        let compare = try runEmbryo(["compare", path("q"), "--out", path("cmp"), "--markdown"])
        XCTAssertEqual(compare.code, 0, compare.err)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("cmp/report.html")))
    }

    func testAGzipStreamWithoutLineEndsOrWithZerosEndsAtOnce() throws {
        try smallWorld()
        _ = try runShell(
            "cd '\(dir.path)' && head -c 80000000 /dev/zero | tr '\\0' a | gzip -1 > long.txt.gz && "
                + "head -c 50000000 /dev/zero | gzip -1 > zeros.txt.gz")
        for (file, message) in [("long.txt.gz", "with no line end"), ("zeros.txt.gz", "contains NUL bytes")] {
            let start = Date()
            let res = try runEmbryo([
                "pretrain", "--corpus", path(file), "--vocab-size", "300", "--steps", "2", "--out", path("z-\(file)"),
            ])
            XCTAssertEqual(res.code, 1, res.err)
            XCTAssertTrue(res.err.contains("\(file):1: ") && res.err.contains(message), res.err)
            XCTAssertLessThan(Date().timeIntervalSince(start), 20)
            let left = (try? FileManager.default.contentsOfDirectory(atPath: path("z-\(file)"))) ?? []
            XCTAssertTrue(left.allSatisfy { $0 == ".lock" || $0 == "world" }, "\(left)")
        }
    }

    func testACorruptedTokenCacheIsRefusedOrRebuilt() throws {
        let r = try recipe()
        let p = try runEmbryo(["pretrain"] + r + ["--out", path("p")])
        XCTAssertEqual(p.code, 0, p.err)
        let manifest =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("p/run.json"))))
            as! [String: Any]
        let cache = manifest["token_cache"] as! String
        XCTAssertNotNil(manifest["token_cache_fnv1a64"] as? String)
        let original = try Data(contentsOf: URL(fileURLWithPath: cache))
        func corrupt(_ edit: (inout [UInt8]) -> Void) throws {
            var b = [UInt8](original)
            edit(&b)
            try Data(b).write(to: URL(fileURLWithPath: cache))
        }
        let count = original[24..<32].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let width = Int(original[16])
        // an id beyond the vocabulary, offsets that go backwards, two ids swapped in place
        let edits: [(String, (inout [UInt8]) -> Void)] = [
            ("outside the vocabulary", { b in for i in 0..<width { b[64 + width * 5 + i] = 0x7F } }),
            (
                "go backwards",
                { b in
                    let at = 64 + (count * width + 7) / 8 * 8 + 8 * 3
                    for i in 0..<8 { b[at + i] = 0 }
                    b[at] = 1
                }
            ),
            (
                "has changed since",
                { b in
                    for i in 0..<width { b.swapAt(64 + width * 10 + i, 64 + width * 11 + i) }
                    if b == [UInt8](original) {
                        for i in 0..<width { b.swapAt(64 + width * 10 + i, 64 + width * 40 + i) }
                    }
                }
            ),
        ]
        for (message, edit) in edits {
            try corrupt(edit)
            let exposure = try runEmbryo(["exposure", "--run", path("p")])
            XCTAssertEqual(exposure.code, 1, "\(message): \(exposure.err)")
            XCTAssertTrue(exposure.err.contains(message), exposure.err)
        }
        // a new run on the same corpus rebuilds a cache that fails its checks, and trains as the first did
        try corrupt { b in for i in 0..<width { b[64 + width * 5 + i] = 0x7F } }
        let again = try runEmbryo(["pretrain"] + r + ["--out", path("p2")])
        XCTAssertEqual(again.code, 0, again.err)
        XCTAssertTrue(again.err.contains("rebuilding it"), again.err)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: cache)), original)
    }

    func testARelationNameIsNeverAPath() throws {
        try FileManager.default.createDirectory(atPath: path("facts"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: path("outside"), withIntermediateDirectories: true)
        try "{\"sub_label\": \"a\", \"obj_label\": \"secret\"}\n".write(
            toFile: path("outside/secret.jsonl"), atomically: true, encoding: .utf8)
        try "{\"relation\": \"../outside/secret\", \"template\": \"[X] is [Y] .\"}\n".write(
            toFile: path("facts/relations.jsonl"), atomically: true, encoding: .utf8)
        let r = try recipe()
        let p = try runEmbryo(["pretrain"] + r + ["--steps", "2", "--out", path("p")])
        XCTAssertEqual(p.code, 0, p.err)
        let probe = try runEmbryo(["probe", "--run", path("p"), "--probes", "knowledge", "--facts", path("facts")])
        XCTAssertEqual(probe.code, 1, probe.err)
        XCTAssertTrue(probe.err.contains("relations.jsonl:1") && probe.err.contains("cannot be a path"), probe.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("p/probes/facts.jsonl")))
    }
}

extension SurfaceReliabilityTests {
    func testASuiteManifestIsCheckedWhenReadBack() throws {
        let r = try recipe()
        let p = try runEmbryo(["pretrain"] + r + ["--seeds", "1-2", "--prepare", "--out", path("s")])
        XCTAssertEqual(p.code, 0, p.err)
        let url = URL(fileURLWithPath: path("s/suite.json"))
        let good = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        for (edit, message) in [
            ({ (o: inout [String: Any]) in o["seeds"] = [1, 1] }, "names a seed twice"),
            ({ (o: inout [String: Any]) in o["jobs"] = 0 }, "'jobs' must be between 1 and 1024"),
            (
                { (o: inout [String: Any]) in
                    var recipe = o["recipe"] as! [String: Any]
                    recipe["steps"] = true
                    o["recipe"] = recipe
                }, "should be Int"
            ),
        ] as [((inout [String: Any]) -> Void, String)] {
            var o = good
            edit(&o)
            try JSONSerialization.data(withJSONObject: o).write(to: url)
            let res = try runEmbryo(["pretrain", "--resume", path("s")])
            XCTAssertEqual(res.code, 1, res.err)
            XCTAssertTrue(res.err.contains("suite.json: ") && res.err.contains(message), res.err)
            XCTAssertFalse(exists("s/seed-1/run.json"))
        }
    }

    func testExtremeValuesAreRefusedBeforeArithmetic() throws {
        let r = try recipe()
        for (args, message) in [
            (["--lr", "1e308"], "--lr must be in (0, 100]"),
            (["--world-tokens", "9223372036854775807"], "--world-tokens must be between"),
        ] {
            let res = try runEmbryo(["pretrain"] + r.filter { $0 != "--corpus" && $0 != path("w/train.txt") } + args)
            XCTAssertEqual(res.code, 64, "\(args): \(res.err)")
            XCTAssertTrue(res.err.contains(message), res.err)
        }
    }
}

extension SurfaceReliabilityTests {
    func testASuiteReplacedWithForceKeepsAMemberItsNewRecipeReads() throws {
        let r = try recipe()
        let s = try runEmbryo(["pretrain"] + r + ["--seeds", "1", "--out", path("s")])
        XCTAssertEqual(s.code, 0, s.err)
        let vocab = path("s/seed-1/tokenizer/vocab.txt")
        let again = try runEmbryo(
            ["pretrain"] + r.filter { $0 != "--vocab-size" && $0 != "300" }
                + ["--vocab", vocab, "--seeds", "1-2", "--out", path("s"), "--force"])
        XCTAssertEqual(again.code, 64, again.err)
        XCTAssertTrue(again.err.contains("reads from"), again.err)
        XCTAssertTrue(exists("s/seed-1/run.json") && FileManager.default.fileExists(atPath: vocab))
    }
}

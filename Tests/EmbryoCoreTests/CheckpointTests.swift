// Checkpoint I/O: safetensors round trips bit-exactly, HF directories load, and every kind of
// malformed file is rejected with an error naming the file and the problem (never a crash).

import EmbryoCore
import EmbryoTestSupport
import Foundation
import XCTest

final class CheckpointTests: ScratchDirectoryTestCase {
    /// Raw safetensors bytes from a header JSON string and a data section.
    func raw(_ header: String, data: [UInt8], lengthOverride: UInt64? = nil) -> Data {
        var d = Data()
        var n = (lengthOverride ?? UInt64(header.utf8.count)).littleEndian
        withUnsafeBytes(of: &n) { d.append(contentsOf: $0) }
        d.append(Data(header.utf8))
        d.append(contentsOf: data)
        return d
    }

    func assertRejects(_ data: Data, _ fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SafetensorsFile(data: data, path: "bad.safetensors"), file: file, line: line) { e in
            let s = "\(e)"
            XCTAssertTrue(
                s.contains("bad.safetensors") && s.contains(fragment), "message was: \(s)", file: file, line: line)
        }
    }

    func testMalformedFilesAreRejected() {
        let eight = [UInt8](repeating: 0, count: 8)
        assertRejects(Data([1, 2, 3]), "shorter than the 8-byte header")
        assertRejects(raw("{}", data: [], lengthOverride: 1000), "runs past the end")
        assertRejects(raw("[1,2]", data: []), "not a JSON object")
        assertRejects(raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,16]}}", data: eight), "outside")
        assertRejects(raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", data: eight), "needs 12")
        assertRejects(
            raw("{\"a\":{\"dtype\":\"X9\",\"shape\":[2],\"data_offsets\":[0,8]}}", data: eight), "unknown dtype")
        assertRejects(
            raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,8]}}", data: eight), "invalid shape")
        assertRejects(raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", data: eight), "outside")
        assertRejects(
            raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", data: eight), "data_offsets")
        assertRejects(
            raw(
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                    + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", data: eight), "overlap")
        assertRejects(raw("{\"__metadata__\":{\"k\":1}}", data: []), "not a string")
    }

    func testRoundTripIsBitExact() throws {
        let model = try Albert(config: tinyConfig(groups: 2))
        model.initializeWeights(seed: 3)
        let dir = tmp.appendingPathComponent("step-000001")
        try model.save(to: dir, metadata: ["step": "1"])
        let back = try Albert.load(from: dir)
        XCTAssertEqual(back.config, model.config)
        XCTAssertEqual(memcmp(back.params.pointer, model.params.pointer, model.params.count * 4), 0)
        let file = try SafetensorsFile(url: dir.appendingPathComponent("model.safetensors"))
        XCTAssertEqual(file.metadata["step"], "1")
        XCTAssertNil(file.entries["predictions.decoder.weight"], "the tied decoder is not stored")
        XCTAssertEqual(
            file.entries["albert.encoder.albert_layer_groups.1.albert_layers.0.ffn.weight"]?.shape, [20, 12])
        // no temporary files are left behind
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        XCTAssertEqual(names, ["config.json", "model.safetensors"])
    }

    func testLoadingChecksTensorsAgainstConfig() throws {
        let model = try Albert(config: tinyConfig())
        model.initializeWeights(seed: 4)
        let dir = tmp.appendingPathComponent("m")
        try model.save(to: dir)
        let st = dir.appendingPathComponent("model.safetensors")
        func expectLoadError(_ fragment: String, line: UInt = #line) {
            XCTAssertThrowsError(try Albert.load(from: dir), line: line) { e in
                XCTAssertTrue("\(e)".contains(fragment), "message was: \(e)", line: line)
            }
        }
        // shape mismatch: a config with a different hidden size
        var cfg = tinyConfig()
        cfg.intermediateSize = 24
        try cfg.save(dir.appendingPathComponent("config.json"))
        expectLoadError("expected [24, 12]")
        // unshared tensors in the file, shared config: an unexpected tensor
        let unshared = try Albert(config: tinyConfig(groups: 2))
        try unshared.save(to: dir)
        try tinyConfig().save(dir.appendingPathComponent("config.json"))
        expectLoadError("unexpected tensor")
        // missing tensor, and a wrong dtype
        let pos = "albert.embeddings.position_embeddings.weight"
        try writeSafetensors(
            model.layout.tensors.filter { $0.name != pos }.map {
                (name: $0.name, shape: $0.shape, data: UnsafePointer(model.params.pointer + $0.offset))
            }, metadata: [:], to: st)
        expectLoadError("missing tensor '\(pos)'")
        var data = try Data(contentsOf: st)
        try model.save(to: dir)
        data = try Data(contentsOf: st)
        let text = String(decoding: data, as: UTF8.self)
        let patched = text.replacingOccurrences(
            of: "\"dtype\":\"F32\",\"shape\":[16,8]", with: "\"dtype\":\"I32\",\"shape\":[16,8]")
        try Data(patched.utf8).write(to: st)
        expectLoadError("has dtype I32, expected F32")
        // a config that is not JSON, and one with an impossible shape
        try Data("{ not json".utf8).write(to: dir.appendingPathComponent("config.json"))
        expectLoadError("config.json: not a valid ALBERT or BERT config.json")
        try Data("{\"hidden_size\": 12, \"num_attention_heads\": 5}".utf8).write(
            to: dir.appendingPathComponent("config.json"))
        expectLoadError("not a multiple of num_attention_heads")
        // a truncated weights file
        try model.save(to: dir)
        let full = try Data(contentsOf: st)
        try full.prefix(full.count / 2).write(to: st)
        expectLoadError("model.safetensors: not a valid safetensors file")
    }

    func testConfigJsonUsesHuggingFaceKeys() throws {
        let url = tmp.appendingPathComponent("config.json")
        try AlbertConfig.preset("small", vocabSize: 1000)!.save(url)
        let obj = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        XCTAssertEqual(obj["model_type"] as? String, "albert")
        XCTAssertEqual(obj["architectures"] as? [String], ["AlbertForPreTraining"])
        XCTAssertEqual(obj["embedding_size"] as? Int, 128)
        XCTAssertEqual(obj["num_hidden_groups"] as? Int, 1)
        XCTAssertEqual(obj["hidden_act"] as? String, "gelu_new")
        XCTAssertEqual(obj["layer_norm_eps"] as? Double, 1e-12)
        XCTAssertEqual(obj["vocab_size"] as? Int, 1000)
    }
}

final class CheckpointRobustnessTests: XCTestCase {
    /// Random byte flips, truncations and header edits of a valid file: each parse throws or succeeds,
    /// never crashes, and a file that parses still only yields in-range tensors.
    func testMutatedFilesNeverCrash() throws {
        let model = try Albert(config: tinyConfig())
        model.initializeWeights(seed: 1)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("embryo-fuzz-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: url) }
        try model.save(to: url)
        let valid = try Data(contentsOf: url.appendingPathComponent("model.safetensors"))
        var rng = Rng(seed: 77)
        var parsed = 0
        for i in 0..<600 {
            var d = valid
            switch i % 3 {
            case 0:
                for _ in 0..<(1 + rng.below(4)) {
                    let at = rng.below(min(d.count, 4096))  // mostly the header and its length
                    d[at] = UInt8(rng.below(256))
                }
            case 1:
                d = d.prefix(rng.below(d.count))
            default:
                let at = 8 + rng.below(900)
                d[at] = [UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "]"), UInt8(ascii: "\"")][rng.below(4)]
            }
            guard let f = try? SafetensorsFile(data: d, path: "m.safetensors") else { continue }
            parsed += 1
            let probe = try Albert(config: tinyConfig())
            _ = try? probe.loadWeights(f)
        }
        XCTAssertGreaterThan(parsed, 0)
    }

    func testHugeConfigFailsBeforeAllocating() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("embryo-huge-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try Albert(config: tinyConfig())
        try model.save(to: dir)
        var huge = tinyConfig()
        huge.vocabSize = 4_000_000_000
        try huge.save(dir.appendingPathComponent("config.json"))
        XCTAssertThrowsError(try Albert.load(from: dir)) { e in
            XCTAssertTrue(
                "\(e)".contains("vocab_size 4000000000 is beyond the engine's limit of 4194304"), "\(e)")
        }
    }
}

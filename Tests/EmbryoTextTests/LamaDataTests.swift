// LAMA's data folder and ParaRel's pattern files as their authors distribute them. The fixture under
// Fixtures/lama/data follows the layout and fields of LAMA's data.zip (relations.jsonl with the T-REx
// templates; TREx/P*.jsonl with uuid, URIs, labels and evidences; Google_RE/*_test.jsonl; ConceptNet/test.jsonl
// whose lines name the subject "sub"; Squad/test.jsonl), with one T-REx relation file left out as a partial
// download would. Fixtures/pararel holds patterns as ParaRel ships them (pattern, lemma, extended_lemma, tense).

import EmbryoCore
import EmbryoText
import Foundation
import XCTest

final class LamaDataTests: XCTestCase {
    var fixtures: URL { Bundle.module.url(forResource: "Fixtures", withExtension: nil)! }
    var data: URL { fixtures.appendingPathComponent("lama/data") }

    func testEverySubsetOfLamasDataFolder() throws {
        let d = try Lama.read(data.path)
        XCTAssertEqual(
            d.relations.map(\.name),
            [
                "TREx/P19", "TREx/P36", "Google_RE/date_of_birth", "Google_RE/place_of_birth", "ConceptNet/test",
                "Squad/test",
            ])
        XCTAssertEqual(d.relations.map(\.subset), ["TREx", "TREx", "Google_RE", "Google_RE", "ConceptNet", "Squad"])
        XCTAssertEqual(d.missing.map(\.name), ["TREx/P1412"])
        XCTAssertTrue(d.missing[0].file.hasSuffix("data/TREx/P1412.jsonl"), d.missing[0].file)
        let p19 = d.relations[0]
        XCTAssertEqual(p19.template, "[X] was born in [Y] .")
        XCTAssertEqual(p19.type, "N-1")
        XCTAssertEqual(p19.label, "place of birth")
        XCTAssertEqual(p19.facts.map(\.subject), ["alice", "bob", "carol"])
        XCTAssertEqual(p19.facts.map(\.object), ["paris", "rome", "paris"])
        // the masked-sentence subsets keep their own sentences and labels, with no template
        let google = d.relations[3]
        XCTAssertNil(google.template)
        XCTAssertEqual(google.facts[0].maskedSentences, ["alice was born in [MASK] and moved to rome ."])
        XCTAssertEqual(google.facts[0].object, "paris")
        let concept = d.relations[4]
        XCTAssertEqual(concept.facts.map(\.subject), ["alive", "bird"])
        XCTAssertEqual(concept.facts.map(\.object), ["think", "fly"])
        XCTAssertEqual(d.relations[5].facts[0].maskedSentences, ["the capital of italy is [MASK] ."])
    }

    func testOneSubsetFolder() throws {
        let trex = try Lama.read(data.appendingPathComponent("TREx").path)
        XCTAssertEqual(trex.relations.map(\.name), ["TREx/P19", "TREx/P36"])
        XCTAssertEqual(trex.relations[1].template, "The capital of [X] is [Y] .")
        XCTAssertEqual(trex.missing.map(\.name), ["TREx/P1412"])
        let google = try Lama.read(data.appendingPathComponent("Google_RE").path)
        XCTAssertEqual(google.relations.map(\.name), ["Google_RE/date_of_birth", "Google_RE/place_of_birth"])
        XCTAssertEqual(try Lama.read(data.appendingPathComponent("Squad").path).relations.map(\.name), ["Squad/test"])
    }

    func testMissingAndUnrecognisedFolders() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("lama-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: tmp) }
        // a T-REx folder without LAMA's relations.jsonl above it
        let lone = tmp.appendingPathComponent("x/TREx")
        try FileManager.default.createDirectory(at: lone, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: data.appendingPathComponent("TREx/P19.jsonl"), to: lone.appendingPathComponent("P19.jsonl"))
        XCTAssertThrowsError(try Lama.read(lone.path)) {
            XCTAssertTrue("\($0)".contains("x/relations.jsonl: no such file: T-REx's templates"), "\($0)")
        }
        // a folder of something else
        let other = tmp.appendingPathComponent("other")
        try FileManager.default.createDirectory(at: other, withIntermediateDirectories: true)
        try "x\n".write(to: other.appendingPathComponent("notes.txt"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Lama.read(other.path)) {
            XCTAssertTrue("\($0)".contains("not LAMA data: expected relations.jsonl"), "\($0)")
        }
        // every relation file missing: an error naming the first, with the count
        let empty = tmp.appendingPathComponent("empty")
        try FileManager.default.createDirectory(
            at: empty.appendingPathComponent("TREx"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: data.appendingPathComponent("relations.jsonl"), to: empty.appendingPathComponent("relations.jsonl"))
        XCTAssertThrowsError(try Lama.read(empty.path)) {
            XCTAssertTrue(
                "\($0)".contains("TREx/P19.jsonl: no such file, nor any other relation's (3 missing)"), "\($0)")
        }
    }

    func testParaRelPatternsAndAFactsFolderWithoutTemplates() throws {
        let patterns = try ParaRel.loadPatterns(fixtures.appendingPathComponent("pararel").path)
        XCTAssertEqual(patterns["P19"]?.count, 3)
        XCTAssertEqual(patterns["P36"], ["The capital of [X] is [Y].", "[X]'s capital, [Y]."])
        // ParaRel's facts (trex_lms_vocab) are P*.jsonl with no relations.jsonl: the first pattern is the template
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("pararel-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: tmp) }
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: data.appendingPathComponent("TREx/P19.jsonl"), to: tmp.appendingPathComponent("P19.jsonl"))
        let d = try Lama.read(tmp.path, patterns: patterns)
        XCTAssertEqual(d.relations.map(\.name), ["P19"])
        XCTAssertEqual(d.relations[0].template, "[X] was born in [Y].")
        XCTAssertEqual(d.missing.map(\.name), ["P36"])
        // a pattern without both slots names its file and line
        let bad = tmp.appendingPathComponent("patterns")
        try FileManager.default.createDirectory(at: bad, withIntermediateDirectories: true)
        try """
        {"pattern": "[X] was born in [Y]."}
        {"pattern": "[X] was born.", "tense": "past"}

        """.write(to: bad.appendingPathComponent("P20.jsonl"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ParaRel.loadPatterns(bad.path)) {
            XCTAssertTrue("\($0)".contains("P20.jsonl:2: a pattern needs one [X] and one [Y]"), "\($0)")
        }
    }
}

// Readers on hand-written snippets in the real formats, including the awkward cases: CoNLL-U multi-word
// tokens, empty nodes, comments and SpaceAfter=No; LAMA directory, flat and masked-sentence layouts;
// GLUE TSV. Malformed input names the file and line.

import EmbryoCore
import EmbryoTestSupport
import EmbryoText
import Foundation
import XCTest

final class ConllUTests: XCTestCase {
    let french = """
        # sent_id = fr-1
        # text = Il va au marché.
        1\tIl\til\tPRON\t_\tPerson=3\t2\tnsubj\t_\t_
        2\tva\taller\tVERB\t_\t_\t0\troot\t_\t_
        3-4\tau\t_\t_\t_\t_\t_\t_\t_\t_
        3\tà\tà\tADP\t_\t_\t5\tcase\t_\t_
        4\tle\tle\tDET\t_\t_\t5\tdet\t_\t_
        5\tmarché\tmarché\tNOUN\t_\t_\t2\tobl\t_\tSpaceAfter=No
        5.1\tgone\t_\t_\t_\t_\t_\t_\t2:ref\t_
        6\t.\t.\tPUNCT\t_\t_\t2\tpunct\t_\t_

        1\tYes\tyes\tINTJ\tUH\t_\t0\troot\t_\tSpaceAfter=No
        2\t!\t!\tPUNCT\t.\t_\t1\tpunct\t_\t_
        """

    func testMultiwordEmptyNodesAndSpaceAfter() throws {
        let s = try ConllU.parse(french, path: "fr.conllu")
        XCTAssertEqual(s.count, 2)
        XCTAssertEqual(s[0].sentId, "fr-1")
        XCTAssertEqual(s[0].words.count, 6, "the empty node 5.1 is not a word")
        XCTAssertEqual(s[0].multiwords, [ConllMultiword(first: 3, last: 4, form: "au", spaceAfter: true)])
        XCTAssertEqual(s[0].surfaceText, "Il va au marché.")
        var noText = s[0]
        noText.text = nil
        XCTAssertEqual(noText.surfaceText, "Il va au marché.", "rebuilt from the multi-word form and SpaceAfter=No")
        XCTAssertEqual(s[1].surfaceText, "Yes!")
        XCTAssertNil(s[1].sentId)
    }

    func expectError(_ text: String, _ fragment: String, line: UInt = #line) {
        XCTAssertThrowsError(try ConllU.parse(text, path: "bad.conllu"), line: line) { e in
            XCTAssertTrue("\(e)".contains(fragment), "message was: \(e)", line: line)
        }
    }

    func testMalformedInput() {
        expectError("1\tA\ta\tX\n", "bad.conllu:1: expected 10 tab-separated columns, found 4")
        expectError(
            "1\tA\ta\tX\t_\t_\t0\troot\t_\t_\n3\tB\tb\tX\t_\t_\t1\tdep\t_\t_\n",
            "bad.conllu:2: word id 3 out of order: expected 2")
        expectError("1\tA\ta\tX\t_\t_\t0\troot\t_\t_\n2\tB\tb\tX\t_\t_\t7\tdep\t_\t_\n", "HEAD 7 beyond the 2 words")
        expectError("1\tA\ta\tX\t_\t_\t0\troot\t_\t_\n2\tB\tb\tX\t_\t_\t0\troot\t_\t_\n", "2 words have HEAD 0")
        expectError(
            "1\tA\ta\tX\t_\t_\t2\tdep\t_\t_\n2\tB\tb\tX\t_\t_\t1\tdep\t_\t_\n3\tC\tc\tX\t_\t_\t0\troot\t_\t_\n",
            "on a cycle")
        expectError("1\tA\ta\tX\t_\t_\tx\troot\t_\t_\n", "bad.conllu:1: invalid HEAD 'x'")
        expectError("2-1\tAB\t_\t_\t_\t_\t_\t_\t_\t_\n", "invalid multi-word token range '2-1'")
        expectError("1\tA\ta\tX\t_\t_\t0\troot\t_\t_\n2-3\tBC\t_\t_\t_\t_\t_\t_\t_\t_\n", "runs past word 1")
    }
}

final class LamaAndTsvTests: ScratchDirectoryTestCase {
    func write(_ name: String, _ text: String) throws -> URL {
        let u = tmp.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: u.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: u, atomically: true, encoding: .utf8)
        return u
    }

    func testLamaDirectoryFlatAndMaskedSentences() throws {
        _ = try write(
            "trex/relations.jsonl",
            """
            {"relation": "P19", "template": "[X] was born in [Y] .", "label": "place of birth", "type": "N-1"}
            {"relation": "P36", "template": "The capital of [X] is [Y] .", "label": "capital", "type": "1-1"}
            """)
        _ = try write("trex/P19.jsonl", "{\"sub_label\": \"Allan Peiper\", \"obj_label\": \"Alexandra\"}\n\n")
        _ = try write("trex/P36.jsonl", "{\"obj_label\": \"Paris\", \"sub_label\": \"France\", \"count\": 3}\n")
        let dir = try Lama.load(tmp.appendingPathComponent("trex").path)
        XCTAssertEqual(dir.map(\.name), ["P19", "P36"])
        XCTAssertEqual(
            dir[0].facts, [LamaFact(subject: "Allan Peiper", object: "Alexandra", count: nil, maskedSentences: [])])
        XCTAssertEqual(dir[1].facts[0].count, 3)
        XCTAssertEqual(dir[1].type, "1-1")

        let flat = try write(
            "flat.jsonl",
            """
            {"sub_label": "Dante", "obj_label": "Florence", "template": "[X] was born in [Y] ."}
            {"sub_label": "Rome", "obj_label": "Italy", "template": "[X] is the capital of [Y] ."}
            {"sub_label": "Verdi", "obj_label": "Busseto", "template": "[X] was born in [Y] ."}
            """)
        let f = try Lama.load(flat.path)
        XCTAssertEqual(f.map(\.facts.count), [2, 1])
        let google = try write(
            "google.jsonl",
            """
            {"pred": "/people/person/place_of_birth", "sub_label": "Khatchig Mouradian", "obj_label": "Lebanon", "masked_sentences": ["Khatchig Mouradian was born in [MASK] ."]}
            """)
        XCTAssertEqual(
            try Lama.load(google.path)[0].facts[0].maskedSentences, ["Khatchig Mouradian was born in [MASK] ."])

        let bad = try write(
            "bad.jsonl", "{\"sub_label\": \"A\", \"obj_label\": \"B\", \"template\": \"[X] [Y]\"}\nnot json\n")
        XCTAssertThrowsError(try Lama.load(bad.path)) {
            XCTAssertTrue("\($0)".contains("bad.jsonl:2: not a JSON object"), "\($0)")
        }
        let noY = try write(
            "ny.jsonl",
            "{\"sub_label\": \"A\", \"obj_label\": \"B\", \"template\": \"[X] [Y]\"}\n"
                + "{\"sub_label\": \"C\", \"obj_label\": \"D\", \"template\": \"[X] is here\"}\n")
        XCTAssertThrowsError(try Lama.load(noY.path)) {
            XCTAssertTrue("\($0)".contains("ny.jsonl:2: template must contain [X] and [Y]"), "\($0)")
        }
        let noTemplate = try write("nt.jsonl", "{\"sub_label\": \"A\", \"obj_label\": \"B\"}\n")
        XCTAssertThrowsError(try Lama.load(noTemplate.path)) {
            XCTAssertTrue("\($0)".contains("nt.jsonl:1: a flat LAMA file needs"), "\($0)")
        }
        _ = try write("broken/relations.jsonl", "{\"relation\": \"P1\", \"template\": \"no slots\"}\n")
        XCTAssertThrowsError(try Lama.load(tmp.appendingPathComponent("broken").path)) {
            XCTAssertTrue("\($0)".contains("relations.jsonl:1: template must contain [X] and [Y]"), "\($0)")
        }
        _ = try write("missing/relations.jsonl", "{\"relation\": \"P9\", \"template\": \"[X] in [Y] .\"}\n")
        XCTAssertThrowsError(try Lama.load(tmp.appendingPathComponent("missing").path)) {
            XCTAssertTrue("\($0)".contains("P9.jsonl: no such file"), "\($0)")
        }
    }

    func testTsv() throws {
        let sst = try write(
            "SST-2/dev.tsv", "sentence\tlabel\nit 's a charming journey . \t1\r\nunflinchingly bleak\t0\n")
        let t = try Tsv.read(sst, header: true)
        XCTAssertEqual(t.header, ["sentence", "label"])
        XCTAssertEqual(t.rows, [["it 's a charming journey . ", "1"], ["unflinchingly bleak", "0"]])
        XCTAssertEqual(t.lines, [2, 3])
        XCTAssertEqual(t.column("label"), 1)
        let cola = try write("CoLA/train.tsv", "gj04\t1\t\tOur friends won't buy this analysis.\nbad row\n")
        XCTAssertThrowsError(try Tsv.read(cola, header: false)) {
            XCTAssertTrue("\($0)".contains("train.tsv:2: expected 4 tab-separated columns, found 1"), "\($0)")
        }
        XCTAssertThrowsError(try Tsv.read(try write("empty.tsv", "\n"), header: true)) {
            XCTAssertTrue("\($0)".contains("empty table"))
        }
    }
}

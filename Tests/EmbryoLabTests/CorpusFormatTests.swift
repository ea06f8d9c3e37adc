// Corpora as people store them: the same documents as plain text, gzip-compressed text, JSON Lines with a
// chosen text field and gzip-compressed JSON Lines give the same tokenized corpus (tokens, sentences and
// document boundaries); damaged files and missing fields are errors with file and line.

import EmbryoCore
import EmbryoLab
import EmbryoRun
import EmbryoTestSupport
import EmbryoText
import Foundation
import XCTest

final class CorpusFormatTests: ScratchDirectoryTestCase {
    let documents = [
        ["the cat sees a bird .", "a dog walked in paris ."], ["alice lives in paris ."],
        ["the bird sees the cat .", "the dog sees alice .", "a cat walked ."],
    ]

    func gzip(_ name: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = [
            "-c", "gzip -c '\(tmp.appendingPathComponent(name).path)' > '\(tmp.appendingPathComponent(name).path).gz'",
        ]
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        return tmp.appendingPathComponent(name + ".gz").path
    }

    func write(_ name: String, _ text: String) throws -> String {
        try text.write(to: tmp.appendingPathComponent(name), atomically: true, encoding: .utf8)
        return tmp.appendingPathComponent(name).path
    }

    func events(_ paths: [String], field: String? = nil) throws -> [String?] {
        var out: [String?] = []
        try TokenizedCorpus.forEachSentence(try TokenizedCorpus.describe(paths, textField: field)) { out.append($0) }
        return out
    }

    func testTextGzipAndJsonLinesGiveTheSameCorpus() throws {
        let text = try write("c.txt", documents.map { $0.joined(separator: "\n") }.joined(separator: "\n\n") + "\n")
        let records = try documents.enumerated().map { i, d -> String in
            let o: [String: Any] = ["id": i, "body": d.joined(separator: "\n"), "meta": ["lang": "en"]]
            return String(decoding: try JSONSerialization.data(withJSONObject: o), as: UTF8.self)
        }
        // a blank line between records is allowed; a record with only whitespace adds no document
        let jsonl = try write("c.jsonl", records.joined(separator: "\n\n") + "\n{\"body\": \"  \\n \"}\n")
        let expected: [String?] = documents.flatMap { d in d.map { Optional($0) } + [nil] }
        XCTAssertEqual(try events([text]), expected)
        XCTAssertEqual(try events([try gzip("c.txt")]), expected)
        XCTAssertEqual(try events([jsonl], field: "body"), expected)
        XCTAssertEqual(try events([try gzip("c.jsonl")], field: "body"), expected)
        // the token cache key depends on the field read, not only the bytes
        let a = try TokenizedCorpus.describe([jsonl], textField: "body")[0]
        let b = try TokenizedCorpus.describe([jsonl], textField: "title")[0]
        XCTAssertEqual(a.hash, b.hash)
        XCTAssertNotEqual(a.key, b.key)
        XCTAssertEqual(try TokenizedCorpus.describe([text])[0].key, try TokenizedCorpus.describe([text])[0].hash)
        // and the tokenized corpora are equal
        let tok = WordPieceTokenizer(
            vocab: try Vocabulary(
                tokens: Vocabulary.specialTokens + [
                    "the", "cat", "sees", "a", "bird", ".", "dog", "walk", "##ed", "in", "paris", "alice", "lives",
                ]), lowercase: true)
        let c1 = try TokenizedCorpus.build(try TokenizedCorpus.describe([text]), tokenizer: tok)
        let c2 = try TokenizedCorpus.build(
            try TokenizedCorpus.describe([tmp.appendingPathComponent("c.jsonl.gz").path], textField: "body"),
            tokenizer: tok)
        XCTAssertEqual(Array(c1.tokens), Array(c2.tokens))
        XCTAssertEqual(Array(c1.sentenceStarts), Array(c2.sentenceStarts))
        XCTAssertEqual(Array(c1.documentStarts), Array(c2.documentStarts))
        XCTAssertEqual(c1.documentCount, 3)
        // a directory expands to its corpus files, compressed ones included
        XCTAssertEqual(
            try TokenizedCorpus.describe([tmp.path]).map { URL(fileURLWithPath: $0.path).lastPathComponent },
            ["c.jsonl", "c.jsonl.gz", "c.txt", "c.txt.gz"])
    }

    func testJsonLinesSplitAtAnyLineBreak() throws {
        let jsonl = try write("crlf.jsonl", "{\"text\": \"a cat .\\r\\nthe dog .\\ra bird .\"}\n")
        XCTAssertEqual(try events([jsonl]), ["a cat .", "the dog .", "a bird .", nil])
    }

    func testDamagedFilesAndMissingFieldsNameFileAndLine() throws {
        let jsonl = try write("r.jsonl", "{\"text\": \"a cat .\"}\n{\"title\": \"x\"}\n")
        XCTAssertThrowsError(try events([jsonl])) {
            XCTAssertTrue("\($0)".contains("r.jsonl:2: no field 'text' (the record has title)"), "\($0)")
        }
        _ = try write("n.jsonl", "{\"text\": 3}\n")
        XCTAssertThrowsError(try events([tmp.appendingPathComponent("n.jsonl").path])) {
            XCTAssertTrue("\($0)".contains("n.jsonl:1: field 'text' is not a string"), "\($0)")
        }
        _ = try write("a.jsonl", "[1, 2]\n")
        XCTAssertThrowsError(try events([tmp.appendingPathComponent("a.jsonl").path])) {
            XCTAssertTrue("\($0)".contains("a.jsonl:1: not a JSON object"), "\($0)")
        }
        // a gzip file cut short
        _ = try write("t.txt", String(repeating: "the cat sees a bird .\n", count: 2000))
        let gz = try gzip("t.txt")
        let whole = try Data(contentsOf: URL(fileURLWithPath: gz))
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: gz))
        XCTAssertThrowsError(try events([gz])) {
            XCTAssertTrue("\($0)".contains("t.txt.gz: not a valid gzip file"), "\($0)")
        }
        // not gzip at all
        let fake = try write("f.txt.gz", "plain text\n")
        XCTAssertThrowsError(try events([fake])) {
            XCTAssertTrue("\($0)".contains("f.txt.gz: not a gzip file (no gzip header)"), "\($0)")
        }
    }
}

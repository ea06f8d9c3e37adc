// embryo's WordPiece tokenizer against HF tokenizers: goldens made by Scripts/make-tokenizer-fixtures.py
// on vocabularies embryo learned (uncased and cased), over a corpus and a file of hard cases. Ids,
// offsets (Unicode scalars) and word indices must match on every line.

import EmbryoCore
import EmbryoText
import Foundation
import XCTest

enum TextFixtures {
    static var root: URL {
        Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("tokenizer")
    }

    /// Lines of a file split on "\n" only, as bytes (so "\r" and every control byte survive).
    static func lines(_ name: String) throws -> [[UInt8]] {
        let data = try Data(contentsOf: root.appendingPathComponent(name))
        return data.split(separator: 0x0A, omittingEmptySubsequences: false).map { Array($0) }
    }
}

struct Golden: Decodable {
    let ids: [Int32]
    let offsets: [[Int32]]
    let words: [Int32?]
}

final class TokenizerGoldenTests: XCTestCase {
    func check(kind: String, text: String) throws {
        let tok = try WordPieceTokenizer.load(vocab: TextFixtures.root.appendingPathComponent("\(kind)/vocab.txt"))
        XCTAssertEqual(tok.lowercase, kind == "uncased")
        let lines = try TextFixtures.lines("\(text).txt")
        let goldenData = try Data(contentsOf: TextFixtures.root.appendingPathComponent("\(kind)/golden-\(text).jsonl"))
        let goldens = try goldenData.split(separator: 0x0A).map {
            try JSONDecoder().decode(Golden.self, from: Data($0))
        }
        XCTAssertEqual(lines.count, goldens.count, "line count")
        var enc = Encoding()
        var tokens = 0
        for (n, (line, g)) in zip(lines, goldens).enumerated() {
            line.withUnsafeBufferPointer { tok.encode(bytes: $0, into: &enc) }
            tokens += enc.count
            let label = "\(kind) \(text).txt:\(n + 1)"
            guard enc.ids == g.ids else {
                XCTFail("\(label): ids\n  embryo \(tok.tokens(enc.ids))\n  HF     \(tok.tokens(g.ids))")
                continue
            }
            XCTAssertEqual(enc.start, g.offsets.map { $0[0] }, "\(label): offsets")
            XCTAssertEqual(enc.end, g.offsets.map { $0[1] }, "\(label): offsets")
            XCTAssertEqual(enc.wordIndex, g.words.map { $0 ?? -1 }, "\(label): words")
        }
        XCTAssertGreaterThan(tokens, 100)
    }

    func testUncasedHardCases() throws { try check(kind: "uncased", text: "hard-cases") }
    func testUncasedCorpus() throws { try check(kind: "uncased", text: "corpus") }
    func testCasedHardCases() throws { try check(kind: "cased", text: "hard-cases") }
    func testCasedCorpus() throws { try check(kind: "cased", text: "corpus") }
}

// The token file: a memory-mapped corpus gives the same batches as the in-memory one, and a vocabulary
// beyond 16 bits is stored as 32-bit ids.

import EmbryoCore
import EmbryoLab
import EmbryoRun
import EmbryoTestSupport
import EmbryoText
import Foundation
import XCTest

final class TokenFileTests: ScratchDirectoryTestCase {
    func testTokenFileGivesTheSameBatchesAsTheInMemoryCorpus() throws {
        let (inMemory, tok) = try maker()
        let sources = try TokenizedCorpus.describe([tmp.appendingPathComponent("world/train.txt").path])
        let file = tmp.appendingPathComponent("tokens.bin")
        try TokenizedCorpus.write(sources, tokenizer: tok, to: file)
        let mapped = try TokenizedCorpus.load(file)
        XCTAssertTrue(mapped.isMapped)
        XCTAssertFalse(inMemory.corpus.isMapped)
        XCTAssertTrue(mapped.tokens.elementsEqual(inMemory.corpus.tokens))
        XCTAssertTrue(mapped.sentenceStarts.elementsEqual(inMemory.corpus.sentenceStarts))
        XCTAssertTrue(mapped.documentStarts.elementsEqual(inMemory.corpus.documentStarts))
        // 16-bit ids for a vocabulary that fits: 2 bytes a token
        let size = try FileManager.default.attributesOfItem(atPath: file.path)[.size] as! Int
        XCTAssertEqual(
            size, 64 + (mapped.tokens.count * 2 + 7) / 8 * 8 + 8 * (mapped.sentenceCount + mapped.documentCount + 2))
        // saving the in-memory corpus gives the same file
        let saved = tmp.appendingPathComponent("saved.bin")
        try inMemory.corpus.save(saved)
        XCTAssertEqual(try Data(contentsOf: saved), try Data(contentsOf: file))
        // the same batches, bit for bit, training and held-out
        let m2 = try ExampleMaker(corpus: mapped, vocab: tok.vocab, seqLen: 64, seed: 5)
        XCTAssertEqual(m2.trainStarts, inMemory.trainStarts)
        XCTAssertEqual(m2.evalStarts, inMemory.evalStarts)
        for eval in [false, true] {
            for step in [0, 1, 7, 1000] {
                let a = AlbertBatch(B: 16, T: 64), b = AlbertBatch(B: 16, T: 64)
                inMemory.fill(a, step: step, eval: eval)
                m2.fill(b, step: step, eval: eval)
                for i in 0..<(16 * 64) {
                    XCTAssertEqual(a.ids[i], b.ids[i])
                    XCTAssertEqual(a.mlmLabels[i], b.mlmLabels[i])
                    XCTAssertEqual(a.tokenTypes[i], b.tokenTypes[i])
                }
                XCTAssertEqual((0..<16).map { a.sopLabels[$0] }, (0..<16).map { b.sopLabels[$0] })
            }
        }
        XCTAssertEqual(m2.trainingLogUnigram(), inMemory.trainingLogUnigram())
        // a cache in the first format (runs made before the token file) still loads
        var v1 = Data("EMBRYOTC".utf8)
        let c = inMemory.corpus
        for v in [1, c.tokens.count, c.sentenceStarts.count, c.documentStarts.count] {
            withUnsafeBytes(of: Int64(v).littleEndian) { v1.append(contentsOf: $0) }
        }
        for col in [Array(c.tokens), c.sentenceStarts.map(Int32.init), c.documentStarts.map(Int32.init)] {
            col.withUnsafeBytes { v1.append(contentsOf: $0) }
        }
        let old = tmp.appendingPathComponent("v1.bin")
        try v1.write(to: old)
        let loaded = try TokenizedCorpus.load(old)
        XCTAssertTrue(loaded.tokens.elementsEqual(c.tokens))
        XCTAssertTrue(loaded.sentenceStarts.elementsEqual(c.sentenceStarts))
        XCTAssertTrue(loaded.documentStarts.elementsEqual(c.documentStarts))
        // a cut file is refused
        let whole = try Data(contentsOf: file)
        try whole.prefix(whole.count - 8).write(to: file)
        XCTAssertThrowsError(try TokenizedCorpus.load(file)) {
            XCTAssertTrue("\($0)".contains("not a valid token cache"), "\($0)")
        }
    }

    func testTokenFileHolds32BitIdsForALargeVocabulary() throws {
        // a vocabulary past 65,536 tokens, and a corpus that uses the last ones
        let words = (0..<70_000).map { "w\($0)" }
        let tok = WordPieceTokenizer(vocab: try Vocabulary(tokens: Vocabulary.specialTokens + words), lowercase: true)
        let text = tmp.appendingPathComponent("big.txt")
        try "w1 w69999 w65536 .\nw7 w68000\n\nw69998 w3\n".write(to: text, atomically: true, encoding: .utf8)
        let sources = try TokenizedCorpus.describe([text.path])
        let file = tmp.appendingPathComponent("big.bin")
        try TokenizedCorpus.write(sources, tokenizer: tok, to: file)
        let mapped = try TokenizedCorpus.load(file), built = try TokenizedCorpus.build(sources, tokenizer: tok)
        XCTAssertTrue(mapped.tokens.elementsEqual(built.tokens))
        XCTAssertEqual(mapped.tokens.max(), tok.vocab.id("w69999"))
        XCTAssertEqual(Array(mapped.sentenceStarts), [0, 4, 6, 8])
        XCTAssertEqual(Array(mapped.documentStarts), [0, 2, 3])
    }
}

// WordPiece behaviour beyond the goldens: vocabulary validation, special tokens, the 100-scalar rule,
// invalid UTF-8 (replaced, reported, never a crash), decoding, and tokenizer_config.json.

import EmbryoCore
import EmbryoTestSupport
import EmbryoText
import Foundation
import XCTest

func makeVocab(_ extra: [String]) throws -> Vocabulary { try Vocabulary(tokens: Vocabulary.specialTokens + extra) }

final class TokenizerTests: ScratchDirectoryTestCase {
    func expectVocabError(_ text: String?, _ fragment: String, bytes: [UInt8]? = nil, line: UInt = #line) throws {
        let url = tmp.appendingPathComponent("vocab.txt")
        try? FileManager.default.removeItem(at: url)
        if let text { try Data(text.utf8).write(to: url) }
        if let bytes { try Data(bytes).write(to: url) }
        XCTAssertThrowsError(try Vocabulary.load(url), line: line) { e in
            XCTAssertTrue("\(e)".contains(fragment), "message was: \(e)", line: line)
        }
    }

    func testBadVocabulariesAreRejected() throws {
        try expectVocabError(nil, "vocab.txt: no such file")
        try expectVocabError("", "vocab.txt: the vocabulary is empty")
        try expectVocabError("[PAD]\n[UNK]\nhello\n", "missing special token(s) [CLS] [SEP] [MASK]")
        try expectVocabError(
            "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\nb\na\n", "vocab.txt:8: duplicate token 'a' (first on line 6)")
        try expectVocabError("[PAD]\n[UNK]\n\n[CLS]\n[SEP]\n[MASK]\n", "vocab.txt:3: empty token")
        try expectVocabError(nil, "not valid UTF-8", bytes: Array("[PAD]\n".utf8) + [0xFF, 0x0A])
        let dir = tmp.appendingPathComponent("adir.txt")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        XCTAssertThrowsError(try Vocabulary.load(dir)) { XCTAssertTrue("\($0)".contains("is a directory")) }
    }

    func testCanonicallyEquivalentTokensStayDistinct() throws {
        // NFC and NFD spellings of "é" are different tokens, as in HF; Swift's == would call them equal
        let v = try makeVocab(["\u{E9}", "e\u{301}", "e", "##\u{301}"])
        XCTAssertEqual(v.id("\u{E9}"), 5)
        XCTAssertEqual(v.id("e\u{301}"), 6)
        let tok = WordPieceTokenizer(vocab: v, lowercase: false)
        XCTAssertEqual(tok.encode("\u{E9} e\u{301}").ids, [5, 6])
        XCTAssertEqual(
            WordPieceTokenizer(vocab: try makeVocab(["e", "##\u{301}"]), lowercase: false).encode("e\u{301}").ids,
            [5, 6])
        XCTAssertTrue(Vocabulary.isContinuation("##\u{301}"))
        XCTAssertEqual(Vocabulary.stripContinuation("##\u{301}"), "\u{301}")
    }

    func testSpecialTokensAndWordLimit() throws {
        let v = try makeVocab(["the", "cap", "##ital", "is", ".", "a", "##a", "[", "]", "mask"])
        let tok = WordPieceTokenizer(vocab: v)
        XCTAssertEqual(
            tok.tokens(tok.encode("The capital is [MASK].").ids), ["the", "cap", "##ital", "is", "[MASK]", "."])
        XCTAssertEqual(tok.tokens(tok.encode("[mask] x").ids), ["[", "mask", "]", "[UNK]"])
        XCTAssertEqual(tok.encode(String(repeating: "a", count: 100)).count, 100)
        XCTAssertEqual(tok.tokens(tok.encode(String(repeating: "a", count: 101)).ids), ["[UNK]"])
        // a word with one unknown piece becomes a single [UNK] spanning the whole word
        let e = tok.encode("cap capz the")
        XCTAssertEqual(tok.tokens(e.ids), ["cap", "[UNK]", "the"])
        XCTAssertEqual(e.start, [0, 4, 9])
        XCTAssertEqual(e.end, [3, 8, 12])
        XCTAssertEqual(e.wordIndex, [0, 1, 2])
    }

    func testInvalidUTF8IsReplacedReportedAndDropped() throws {
        let v = try makeVocab(["ab", "cd"])
        let tok = WordPieceTokenizer(vocab: v)
        var e = Encoding()
        let bytes: [UInt8] = [0x61, 0x62, 0x20, 0xFF, 0x20, 0x63, 0x64, 0x20, 0xE2, 0x82, 0x20, 0xED, 0xA0, 0x80]
        bytes.withUnsafeBufferPointer { tok.encode(bytes: $0, into: &e) }
        XCTAssertEqual(tok.tokens(e.ids), ["ab", "cd"])
        XCTAssertEqual(e.invalidUTF8Offsets, [3, 8, 11, 12, 13])
        XCTAssertEqual(e.start, [0, 5])  // the invalid byte counts as one (replacement) scalar
        // a literal U+FFFD is not reported as invalid input
        let ok = tok.encode("ab \u{FFFD} cd")
        XCTAssertEqual(ok.invalidUTF8Offsets, [])
        XCTAssertEqual(tok.tokens(ok.ids), ["ab", "cd"])
    }

    func testRandomBytesNeverCrash() throws {
        let tok = try WordPieceTokenizer.load(vocab: TextFixtures.root.appendingPathComponent("uncased/vocab.txt"))
        var rng = Rng(seed: 3)
        var e = Encoding()
        for _ in 0..<2000 {
            let n = rng.below(64)
            let bytes = (0..<n).map { _ in UInt8(rng.below(256)) }
            bytes.withUnsafeBufferPointer { tok.encode(bytes: $0, into: &e) }
            XCTAssertEqual(e.ids.count, e.start.count)
            for k in 0..<e.count { XCTAssertLessThan(e.start[k], e.end[k]) }
        }
    }

    func testDecodeJoinsContinuations() throws {
        let v = try makeVocab(["the", "cap", "##ital", "is", "."])
        let tok = WordPieceTokenizer(vocab: v)
        let ids = tok.encode("The capital is [MASK] .").ids
        XCTAssertEqual(tok.decode(ids), "the capital is [MASK] .")
        XCTAssertEqual(tok.decode([v.clsId] + ids + [v.sepId], skipSpecialTokens: true), "the capital is .")
    }

    func testCaseHandlingFollowsConfigThenVocabulary() throws {
        let cased = try makeVocab(["Hello", "hello", "##s"])
        XCTAssertTrue(cased.looksCased)
        XCTAssertFalse(WordPieceTokenizer(vocab: cased).lowercase)
        let dir = tmp.appendingPathComponent("tok")
        try WordPieceTokenizer(vocab: cased, lowercase: true).save(to: dir)
        let loaded = try WordPieceTokenizer.load(vocab: dir.appendingPathComponent("vocab.txt"))
        XCTAssertTrue(loaded.lowercase, "tokenizer_config.json's do_lower_case wins over the guess")
        let cfg =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: dir.appendingPathComponent("tokenizer_config.json")))
            as! [String: Any]
        XCTAssertEqual(cfg["tokenizer_class"] as? String, "BertTokenizer")
        XCTAssertEqual(cfg["do_lower_case"] as? Bool, true)
        try Data("{\"do_lower_case\": true, \"strip_accents\": false}".utf8).write(
            to: dir.appendingPathComponent("tokenizer_config.json"))
        XCTAssertThrowsError(try WordPieceTokenizer.load(vocab: dir.appendingPathComponent("vocab.txt"))) {
            XCTAssertTrue("\($0)".contains("strip_accents false with do_lower_case true is not supported"), "\($0)")
        }
    }
}

final class VocabTrainerTests: XCTestCase {
    func train(_ text: String, size: Int, lowercase: Bool = true) -> [String] {
        let t = VocabTrainer(lowercase: lowercase)
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) { t.add(String(line)) }
        return t.train(size: size)
    }

    func testLayoutAndDeterminism() throws {
        let text = try String(contentsOf: TextFixtures.root.appendingPathComponent("corpus.txt"), encoding: .utf8)
        let a = train(text, size: 300), b = train(text, size: 300)
        XCTAssertEqual(a, b)
        XCTAssertEqual(a.count, 300)
        XCTAssertEqual(Array(a.prefix(5)), Vocabulary.specialTokens)
        // every character seen, plain and ##, right after the special tokens
        let tok = WordPieceTokenizer(vocab: try Vocabulary(tokens: a))
        var chars = Set<String>()
        for line in text.split(separator: "\n") {
            let e = tok.encode(String(line))
            XCTAssertFalse(e.ids.contains(tok.vocab.unkId), "no [UNK] on the training text: \(line)")
            for id in e.ids {
                for c in Vocabulary.stripContinuation(tok.vocab.token(id)).unicodeScalars { chars.insert(String(c)) }
            }
        }
        for c in chars {
            XCTAssertNotNil(tok.vocab.id(c), c)
            XCTAssertNotNil(tok.vocab.id("##" + c), c)
        }
        XCTAssertNotNil(tok.vocab.id("the"), "a frequent word is merged into one token")
    }

    func testMergesFollowPairFrequency() {
        let v = train(String(repeating: "low lower lowest newest widest\n", count: 10), size: 5 + 20 + 3)
        // alphabet d e i l n o r s t w (plain, then ##); l-##o, ##o-##w, ##w-##e, ##e-##s and ##s-##t all
        // occur 30 times: the smallest symbol ids win (l-##o, then ##e-##s), then lo-##w (30) beats ##w-##e (10)
        XCTAssertEqual(v.count, 28)
        XCTAssertEqual(Array(v[5..<15]), ["d", "e", "i", "l", "n", "o", "r", "s", "t", "w"])
        XCTAssertEqual(Array(v.suffix(3)), ["lo", "##es", "low"])
    }

    func testStopsWhenNoPairRepeats() {
        let v = train("ab\n", size: 100)
        XCTAssertEqual(v, Vocabulary.specialTokens + ["a", "b", "##a", "##b"])
    }
}

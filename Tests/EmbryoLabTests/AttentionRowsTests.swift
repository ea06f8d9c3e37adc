// The attention probe's packed rows: sentences packed in order into rows of a token budget with their
// words, heads and pieces shifted to their place, a sentence too long for the budget on its own row, and the
// implicit parse of a packed row read within each sentence (a hand-built map that finds every parent).

import EmbryoCore
import EmbryoLab
import EmbryoRun
import Foundation
import XCTest

final class AttentionRowsTests: XCTestCase {
    /// [CLS] pieces [SEP], one piece per word except where `split` gives a word two; heads as given.
    private func sentence(_ first: Int32, words n: Int, heads: [Int], split: Int? = nil) -> ProbeSentence {
        var ids: [Int32] = [2], words: [Range<Int>] = [], next = first
        for w in 0..<n {
            let pieces = w == split ? 2 : 1
            words.append(ids.count..<(ids.count + pieces))
            for _ in 0..<pieces {
                ids.append(next)
                next += 1
            }
        }
        ids.append(3)
        return ProbeSentence(
            text: "s\(first)", ids: ids, words: words, upos: Array(repeating: "NOUN", count: n),
            xpos: Array(repeating: "NN", count: n), heads: heads, deprels: heads.map { $0 == 0 ? "root" : "dep" },
            forms: (0..<n).map { "w\(first)-\($0)" })
    }

    func testSentencesArePackedInOrderWithEverythingShifted() {
        let a = sentence(10, words: 3, heads: [2, 0, 2], split: 1)  // 4 pieces
        let b = sentence(20, words: 2, heads: [0, 1])  // 2 pieces
        let c = sentence(30, words: 4, heads: [2, 0, 2, 3])  // 4 pieces
        // budget 8: [CLS] a b [SEP] is 8 tokens; c starts a row of its own
        let rows = AttentionProbe.rows([a, b, c], length: 8)
        XCTAssertEqual(rows.count, 2)
        XCTAssertEqual(rows[0].row.ids, [2, 10, 11, 12, 13, 20, 21, 3])
        XCTAssertEqual(rows[0].row.words, [1..<2, 2..<4, 4..<5, 5..<6, 6..<7])
        XCTAssertEqual(rows[0].row.heads, [2, 0, 2, 0, 4], "heads shifted by the words before, roots kept at 0")
        XCTAssertEqual(rows[0].row.forms, a.forms + b.forms)
        XCTAssertEqual(rows[0].parts.count, 2)
        XCTAssertEqual(rows[0].parts[1].words, [5..<6, 6..<7])
        XCTAssertEqual(rows[0].parts[1].heads, b.heads, "a part keeps its own heads")
        // every part's words point at its own pieces in the row
        for (row, original) in [(rows[0], [a, b]), (rows[1], [c])] {
            for (part, s) in zip(row.parts, original) {
                for (w, r) in part.words.enumerated() {
                    XCTAssertEqual(Array(row.row.ids[r]), Array(s.ids[s.words[w]]))
                }
            }
        }
        XCTAssertEqual(rows[1].row.ids, c.ids)
        // a sentence over the budget on its own still gets a row; no budget: one sentence per row
        XCTAssertEqual(AttentionProbe.rows([c, a], length: 4).map(\.parts.count), [1, 1])
        XCTAssertEqual(AttentionProbe.rows([a, b, c], length: nil).map(\.row.ids), [a.ids, b.ids, c.ids])
        XCTAssertEqual(AttentionProbe.rows([a, b, c], length: 100).count, 1)
    }

    func testTheParseOfAPackedRowStaysWithinEachSentence() {
        let a = sentence(10, words: 3, heads: [2, 0, 2], split: 1)
        let b = sentence(20, words: 3, heads: [0, 1, 1])
        let row = AttentionProbe.rows([a, b], length: 64)[0]
        let T = row.row.ids.count
        var att = [Float](repeating: 0, count: T * T)
        for q in 0..<T { att[q * T + T - 1] = 1 }  // [SEP] by default
        // each word's pieces look at its parent's first piece (the root at [SEP]), and with a larger weight
        // at the same position of the other sentence, which the within-sentence parse must not see
        for (part, other) in [(row.parts[0], row.parts[1]), (row.parts[1], row.parts[0])] {
            for (w, r) in part.words.enumerated() where part.heads[w] > 0 {
                for q in r {
                    att[q * T + T - 1] = 0
                    att[q * T + part.words[part.heads[w] - 1].lowerBound] = 0.4
                    att[q * T + other.words[min(w, other.words.count - 1)].lowerBound] = 0.6
                }
            }
        }
        var sums = [AttentionProbe.ParseSums](repeating: .init(), count: 1)
        att.withUnsafeBufferPointer { p in
            for part in row.parts {
                AttentionProbe.accumulateParse(p.baseAddress!, heads: 1, T: T, sentence: part, into: &sums)
            }
        }
        XCTAssertEqual(sums[0].hits[0], 4, "every one of the 4 arcs, in the dependent-to-head direction")
        XCTAssertEqual(sums[0].weight[0], 4 * 0.4, accuracy: 1e-6)
    }

    /// Uniform attention (queries and keys zero) over two copies of a sentence packed into one row of 10
    /// tokens: the parse finds what it finds in one sentence (by order), each weight is 1/10 instead of 1/6.
    func testUniformAttentionOverAPackedRow() throws {
        let (model, s) = (try AttentionProbeTests.uniformModel(), AttentionProbeTests.sentence)
        let single = try AttentionProbe.run(model: model, sentences: [s, s], sepId: 3, step: 0)
        let packed = try AttentionProbe.run(model: model, sentences: [s, s], sepId: 3, step: 0, packTo: 10)
        func value(_ ms: [ProbeMetric], _ k: String) -> Double { ms.first { $0.key == k }!.value }
        XCTAssertEqual(value(single, "row_tokens"), 6)
        XCTAssertEqual(value(packed, "row_tokens"), 10)
        XCTAssertEqual(value(packed, "uas/best"), value(single, "uas/best"))
        XCTAssertEqual(value(packed, "uas/best"), 1.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(value(packed, "uas/best/argmax_weight"), 1.0 / 10, accuracy: 1e-6)
        XCTAssertEqual(value(single, "uas/best/argmax_weight"), 1.0 / 6, accuracy: 1e-6)
        XCTAssertEqual(value(packed, "cls/layer_1/head_0"), 1.0 / 10, accuracy: 1e-6)
        XCTAssertEqual(value(packed, "gold_head/layer_2/head_1"), 1.0 / 10, accuracy: 1e-6)
        XCTAssertThrowsError(try AttentionProbe.run(model: model, sentences: [s], sepId: 3, step: 0, packTo: 513)) {
            XCTAssertTrue("\($0)".contains("at most 512 positions"), "\($0)")
        }
    }
}

// The implicit-parse score (Chen et al. 2024, after Clark et al. 2019): per head, a word's predicted parent is
// the word it attends to most, or in the transposed map the word attending to it most ([CLS], [SEP], itself
// left out; pieces merged, rows not renormalised). The single best (layer, head, direction) against the best
// fixed offset, and the weight its argmax reads (near 0, the parse is noise).

import EmbryoCore
import EmbryoRun
import Foundation

extension AttentionProbe {
    /// Fixed offsets of the baseline: the parent taken as the word `offset` places away.
    static let baselineOffsets = [-3, -2, -1, 1, 2]
    /// Relations scored on their own need at least this many arcs (root and punct never are).
    static let relationMinimumArcs = 100

    /// Per (layer, head), per direction (0: dependent to head, 1: head to dependent): arcs whose parent is
    /// the argmax, per relation too, the summed weight on the parent and the summed weight of the argmax.
    public struct ParseSums: Sendable {
        public var hits = [0, 0]
        public var weight = [0.0, 0.0]
        public var argmaxWeight = [0.0, 0.0]
        public var relationHits: [[String: Int]] = [[:], [:]]
        public init() {}
    }

    /// The word-to-word map of one head (T x T, row = query): row i is where word i looks (the mean over its
    /// pieces of their attention to each other word's pieces); [CLS], [SEP] and the word itself get 0.
    public static func wordMap(_ att: UnsafePointer<Float>, T: Int, words: [Range<Int>]) -> [[Double]] {
        let W = words.count
        var m = [[Double]](repeating: [Double](repeating: 0, count: W), count: W)
        for (i, from) in words.enumerated() {
            for j in 0..<W where j != i {
                var s = 0.0
                for q in from { for k in words[j] { s += Double(att[q * T + k]) } }
                m[i][j] = s / Double(from.count)
            }
        }
        return m
    }

    /// Adds one sentence's arcs under each head of one layer application (heads x T x T) to `sums`.
    public static func accumulateParse(
        _ att: UnsafePointer<Float>, heads: Int, T: Int, sentence s: ProbeSentence, into sums: inout [ParseSums]
    ) {
        let W = s.words.count
        guard W > 1 else { return }
        for h in 0..<heads {
            let m = wordMap(att + h * T * T, T: T, words: s.words)
            for w in 0..<W where s.heads[w] > 0 && s.heads[w] <= W {
                let parent = s.heads[w] - 1
                // direction 0: where w looks; direction 1: who looks at w
                for d in 0..<2 {
                    var best = -1, bestValue = -1.0
                    for j in 0..<W where j != w {
                        let v = d == 0 ? m[w][j] : m[j][w]
                        if v > bestValue { (best, bestValue) = (j, v) }
                    }
                    sums[h].weight[d] += d == 0 ? m[w][parent] : m[parent][w]
                    sums[h].argmaxWeight[d] += bestValue
                    if best == parent {
                        sums[h].hits[d] += 1
                        sums[h].relationHits[d][s.deprels[w], default: 0] += 1
                    }
                }
            }
        }
    }

    /// The best fixed offset's share of arcs (ties: the first offset of `baselineOffsets`).
    static func offsetBaseline(_ sentences: [ProbeSentence]) -> (offset: Int, accuracy: Double, arcs: Int) {
        var hits = [Int](repeating: 0, count: baselineOffsets.count), arcs = 0
        for s in sentences {
            for w in s.words.indices where s.heads[w] > 0 && s.heads[w] <= s.words.count {
                arcs += 1
                for (k, o) in baselineOffsets.enumerated() where w + o == s.heads[w] - 1 { hits[k] += 1 }
            }
        }
        let k = hits.indices.max { hits[$0] < hits[$1] || (hits[$0] == hits[$1] && $0 > $1) } ?? 0
        return (baselineOffsets[k], arcs > 0 ? Double(hits[k]) / Double(arcs) : 0, arcs)
    }

    /// Keys uas/best (with uas/best/layer, head, direction, argmax_weight: the mean over arcs of the weight of
    /// the word the best head picks), uas/soft, uas/offset_baseline (uas/offset),
    /// uas/gain, and per relation with enough arcs uas/relation/REL (with its layer, head, direction).
    public static func parseMetrics(_ sums: [[ParseSums]], sentences: [ProbeSentence], step: Int) -> [ProbeMetric] {
        let base = offsetBaseline(sentences)
        guard base.arcs > 0 else { return [] }
        var out: [ProbeMetric] = []
        func add(_ key: String, _ v: Double, _ c: Int) {
            out.append(ProbeMetric(step: step, probe: "attention", key: key, value: v, count: c))
        }
        /// The best (layer, head, direction) by `hits` (ties: the first in that order).
        func best(_ hits: (ParseSums, Int) -> Int) -> (l: Int, h: Int, d: Int, hits: Int) {
            var b = (l: 0, h: 0, d: 0, hits: -1)
            for (l, layer) in sums.enumerated() {
                for (h, s) in layer.enumerated() {
                    for d in 0..<2 where hits(s, d) > b.hits { b = (l, h, d, hits(s, d)) }
                }
            }
            return b
        }
        func winner(_ key: String, _ b: (l: Int, h: Int, d: Int, hits: Int), _ arcs: Int) {
            add(key, Double(b.hits) / Double(arcs), arcs)
            add(key + "/layer", Double(b.l + 1), arcs)
            add(key + "/head", Double(b.h), arcs)
            add(key + "/direction", Double(b.d), arcs)
        }
        guard sums.first?.isEmpty == false else { return [] }
        let top = best { s, d in s.hits[d] }
        winner("uas/best", top, base.arcs)
        add("uas/best/argmax_weight", sums[top.l][top.h].argmaxWeight[top.d] / Double(base.arcs), base.arcs)
        add("uas/soft", sums[top.l][top.h].weight[top.d] / Double(base.arcs), base.arcs)
        add("uas/offset_baseline", base.accuracy, base.arcs)
        add("uas/offset", Double(base.offset), base.arcs)
        add("uas/gain", Double(top.hits) / Double(base.arcs) - base.accuracy, base.arcs)
        var arcsOf: [String: Int] = [:]
        for s in sentences {
            for w in s.words.indices where s.heads[w] > 0 && s.heads[w] <= s.words.count {
                arcsOf[s.deprels[w], default: 0] += 1
            }
        }
        for (rel, n) in arcsOf.sorted(by: { $0.key < $1.key })
        where n >= relationMinimumArcs && rel != "root" && rel != "punct" {
            winner("uas/relation/\(rel)", best { s, d in s.relationHits[d][rel] ?? 0 }, n)
        }
        return out
    }
}

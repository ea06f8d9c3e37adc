// Probe D of "Pretrained Language Model Embryology": world knowledge as LAMA cloze (Petroni et al. 2019).
// Each fact becomes "[CLS] template with [X] filled and [MASK] for [Y] [SEP]" (or its first masked
// sentence, for Google-RE/SQuAD-style data); P@1 is whether the top prediction over the whole vocabulary
// at [MASK] is the object. Only objects that are a single subword are scored; the others are counted.

import EmbryoCore
import EmbryoRun
import EmbryoText
import Foundation

public struct KnowledgeItem: Sendable {
    /// lama: the relation's template (or masked sentence); trained / heldout: a phrasing the training
    /// text stated the fact with, or the one it held out for it.
    /// paraphrase: one of the relation's ParaRel patterns.
    public enum Kind: String, Sendable { case lama, trained, heldout, paraphrase }
    public var kind: Kind = .lama
    public var relation: Int
    public var ids: [Int32]
    public var maskPosition: Int
    public var object: Int32
    public var count: Int?
    public var subject = ""
    public var objectLabel = ""
    /// For paraphrases: the pattern's index in its relation's list, and the fact's index in the set.
    public var pattern = -1
    public var fact = -1
}

public struct KnowledgeSet: Sendable {
    public var relations: [(name: String, type: String?)] = []
    /// Per relation: its LAMA subset, when read from LAMA's data folder.
    public var subsets: [String?] = []
    /// Per relation: how many paraphrase patterns it has (0 without --patterns).
    public var patternCounts: [Int] = []
    /// Relations named by the facts but missing their facts file.
    public var missing: [String] = []

    public init() {}
    public var items: [KnowledgeItem] = []
    public var facts: [Int] = []  // per relation
    public var multiSubwordObjects: [Int] = []  // per relation: skipped
    public var unusable: [Int] = []  // per relation: no single [MASK] in the input, or too long
}

public enum KnowledgeProbe {
    /// Fact-frequency buckets (how often the fact was stated in training), as in the world's statistics.
    public static let buckets: [(name: String, range: ClosedRange<Int>)] = [
        ("0", 0...0), ("1-5", 1...5), ("6-20", 6...20), ("21-100", 21...100), ("101-1000", 101...1000),
        (">1000", 1001...Int.max),
    ]

    public static func bucket(_ count: Int) -> String { buckets.first { $0.range.contains(count) }!.name }

    /// The cloze items of `relations`; with `patterns` (ParaRel's, by relation name, or by the name after
    /// the subset: P19 for TREx/P19), every fact also through every pattern of its relation.
    public static func prepare(
        _ relations: [LamaRelation], patterns: [String: [String]] = [:], missing: [String] = [],
        tokenizer tok: WordPieceTokenizer, maxLen: Int
    ) -> KnowledgeSet {
        var set = KnowledgeSet()
        set.missing = missing
        let v = tok.vocab
        var factIndex = 0
        for (ri, r) in relations.enumerated() {
            let paraphrases = patterns[r.name] ?? patterns[String(r.name.split(separator: "/").last ?? "")] ?? []
            set.relations.append((r.name, r.type))
            set.subsets.append(r.subset)
            set.patternCounts.append(paraphrases.count)
            set.facts.append(r.facts.count)
            set.multiSubwordObjects.append(0)
            set.unusable.append(0)
            for f in r.facts {
                let obj = tok.encode(f.object).ids
                guard obj.count == 1, obj[0] != v.unkId else {
                    set.multiSubwordObjects[ri] += 1
                    continue
                }
                func item(_ kind: KnowledgeItem.Kind, _ text: String, pattern: Int = -1) -> Bool {
                    let ids = [v.clsId] + tok.encode(text).ids + [v.sepId]
                    let masks = ids.indices.filter { ids[$0] == v.maskId }
                    guard masks.count == 1, ids.count <= maxLen else { return false }
                    set.items.append(
                        KnowledgeItem(
                            kind: kind, relation: ri, ids: ids, maskPosition: masks[0], object: obj[0], count: f.count,
                            subject: f.subject, objectLabel: f.object, pattern: pattern, fact: factIndex))
                    return true
                }
                defer { factIndex += 1 }
                func cloze(_ t: String) -> String {
                    t.replacingOccurrences(of: "[X]", with: f.subject).replacingOccurrences(of: "[Y]", with: "[MASK]")
                }
                let text: String
                if let t = r.template {
                    text = cloze(t)
                } else if let m = f.maskedSentences.first {
                    text = m
                } else {
                    set.unusable[ri] += 1
                    continue
                }
                if !item(.lama, text) { set.unusable[ri] += 1 }
                for t in f.trainedTemplates { _ = item(.trained, cloze(t)) }
                if let h = f.heldOutTemplate { _ = item(.heldout, cloze(h)) }
                for (k, p) in paraphrases.enumerated() { _ = item(.paraphrase, cloze(p), pattern: k) }
            }
        }
        return set
    }

    /// Keys: p_at_1/relation/NAME, p_at_1/type/TYPE (mean over its relations), p_at_1/mean (mean over
    /// relations), p_at_1/micro (over facts), p_at_1/frequency/BUCKET, skipped/relation/NAME; with
    /// per-fact phrasings, p_at_1/trained/... and p_at_1/heldout/... (mean, relation/NAME, frequency/BUCKET)
    /// over every (fact, trained phrasing) pair and over the held-out phrasings.
    public static func run(model: Albert, set: KnowledgeSet, step: Int) throws -> [ProbeMetric] {
        try evaluate(model: model, set: set, step: step).metrics
    }

    /// One fact through its relation's template: whether the snapshot's top prediction is the object.
    public struct FactResult: Codable, Sendable, Equatable {
        public var relation: String
        public var subject: String
        public var object: String
        public var count: Int?
        public var known: Bool
    }

    /// The metrics of `run`, and every fact's result through the relation's template.
    public static func evaluate(model: Albert, set: KnowledgeSet, step: Int) throws
        -> (metrics: [ProbeMetric], facts: [FactResult])
    {
        let rows = set.items.map { it -> LabelledRow in
            var labels = [Int32](repeating: -100, count: it.ids.count)
            labels[it.maskPosition] = it.object
            return LabelledRow(ids: it.ids, labels: labels)
        }
        let t = Tally(set, scored: try MLMScoring.score(model: model, rows: rows))
        var out = templateMetrics(set, t, step: step) + phrasingMetrics(set, t, step: step)
        out += paraphraseMetrics(
            set: set, right: t.pRight, n: t.pN, topByFact: t.topByFact, relationOfFact: t.relationOfFact, step: step)
        return (out, t.facts)
    }

    /// One snapshot's answers counted: right and total per relation and frequency bucket, through the
    /// relation's template, per phrasing kind (trained, held-out) and per paraphrase pattern.
    struct Tally {
        var right: [Int], n: [Int]
        var bucketRight: [String: Int] = [:], bucketN: [String: Int] = [:]
        var kRight: [String: [Int]] = [:], kN: [String: [Int]] = [:]
        var kBucketRight: [String: Int] = [:], kBucketN: [String: Int] = [:]
        var facts: [FactResult] = []
        var pRight: [Int: [Int]] = [:], pN: [Int: [Int]] = [:]
        /// Each fact's top prediction by pattern, and its relation.
        var topByFact: [Int: [(pattern: Int, top: Int32)]] = [:], relationOfFact: [Int: Int] = [:]

        init(_ set: KnowledgeSet, scored: [RowPredictions]) {
            let R = set.relations.count
            right = [Int](repeating: 0, count: R)
            n = right
            for (it, s) in zip(set.items, scored) {
                let ok = s.correct.first ?? false
                switch it.kind {
                case .paraphrase:
                    let k = set.patternCounts[it.relation]
                    pN[it.relation, default: Array(repeating: 0, count: k)][it.pattern] += 1
                    pRight[it.relation, default: Array(repeating: 0, count: k)][it.pattern] += ok ? 1 : 0
                    if let top = s.predicted.first { topByFact[it.fact, default: []].append((it.pattern, top)) }
                    relationOfFact[it.fact] = it.relation
                case .lama:
                    facts.append(
                        FactResult(
                            relation: set.relations[it.relation].name, subject: it.subject, object: it.objectLabel,
                            count: it.count, known: ok))
                    n[it.relation] += 1
                    if ok { right[it.relation] += 1 }
                    if let c = it.count {
                        bucketN[bucket(c), default: 0] += 1
                        if ok { bucketRight[bucket(c), default: 0] += 1 }
                    }
                default:
                    let k = it.kind.rawValue
                    kN[k, default: Array(repeating: 0, count: R)][it.relation] += 1
                    kRight[k, default: Array(repeating: 0, count: R)][it.relation] += ok ? 1 : 0
                    if let c = it.count {
                        kBucketN["\(k)/\(bucket(c))", default: 0] += 1
                        if ok { kBucketRight["\(k)/\(bucket(c))", default: 0] += 1 }
                    }
                }
            }
        }
    }

    /// Through each relation's template: per relation (and facts skipped), subset, type and frequency bucket,
    /// the mean over relations and over facts.
    static func templateMetrics(_ set: KnowledgeSet, _ t: Tally, step: Int) -> [ProbeMetric] {
        var out: [ProbeMetric] = []
        func add(_ key: String, _ v: Double, _ c: Int) {
            out.append(ProbeMetric(step: step, probe: "knowledge", key: key, value: v, count: c))
        }
        var perRelation: [Double] = []
        var byType: [String: [Double]] = [:], typeFacts: [String: Int] = [:]
        var bySubset: [String: [Double]] = [:], subsetFacts: [String: Int] = [:]
        for name in set.missing { add("missing/relation/\(name)", 1, 0) }
        for r in 0..<set.relations.count {
            add("skipped/relation/\(set.relations[r].name)", Double(set.multiSubwordObjects[r]), set.facts[r])
            guard t.n[r] > 0 else { continue }
            let p = Double(t.right[r]) / Double(t.n[r])
            add("p_at_1/relation/\(set.relations[r].name)", p, t.n[r])
            perRelation.append(p)
            if let ty = set.relations[r].type {
                byType[ty, default: []].append(p)
                typeFacts[ty, default: 0] += t.n[r]
            }
            if let sub = set.subsets[r] {
                bySubset[sub, default: []].append(p)
                subsetFacts[sub, default: 0] += t.n[r]
            }
        }
        for sub in bySubset.keys.sorted() {
            add("p_at_1/subset/\(sub)", bySubset[sub]!.reduce(0, +) / Double(bySubset[sub]!.count), subsetFacts[sub]!)
        }
        let total = t.n.reduce(0, +)
        if !perRelation.isEmpty {
            add("p_at_1/mean", perRelation.reduce(0, +) / Double(perRelation.count), total)
            add("p_at_1/micro", Double(t.right.reduce(0, +)) / Double(total), total)
        }
        for ty in byType.keys.sorted() {
            add("p_at_1/type/\(ty)", byType[ty]!.reduce(0, +) / Double(byType[ty]!.count), typeFacts[ty]!)
        }
        for b in buckets where t.bucketN[b.name] != nil {
            add(
                "p_at_1/frequency/\(b.name)", Double(t.bucketRight[b.name] ?? 0) / Double(t.bucketN[b.name]!),
                t.bucketN[b.name]!)
        }
        return out
    }

    /// Trained and held-out phrasings: per relation, mean over relations, per frequency bucket.
    static func phrasingMetrics(_ set: KnowledgeSet, _ t: Tally, step: Int) -> [ProbeMetric] {
        var out: [ProbeMetric] = []
        func add(_ key: String, _ v: Double, _ c: Int) {
            out.append(ProbeMetric(step: step, probe: "knowledge", key: key, value: v, count: c))
        }
        for k in ["trained", "heldout"] {
            guard let kn = t.kN[k] else { continue }
            var per: [Double] = []
            for r in 0..<set.relations.count where kn[r] > 0 {
                let p = Double(t.kRight[k]![r]) / Double(kn[r])
                add("p_at_1/\(k)/relation/\(set.relations[r].name)", p, kn[r])
                per.append(p)
            }
            if !per.isEmpty { add("p_at_1/\(k)/mean", per.reduce(0, +) / Double(per.count), kn.reduce(0, +)) }
            for b in buckets {
                guard let c = t.kBucketN["\(k)/\(b.name)"] else { continue }
                add("p_at_1/\(k)/frequency/\(b.name)", Double(t.kBucketRight["\(k)/\(b.name)"] ?? 0) / Double(c), c)
            }
        }
        return out
    }

    /// Keys: paraphrase/p_at_1/relation/NAME/pattern_K (K from 1, in the patterns file's order),
    /// paraphrase/p_at_1/relation/NAME (over every fact and pattern), paraphrase/consistency/relation/NAME
    /// (over facts, the share of pattern pairs whose top predictions agree, as in ParaRel), and the means
    /// over relations paraphrase/p_at_1/mean and paraphrase/consistency/mean.
    public static func paraphraseMetrics(
        set: KnowledgeSet, right: [Int: [Int]], n: [Int: [Int]], topByFact: [Int: [(pattern: Int, top: Int32)]],
        relationOfFact: [Int: Int], step: Int
    ) -> [ProbeMetric] {
        var out: [ProbeMetric] = []
        func add(_ key: String, _ v: Double, _ c: Int) {
            out.append(ProbeMetric(step: step, probe: "knowledge", key: "paraphrase/" + key, value: v, count: c))
        }
        // per relation: agreeing pairs and pairs, over its facts
        var agree: [Int: Int] = [:], pairs: [Int: Int] = [:]
        for (f, tops) in topByFact {
            let r = relationOfFact[f]!
            for i in tops.indices {
                for j in (i + 1)..<tops.count {
                    pairs[r, default: 0] += 1
                    if tops[i].top == tops[j].top { agree[r, default: 0] += 1 }
                }
            }
        }
        var meanP: [Double] = [], meanC: [Double] = []
        for r in n.keys.sorted() {
            let name = set.relations[r].name, rn = n[r]!, rr = right[r]!
            for k in rn.indices where rn[k] > 0 {
                add("p_at_1/relation/\(name)/pattern_\(k + 1)", Double(rr[k]) / Double(rn[k]), rn[k])
            }
            let total = rn.reduce(0, +)
            guard total > 0 else { continue }
            let p = Double(rr.reduce(0, +)) / Double(total)
            add("p_at_1/relation/\(name)", p, total)
            meanP.append(p)
            if let pc = pairs[r], pc > 0 {
                let c = Double(agree[r] ?? 0) / Double(pc)
                add("consistency/relation/\(name)", c, pc)
                meanC.append(c)
            }
        }
        let total = n.values.reduce(0) { $0 + $1.reduce(0, +) }
        if !meanP.isEmpty { add("p_at_1/mean", meanP.reduce(0, +) / Double(meanP.count), total) }
        if !meanC.isEmpty {
            add("consistency/mean", meanC.reduce(0, +) / Double(meanC.count), pairs.values.reduce(0, +))
        }
        return out
    }
}

/// `knowledge`: LAMA cloze P@1; every fact's result is kept for facts.jsonl and the exposure report.
public final class KnowledgeMeasurement: ProbeMeasurement {
    public static let probeName = "knowledge"
    public static let help = ["LAMA cloze P@1 per relation, relation type and fact frequency"]
    public static let probeNeeds: MeasurementNeeds = [.mlmHead, .facts]
    let inputs: ProbeInputs
    public let settings: String
    var sets: [String: KnowledgeSet] = [:]
    /// Per-fact results, by snapshot step.
    var facts: [Int: [KnowledgeProbe.FactResult]] = [:]

    public init(_ inputs: ProbeInputs) {
        self.inputs = inputs
        let relations = inputs.relations, patterns = inputs.patterns
        // what was read, not the files named: a T-REx folder takes its templates from the folder above it
        let patternsKey = patterns.keys.sorted().map { "\($0)=\(patterns[$0]!)" }.joined(separator: "|")
        settings =
            "knowledge v4|facts \(relations.isEmpty ? "-" : Lama.fingerprint(relations))"
            + "|patterns \(patterns.isEmpty ? "-" : String(stableHash(patternsKey), radix: 16))"
    }

    public func measure(_ s: LoadedSnapshot) throws -> Measured {
        let key = try inputs.vocabularyKey(s)
        if sets[key] == nil {
            sets[key] = KnowledgeProbe.prepare(
                inputs.relations, patterns: inputs.patterns, missing: inputs.missingRelations,
                tokenizer: try s.tokenizer(), maxLen: inputs.maxLen(try s.model()))
        }
        let (m, f) = try KnowledgeProbe.evaluate(model: try s.model(), set: sets[key]!, step: s.step)
        return try Measured(metrics: m, encoding: f)
    }

    public func collect(_ result: Measured, at s: LoadedSnapshot) {
        if let f = result.decoded([KnowledgeProbe.FactResult].self) { facts[s.step] = f }
    }

    public func isUsable(_ result: Measured, for s: LoadedSnapshot) -> Bool {
        result.decoded([KnowledgeProbe.FactResult].self) != nil
    }

    /// facts.jsonl, rewritten with the tables (the report's exposure section reads it).
    public func writeTables() throws {
        if !facts.isEmpty {
            try writeAtomically(
                Data(FactTable.jsonl(facts).utf8), to: inputs.out.appendingPathComponent(FactTable.fileName))
        }
    }

    /// Knowledge, then what the run was exposed to (the exposure ledger's section, when there is one).
    public static func reportSection(_ page: ReportPage) -> String {
        ProbeReport.knowledgeSection(page.metrics) + ExposureReport.section(page.run, folder: page.folder)
    }
}

// The exposure ledger: what a run's model had seen by each snapshot, recomputed from (seed, step) alone by
// replaying the example maker, with no model: per vocabulary token, how often it was in an example and how
// often it was a masked target; on the built-in world, per fact, how often one of its statements was in an
// example (with its object whole) and how often its object was a target. A branch counts its parent's
// exposures up to the branching step, then its own.

import EmbryoCore
import EmbryoRun
import EmbryoText
import Foundation

public struct ExposureLedger {
    public struct FactLabel: Sendable {
        public var relation: String
        public var subject: String
        public var object: String
        /// Statements in the run's corpus.
        public var statements: Int
    }

    /// Snapshot steps, ascending; every count is cumulative up to and including that step.
    public var steps: [Int]
    public var vocabSize: Int
    /// [snapshot][token]
    public var tokenSeen: [[Int]]
    public var tokenTargets: [[Int]]
    public var facts: [FactLabel] = []
    /// [fact][snapshot]
    public var factSeen: [[Int]] = []
    public var factMasked: [[Int]] = []

    /// Where one statement of a fact lies in the corpus: its object's token positions.
    struct Statement {
        var fact: Int
        var objectStart: Int
        var objectEnd: Int
    }

    /// The ledger of `run` at its snapshots (or at `steps`).
    public static func compute(_ run: Run, steps wanted: [Int]? = nil, warn: (String) -> Void = { _ in }) throws
        -> ExposureLedger
    {
        let m = try run.manifest()
        let maker = try run.requireExampleMaker(m)
        let steps = try wanted ?? run.snapshots(warn: warn).map(\.step)
        guard let last = steps.max() else { throw EmbryoError.runtime("\(run.root.path) has no snapshot") }
        var ledger = ExposureLedger(
            steps: steps.sorted(), vocabSize: maker.vocabSize, tokenSeen: [], tokenTargets: [])
        let stated = try factStatements(run, m, maker.corpus, warn: warn)
        ledger.facts = stated?.labels ?? []
        var seen = [Int](repeating: 0, count: maker.vocabSize), targets = seen
        var fSeen = [Int](repeating: 0, count: ledger.facts.count), fMasked = fSeen
        var first = 1
        if let b = m.branch {
            // the parent's exposures up to the branching step
            let parent = try compute(Run.open(b.parent), steps: [b.step], warn: warn)
            seen = parent.tokenSeen[0]
            targets = parent.tokenTargets[0]
            if parent.facts.count == fSeen.count {
                fSeen = parent.factSeen.map { $0[0] }
                fMasked = parent.factMasked.map { $0[0] }
            }
            first = b.step + 1
        }
        let snapshotSet = Set(steps)
        ledger.factSeen = Array(repeating: [], count: ledger.facts.count)
        ledger.factMasked = ledger.factSeen
        func record() {
            ledger.tokenSeen.append(seen)
            ledger.tokenTargets.append(targets)
            for f in fSeen.indices {
                ledger.factSeen[f].append(fSeen[f])
                ledger.factMasked[f].append(fMasked[f])
            }
        }
        if snapshotSet.contains(first - 1) { record() }
        for step in first...max(first, last) where step <= last {
            for row in 0..<m.config.batchSize {
                let ex = maker.example(step: step, row: row)
                for (id, label) in zip(ex.ids, ex.labels) {
                    let original = Int(label >= 0 ? label : id)
                    seen[original] += 1
                    if label >= 0 { targets[original] += 1 }
                }
                if let stated { count(ex, stated.bySentence, maker.corpus, &fSeen, &fMasked) }
            }
            if snapshotSet.contains(step) { record() }
        }
        return ledger
    }

    /// The statements of one example's segments: seen when the object is whole inside a segment, masked when
    /// one of the object's tokens is a target.
    static func count(
        _ ex: Example, _ bySentence: [Int32: Statement], _ corpus: TokenizedCorpus, _ seen: inout [Int],
        _ masked: inout [Int]
    ) {
        var offset = 1
        for seg in ex.segments {
            let lo = seg.start, hi = seg.start + seg.count
            if seg.count > 0 {
                var s = sentence(containing: lo, corpus)
                while s < corpus.sentenceCount && Int(corpus.sentenceStarts[s]) < hi {
                    if let st = bySentence[Int32(s)], st.objectStart >= lo, st.objectEnd <= hi {
                        seen[st.fact] += 1
                        let p0 = offset + st.objectStart - lo
                        if (p0..<(p0 + st.objectEnd - st.objectStart)).contains(where: { ex.labels[$0] >= 0 }) {
                            masked[st.fact] += 1
                        }
                    }
                    s += 1
                }
            }
            offset += seg.count + 1
        }
    }

    static func sentence(containing position: Int, _ corpus: TokenizedCorpus) -> Int {
        var lo = 0, hi = corpus.sentenceCount - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if Int(corpus.sentenceStarts[mid]) <= position { lo = mid } else { hi = mid - 1 }
        }
        return lo
    }

    /// On the built-in world: which corpus sentences state which fact, and where their objects are.
    static func factStatements(_ run: Run, _ m: RunManifest, _ corpus: TokenizedCorpus, warn: (String) -> Void)
        throws -> (labels: [FactLabel], bySentence: [Int32: Statement])?
    {
        guard m.world != nil, m.config.corpus.isEmpty else { return nil }
        let trainURL = run.worldDir.appendingPathComponent("train.txt")
        guard FileManager.default.fileExists(atPath: trainURL.path) else {
            warn("\(trainURL.path) is gone: fact exposures left out")
            return nil
        }
        var sizes = WorldSizes()
        sizes.tokens = m.config.worldTokens
        let world = World(seed: UInt64(m.config.worldSeed), sizes: sizes)
        let kb = world.knowledge
        var objects = kb.facts.map(\.object)
        if let edits = try? WorldEdit.parse(m.branch?.worldEdits ?? [], world: world) {
            for e in edits { if case .object(let o) = e.change { objects[e.fact] = o } }
        }
        let statements = FactStatements(world, objects: objects)
        let tok = try WordPieceTokenizer.load(vocab: run.tokenizerDir.appendingPathComponent("vocab.txt"))
        let objectIds = objects.map { tok.encode($0).ids }
        let text = String(decoding: try readFile(trainURL), as: UTF8.self)
        var bySentence: [Int32: Statement] = [:]
        var counts = [Int](repeating: 0, count: kb.facts.count)
        var s = 0
        for line in text.split(separator: "\n") {
            defer { s += 1 }
            guard let (f, _) = statements.statement(String(line)), s < corpus.sentenceCount else { continue }
            counts[f] += 1
            let toks = Array(corpus.sentence(s)), obj = objectIds[f]
            guard !obj.isEmpty, toks.count >= obj.count,
                let i = (0...(toks.count - obj.count)).first(where: { Array(toks[$0..<($0 + obj.count)]) == obj })
            else { continue }
            let start = Int(corpus.sentenceStarts[s]) + i
            bySentence[Int32(s)] = Statement(fact: f, objectStart: start, objectEnd: start + obj.count)
        }
        guard s == corpus.sentenceCount else {
            warn(
                "\(trainURL.path) has \(s) sentences, the token cache \(corpus.sentenceCount): fact exposures left out")
            return nil
        }
        let labels = kb.facts.enumerated().map { f, fact in
            FactLabel(
                relation: worldRelations[fact.relation].name, subject: fact.subject, object: objects[f],
                statements: counts[f])
        }
        return (labels, bySentence)
    }

    /// exposure.jsonl (a header with the snapshot steps, a line per snapshot with its totals, a line per
    /// fact with its counts at every snapshot) and exposure-tokens.safetensors (int64 [snapshots, vocab]:
    /// seen and targets).
    public func write(to dir: URL, run: Run) throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var lines = [
            jsonLine([
                ("kind", "ledger"), ("run", run.root.path), ("steps", steps), ("vocab_size", vocabSize),
                ("facts", facts.count), ("tokens_file", "exposure-tokens.safetensors"),
            ])
        ]
        for (i, s) in steps.enumerated() {
            lines.append(
                jsonLine([
                    ("kind", "snapshot"), ("step", s), ("tokens_seen", tokenSeen[i].reduce(0, +)),
                    ("targets", tokenTargets[i].reduce(0, +)),
                    ("fact_statements_seen", factSeen.reduce(0) { $0 + $1[i] }),
                    ("fact_objects_masked", factMasked.reduce(0) { $0 + $1[i] }),
                ]))
        }
        for (f, label) in facts.enumerated() {
            lines.append(
                jsonLine([
                    ("kind", "fact"), ("relation", label.relation), ("sub_label", label.subject),
                    ("obj_label", label.object), ("statements", label.statements), ("seen", factSeen[f]),
                    ("object_masked", factMasked[f]),
                ]))
        }
        try writeAtomically(
            Data(lines.map { $0 + "\n" }.joined().utf8), to: dir.appendingPathComponent("exposure.jsonl"))
        try writeSafetensors(
            int64: [
                ("seen", [steps.count, vocabSize], tokenSeen.flatMap { $0.map(Int64.init) }),
                ("targets", [steps.count, vocabSize], tokenTargets.flatMap { $0.map(Int64.init) }),
            ],
            metadata: ["steps": steps.map(String.init).joined(separator: ","), "format": "embryo exposure"],
            to: dir.appendingPathComponent("exposure-tokens.safetensors"))
    }
}

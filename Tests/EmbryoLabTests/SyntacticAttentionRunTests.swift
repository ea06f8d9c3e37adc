// `pretrain --sas` end to end: every arc of the world's train.heads reaches the corpus (none unmatched),
// every arc a batch carries joins two real positions of one row, lambda 0 measures the term without
// changing a bit of training, lambda > 0 changes it and is logged until --sas-until, a corpus without trees
// is a usage error, and a CoNLL-U corpus gives its own heads.

import EmbryoCore
import EmbryoLab
import EmbryoRun
import EmbryoTestSupport
import EmbryoText
import Foundation
import XCTest

final class SyntacticAttentionRunTests: ScratchDirectoryTestCase {
    func train(
        _ name: String, corpus: [String] = [], branch: BranchSource? = nil, _ change: (inout PretrainConfig) -> Void
    ) throws -> Run {
        let micro = try microConfig(tmp)
        let root = tmp.appendingPathComponent("runs/\(name)")
        _ = try Pretrainer(
            out: root, resume: false, force: false, branch: branch,
            apply: { c in
                if branch != nil {
                    change(&c)
                    return
                }
                c.worldTokens = 30_000
                c.corpus = corpus
                c.config = micro
                c.vocabSize = 300
                c.steps = 12
                c.batchSize = 8
                c.seqLen = 32
                c.warmup = 2
                c.saveEvery = 12
                c.evalEvery = 12
                c.logEvery = 1
                c.logSteps = false
                c.threads = 2
                change(&c)
            }, log: { _ in }
        ).train()
        return Run(root)
    }

    func logLines(_ run: Run) throws -> [[String: Any]] {
        try String(contentsOf: run.root.appendingPathComponent("train_log.jsonl"), encoding: .utf8)
            .split(separator: "\n").compactMap {
                try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
            .filter { $0["loss"] != nil }
    }

    func weights(_ run: Run) throws -> Data {
        try Data(contentsOf: run.checkpoint(12).appendingPathComponent("model.safetensors"))
    }

    func testTheRegulariserOnTheWorld() throws {
        let base = try train("base") { _ in }
        let measured = try train("zero") { $0.sas = 0 }
        XCTAssertEqual(try weights(measured), try weights(base), "lambda 0 must not change training")
        let lines = try logLines(measured)
        XCTAssertTrue(lines.allSatisfy { ($0["sas_arcs"] as? Int ?? 0) > 0 }, "\(lines.first ?? [:])")
        XCTAssertNil(try logLines(base).first?["sas_term"])
        let suppressed = try train("suppress") {
            $0.sas = 1
            $0.sasUntil = 6
        }
        XCTAssertNotEqual(try weights(suppressed), try weights(base))
        // released at step 6: steps 1-5 regularised, 6 on not; so not the run regularised throughout
        let config = try suppressed.manifest().config
        XCTAssertEqual(config.sasLambda(at: 5), 1)
        XCTAssertEqual(config.sasLambda(at: 6), 0)
        XCTAssertNotEqual(try weights(try train("throughout") { $0.sas = 1 }), try weights(suppressed))
        // the same seed and settings give the same bits
        let again = try train("again") {
            $0.sas = 1
            $0.sasUntil = 6
        }
        XCTAssertEqual(try weights(again), try weights(suppressed))
        // an intervention from a snapshot: a branch of a run that kept every state
        let parent = try train("parent") {
            $0.keepState = .all
            $0.saveEvery = 6
        }
        let branched = try train("branch", branch: BranchSource(parent: parent, step: 6, worldEdits: [])) {
            $0.sas = -1
        }
        XCTAssertEqual(try branched.manifest().config.sas, -1)
        XCTAssertNotEqual(try weights(branched), try weights(parent))
        XCTAssertEqual(try logLines(branched).first?["step"] as? Int, 7)
        XCTAssertNotNil(try logLines(branched).first?["sas_term"])
    }

    func testEveryArcOfTheWorldReachesTheBatches() throws {
        let run = try train("arcs") { $0.sas = 0.5 }
        let m = try run.manifest()
        let maker = try run.requireExampleMaker(m)
        let vocab = try Vocabulary.load(run.tokenizerDir.appendingPathComponent("vocab.txt"))
        let arcs = try GoldArcs.of(
            run: run, config: m.config,
            sources: try TokenizedCorpus.describe([run.worldDir.appendingPathComponent("train.txt").path]),
            tokenizer: WordPieceTokenizer(vocab: vocab, lowercase: m.vocabulary.lowercase), corpus: maker.corpus)
        XCTAssertEqual(arcs.unmatched, 0)
        let heads = try String(contentsOf: run.worldDir.appendingPathComponent("train.heads"), encoding: .utf8)
        var expected = 0
        for line in heads.split(separator: "\n") {
            for (w, h) in line.split(separator: " ").enumerated() where Int(h)! != 0 && Int(h)! != w + 1 {
                expected += 1
            }
        }
        XCTAssertEqual(arcs.arcs, expected)
        // each arc joins the positions of a corpus token and its head's, mapped as Example.segments says
        // (position 1 + i of the first segment is corpus position start + i; the second follows its [SEP])
        let batch = AlbertBatch(B: 8, T: 32)
        var carried = 0, expectedArcs = 0
        for step in 1...4 {
            maker.fill(batch, step: step, arcs: arcs)
            for b in 0..<8 {
                let ex = maker.example(step: step, row: b)
                var corpusAt = [Int](repeating: -1, count: 32), segment = corpusAt, position = 1
                for (k, (start, count)) in ex.segments.enumerated() {
                    for i in 0..<count where position + i < 32 {
                        corpusAt[position + i] = start + i
                        segment[position + i] = k
                    }
                    position += count + 1
                }
                for p in 0..<32 where corpusAt[p] >= 0 {
                    let c = corpusAt[p], off = Int(arcs.offsets[c])
                    if batch.mlmLabels[b * 32 + p] < 0 { XCTAssertEqual(batch.ids[b * 32 + p], maker.corpus.tokens[c]) }
                    let h = Int(batch.goldHeads[b * 32 + p])
                    // both ends in one segment (a truncated segment can put a head of the other one in place)
                    if off != 0, (0..<32).contains(p + off), corpusAt[p + off] == c + off,
                        segment[p + off] == segment[p]
                    {
                        expectedArcs += 1
                        XCTAssertEqual(h, p + off, "step \(step) row \(b) position \(p)")
                    } else {
                        XCTAssertEqual(h, -1, "step \(step) row \(b) position \(p)")
                    }
                    if h >= 0 { carried += 1 }
                }
            }
        }
        XCTAssertEqual(carried, expectedArcs)
        XCTAssertGreaterThan(carried, 8 * 4 * 5)
    }

    func testCorporaWithAndWithoutTrees() throws {
        let text = tmp.appendingPathComponent("plain.txt")
        try String(repeating: "the cat sat on the mat .\nthe dog ran .\n\n", count: 400).write(
            to: text, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try train("text", corpus: [text.path]) { $0.sas = 1 }) {
            XCTAssertTrue("\($0)".contains("needs gold dependency trees"), "\($0)")
        }
        var conllu = ""
        for n in 0..<300 {
            conllu +=
                "# sent_id = \(n)\n1\tThe\tthe\tDET\tDT\t_\t2\tdet\t_\t_\n2\tcat\tcat\tNOUN\tNN\t_\t3\tnsubj\t_\t_\n"
            conllu += "3\tsat\tsit\tVERB\tVBD\t_\t0\troot\t_\tSpaceAfter=No\n4\t.\t.\tPUNCT\t.\t_\t3\tpunct\t_\t_\n\n"
        }
        let treebank = tmp.appendingPathComponent("tiny.conllu")
        try conllu.write(to: treebank, atomically: true, encoding: .utf8)
        let run = try train("conllu", corpus: [treebank.path]) {
            $0.sas = 0.5; $0.steps = 4; $0.saveEvery = 4
        }
        let lines = try logLines(run)
        XCTAssertTrue(lines.allSatisfy { ($0["sas_arcs"] as? Int ?? 0) > 0 })
    }
}

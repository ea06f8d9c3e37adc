// The exposure ledger against an instrumented run: token counts taken from the batches the model was
// given, step by step, must equal the ledger's replay token by token at every snapshot; fact counts must
// cover every whole statement found in those batches. Also the acquisition and forgetting rules.

import EmbryoCore
import EmbryoLab
import EmbryoRun
import EmbryoTestSupport
import EmbryoText
import Foundation
import XCTest

final class ExposureTests: ScratchDirectoryTestCase {
    func testLedgerEqualsCountsTakenFromTheBatchesTheModelSaw() throws {
        let micro = try microConfig(tmp)
        let out = tmp.appendingPathComponent("runs/world")
        let trainer = try Pretrainer(
            out: out, resume: false, force: false,
            apply: { c in
                c.worldTokens = 20000
                c.config = micro
                c.vocabSize = 300
                c.steps = 24
                c.warmup = 2
                c.batchSize = 8
                c.seqLen = 32
                c.saveEvery = 8
                c.evalEvery = 8
                c.threads = 1
            }, log: { _ in })
        let V = 300
        var seen = [Int](repeating: 0, count: V), targets = seen
        var snapshots: [Int: ([Int], [Int])] = [0: (seen, targets)]
        var rows: [[Int32]] = []  // the original tokens of every row the model saw
        trainer.onBatch = { step, batch in
            for b in 0..<batch.B {
                var row: [Int32] = []
                for t in 0..<batch.T where batch.attentionMask[b * batch.T + t] != 0 {
                    let i = b * batch.T + t
                    let original = batch.mlmLabels[i] >= 0 ? batch.mlmLabels[i] : batch.ids[i]
                    seen[Int(original)] += 1
                    if batch.mlmLabels[i] >= 0 { targets[Int(original)] += 1 }
                    row.append(original)
                }
                rows.append(row)
            }
            if step % 8 == 0 || [1, 2, 4].contains(step) { snapshots[step] = (seen, targets) }
        }
        _ = try trainer.train()
        let run = Run(out)
        let ledger = try ExposureLedger.compute(run)
        XCTAssertEqual(ledger.steps, [0, 1, 2, 4, 8, 16, 24])
        XCTAssertEqual(ledger.vocabSize, V)
        for (i, step) in ledger.steps.enumerated() {
            XCTAssertEqual(ledger.tokenSeen[i], snapshots[step]!.0, "tokens seen by step \(step)")
            XCTAssertEqual(ledger.tokenTargets[i], snapshots[step]!.1, "targets by step \(step)")
        }
        XCTAssertGreaterThan(ledger.tokenTargets.last!.reduce(0, +), 0)

        // facts: every statement found whole in a row is counted (the ledger also counts statements whose
        // object is whole while the sentence around it was cut)
        var sizes = WorldSizes()
        sizes.tokens = 20000
        let world = World(seed: 1, sizes: sizes)
        let tok = try WordPieceTokenizer.load(vocab: out.appendingPathComponent("tokenizer/vocab.txt"))
        XCTAssertEqual(ledger.facts.count, world.knowledge.facts.count)
        var whole = [Int](repeating: 0, count: ledger.facts.count)
        let last = ledger.steps.count - 1
        for (f, fact) in world.knowledge.facts.enumerated() where ledger.facts[f].statements > 0 {
            for t in fact.trainedPhrasings {
                let text = worldRelations[fact.relation].phrasings[t].split(separator: " ")
                    .map { String($0.split(separator: "|")[0]) }.joined(separator: " ")
                    .replacingOccurrences(of: "[X]", with: fact.subject).replacingOccurrences(
                        of: "[Y]", with: fact.object)
                let ids = tok.encode(text + " .").ids
                for row in rows where row.count >= ids.count {
                    for s in 0...(row.count - ids.count) where Array(row[s..<(s + ids.count)]) == ids { whole[f] += 1 }
                }
            }
            XCTAssertGreaterThanOrEqual(ledger.factSeen[f][last], whole[f], "\(fact.subject) \(fact.object)")
            XCTAssertLessThanOrEqual(ledger.factMasked[f][last], ledger.factSeen[f][last])
        }
        XCTAssertGreaterThan(whole.reduce(0, +), 0, "some statements were seen whole")
        XCTAssertEqual(ledger.factSeen.map { $0[0] }.reduce(0, +), 0, "nothing is seen by step 0")

        // written: a header, a line per snapshot, a line per fact
        try ledger.write(to: run.exposure, run: run)
        let lines = try String(contentsOf: run.exposure.appendingPathComponent("exposure.jsonl"), encoding: .utf8)
        XCTAssertTrue(lines.hasPrefix("{\"kind\":\"ledger\""))
        XCTAssertEqual(lines.split(separator: "\n").count, 1 + 7 + ledger.facts.count)
    }

    func testAcquisitionAndForgetting() {
        XCTAssertEqual(FactTable.acquisition([false, true, false, true, true]), 3)
        XCTAssertEqual(FactTable.acquisition([true, true]), 0)
        XCTAssertNil(FactTable.acquisition([true, false]))
        XCTAssertEqual(FactTable.forgettingEvents([false, true, false, true, true, false]), [1, 4])
        XCTAssertEqual(FactTable.forgettingEvents([true, true, true]), [])
    }
}

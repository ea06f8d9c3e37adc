import EmbryoCore
import EmbryoLab
import EmbryoRun
import XCTest

final class RowRunnerTests: XCTestCase {
    /// Every row's hidden states through the runner (padded, batched, split over threads) equal the row run
    /// alone, for both batchings; every row is visited once, in order for .inOrder.
    func testHiddenStatesMatchEachRowRunAlone() throws {
        Threads.configure(2)
        defer { Threads.configure(Threads.available) }
        let config = AlbertConfig.preset("tiny", vocabSize: 50)!
        let model = try Albert(config: config)
        model.initializeWeights(seed: 3)
        var rng = Rng(seed: 9)
        let rows: [[Int32]] = (0..<11).map { _ in (0..<(3 + rng.below(20))).map { _ in Int32(5 + rng.below(45)) } }
        let H = config.hiddenSize, L = config.numHiddenLayers
        for batching in [RowRunner.Batching.byLength, .inOrder] {
            var seen: [Int] = []
            let runner = RowRunner(model: model, rows: rows, batching: batching, tokensPerBatch: 48)
            XCTAssertGreaterThan(runner.plan.count, 2, "several batches")
            try runner.forEachPass { pass in
                for (b, r) in pass.rows.enumerated() {
                    seen.append(r)
                    let alone = AlbertBatch(B: 1, T: rows[r].count)
                    for (t, id) in rows[r].enumerated() {
                        alone.ids[t] = id
                        alone.attentionMask[t] = 1
                    }
                    let acts = Activations(
                        config: config, B: 1, T: rows[r].count, maxPredictions: 0, training: false)
                    try model.encode(acts, alone)
                    for l in [0, L] {
                        let got = pass.hidden(l, row: b), want = acts.hiddenState(l)
                        var worst: Float = 0
                        for i in 0..<(rows[r].count * H) { worst = max(worst, abs(got[i] - want[i])) }
                        XCTAssertLessThan(worst, 1e-4, "row \(r) layer \(l) (\(batching))")
                    }
                }
            }
            XCTAssertEqual(seen.sorted(), Array(0..<rows.count))
            if batching == .inOrder { XCTAssertEqual(seen, Array(0..<rows.count)) }
        }
    }
}

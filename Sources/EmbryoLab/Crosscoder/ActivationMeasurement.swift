// Storing one snapshot's activations, as a measurement the MeasurementRunner drives (ActivationStore.build):
// the residual stream after the chosen layer at every position of the store's sentences, written as
// float16 to step-N.f16 under a temporary name and moved into place, with the snapshot's scale cached.

import EmbryoCore
import EmbryoRun
import EmbryoText
import Foundation

/// One snapshot's activations as a measurement: the residual stream after `layer` at every position of the
/// store's sentences, as float16 in `out`/step-N.f16, with its scale as the cached artifact.
final class ActivationMeasurement: SnapshotMeasurement {
    let name = "activations"
    let needs: MeasurementNeeds = []
    let settings: String
    let layer: Int, d: Int, rows: Int, out: URL
    let sents: [StoreSentence]
    /// A hash of the stored token ids.
    let tokensKey: String
    /// Each snapshot's entry of the manifest, by step.
    var stored: [Int: StoreSnapshot] = [:]

    init(layer: Int, d: Int, sentences: [StoreSentence], out: URL) {
        self.layer = layer
        self.d = d
        self.sents = sentences
        self.out = out
        rows = sentences.map(\.ids.count).reduce(0, +)
        tokensKey = String(
            stableHash(sentences.map { $0.ids.map(String.init).joined(separator: " ") }.joined(separator: "\n")),
            radix: 16)
        settings = "activations v2|layer \(layer)|tokens \(tokensKey)"
    }

    func file(_ s: LoadedSnapshot) -> URL { out.appendingPathComponent("\(Run.checkpointName(s.step)).f16") }

    /// The step's file must be whole and the entry this step's (its file is named by step alone).
    func isUsable(_ result: Measured, for s: LoadedSnapshot) -> Bool {
        guard let snap = result.decoded(StoreSnapshot.self), snap.step == s.step, snap.file == file(s).lastPathComponent
        else { return false }
        return (try? FileManager.default.attributesOfItem(atPath: file(s).path)[.size] as? Int) == rows * d * 2
    }

    /// A store built before it was a measurement kept each snapshot's entry beside its file as step-N.json,
    /// with a key of the weights, the layer and the tokens.
    func legacyResult(for s: LoadedSnapshot) -> Measured? {
        struct Entry: Codable {
            var snapshot: StoreSnapshot
            var key: String
        }
        let url = out.appendingPathComponent("\(Run.checkpointName(s.step)).json")
        let key = String(stableHash("activations v1|\(s.weights)|layer \(layer)|\(tokensKey)"), radix: 16)
        guard let data = try? readFile(url), let e = try? JSONDecoder().decode(Entry.self, from: data), e.key == key
        else { return nil }
        return try? Measured(metrics: [], encoding: e.snapshot)
    }

    func collect(_ result: Measured, at s: LoadedSnapshot) { stored[s.step] = result.decoded(StoreSnapshot.self) }

    func measure(_ s: LoadedSnapshot) throws -> Measured {
        // an entry of the former layout goes before the file it describes changes
        try? FileManager.default.removeItem(at: out.appendingPathComponent("\(Run.checkpointName(s.step)).json"))
        let model = try s.model()
        let url = file(s), name = url.lastPathComponent
        let tmp = out.appendingPathComponent(".\(name).tmp-\(writerTag())")
        guard FileManager.default.createFile(atPath: tmp.path, contents: nil) else {
            throw EmbryoError.io(tmp.path, "cannot create")
        }
        let fh = try FileHandle(forWritingTo: tmp)
        var normSum = 0.0, normCount = 0
        // sentences in their own order, about 4,096 positions per batch
        let runner = RowRunner(model: model, rows: sents.map(\.ids), batching: .inOrder)
        try runner.forEachPass { pass in
            var half = [Float16]()
            half.reserveCapacity(pass.rows.map { sents[$0].ids.count }.reduce(0, +) * d)
            for (b, si) in pass.rows.enumerated() {
                let h = pass.hidden(layer, row: b)
                for t in 0..<sents[si].ids.count {
                    let row = h + t * d
                    if normCount < 8192 {
                        var sum: Double = 0
                        for j in 0..<d { sum += Double(row[j]) * Double(row[j]) }
                        normSum += sum.squareRoot()
                        normCount += 1
                    }
                    for j in 0..<d { half.append(Float16(row[j])) }
                }
            }
            do { try half.withUnsafeBytes { try fh.write(contentsOf: Data($0)) } } catch {
                throw EmbryoError.io(tmp.path, "write failed (disk full?): \(systemReason(error))")
            }
        }
        try fh.synchronize()
        try fh.close()
        guard rename(tmp.path, url.path) == 0 else { throw EmbryoError.io(url.path, "cannot move into place") }
        let mean = normSum / Double(max(normCount, 1))
        let snap = StoreSnapshot(step: s.step, file: name, scale: Float(Double(d).squareRoot() / max(mean, 1e-12)))
        return try Measured(metrics: [], encoding: snap)
    }
}

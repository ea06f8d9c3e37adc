// Probe A of "Pretrained Language Model Embryology" (Chiang et al. 2020, section 3): per part of speech,
// token reconstruction (unmasked input; a word is right when every one of its subwords comes back as
// itself) and mask prediction (one copy of the sentence per word with all of that word's subwords
// [MASK]ed; right when all are recovered). Copies are packed into batches (MLMScoring).

import EmbryoCore
import EmbryoRun
import EmbryoText
import Foundation

public struct TagScore: Codable, Sendable, Equatable {
    public var count = 0
    public var reconstructed = 0
    public var predicted = 0
    public var reconstructionAccuracy: Double { count > 0 ? Double(reconstructed) / Double(count) : 0 }
    public var maskPredictionAccuracy: Double { count > 0 ? Double(predicted) / Double(count) : 0 }
}

public struct MaskPredictionResult: Codable, Sendable {
    public var upos: [String: TagScore] = [:]
    public var xpos: [String: TagScore] = [:]
    public var words = 0
    public var reconstructed = 0
    public var predicted = 0
}

public enum MaskPredictionProbe {
    public static func run(model: Albert, sentences: [ProbeSentence], maskId: Int32, tokensPerBatch: Int = 4096) throws
        -> MaskPredictionResult
    {
        // per sentence: one unmasked row (reconstruction), then one row per word with its subwords masked
        var rows: [LabelledRow] = []
        var owner: [(sentence: Int, word: Int)] = []
        for (si, s) in sentences.enumerated() {
            let inner = s.ids.indices.map { $0 == 0 || $0 == s.ids.count - 1 ? Int32(-100) : s.ids[$0] }
            rows.append(LabelledRow(ids: s.ids, labels: inner))
            owner.append((si, -1))
            for (wi, w) in s.words.enumerated() {
                var ids = s.ids, labels = [Int32](repeating: -100, count: s.ids.count)
                for p in w {
                    labels[p] = ids[p]
                    ids[p] = maskId
                }
                rows.append(LabelledRow(ids: ids, labels: labels))
                owner.append((si, wi))
            }
        }
        let scored = try MLMScoring.score(model: model, rows: rows, tokensPerBatch: tokensPerBatch)
        var recon = sentences.map { [Bool](repeating: false, count: $0.words.count) }
        var pred = recon
        for (r, o) in owner.enumerated() {
            let s = sentences[o.sentence], c = scored[r].correct
            if o.word < 0 {
                // labelled positions are 1..<count-1, in order
                for (wi, w) in s.words.enumerated() { recon[o.sentence][wi] = w.allSatisfy { c[$0 - 1] } }
            } else {
                pred[o.sentence][o.word] = c.allSatisfy { $0 }
            }
        }
        var result = MaskPredictionResult()
        for (si, s) in sentences.enumerated() {
            for wi in s.words.indices {
                for (table, tag) in [
                    (\MaskPredictionResult.upos, s.upos[wi]), (\MaskPredictionResult.xpos, s.xpos[wi]),
                ] where tag != "_" {
                    result[keyPath: table][tag, default: TagScore()].count += 1
                    if recon[si][wi] { result[keyPath: table][tag, default: TagScore()].reconstructed += 1 }
                    if pred[si][wi] { result[keyPath: table][tag, default: TagScore()].predicted += 1 }
                }
                result.words += 1
                if recon[si][wi] { result.reconstructed += 1 }
                if pred[si][wi] { result.predicted += 1 }
            }
        }
        return result
    }

    /// Metrics keys: reconstruction/{all,upos/TAG,xpos/TAG} and mask_prediction/... with word counts.
    public static func metrics(_ r: MaskPredictionResult, step: Int) -> [ProbeMetric] {
        var out: [ProbeMetric] = []
        func add(_ key: String, _ right: Int, _ n: Int) {
            out.append(
                ProbeMetric(step: step, probe: "mlm", key: key, value: n > 0 ? Double(right) / Double(n) : 0, count: n))
        }
        add("reconstruction/all", r.reconstructed, r.words)
        add("mask_prediction/all", r.predicted, r.words)
        for (name, table) in [("upos", r.upos), ("xpos", r.xpos)] {
            for tag in table.keys.sorted() {
                add("reconstruction/\(name)/\(tag)", table[tag]!.reconstructed, table[tag]!.count)
                add("mask_prediction/\(name)/\(tag)", table[tag]!.predicted, table[tag]!.count)
            }
        }
        return out
    }
}

/// `mlm`: reconstruction and mask prediction per part of speech.
public final class MaskPredictionMeasurement: ProbeMeasurement {
    public static let probeName = "mlm"
    public static let help = ["reconstruction and mask-prediction accuracy per UPOS (and XPOS) tag"]
    public static let probeNeeds: MeasurementNeeds = [.mlmHead, .probeSentences]
    let inputs: ProbeInputs
    public let settings: String

    public init(_ inputs: ProbeInputs) {
        self.inputs = inputs
        settings = "mlm v2|pos \(inputs.posHash)|max \(inputs.options.maxSentences)"
    }

    public func measure(_ s: LoadedSnapshot) throws -> Measured {
        let r = try MaskPredictionProbe.run(
            model: try s.model(), sentences: try inputs.sentences(for: s), maskId: try s.tokenizer().vocab.maskId)
        return Measured(metrics: MaskPredictionProbe.metrics(r, step: s.step))
    }

    public static func reportSection(_ page: ReportPage) -> String { ProbeReport.mlmSection(page.metrics) }
}

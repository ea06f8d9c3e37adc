// `loss`: held-out MLM loss and accuracy of every snapshot on a fixed masking (HeldOutText), and, from the
// run's training log, its escape from the word-frequency plateau at the last snapshot probed.

import EmbryoCore
import EmbryoRun
import EmbryoText
import Foundation

public final class LossMeasurement: ProbeMeasurement {
    public static let probeName = "loss"
    public static let help = ["held-out MLM loss and accuracy on a fixed masking"]
    public static let probeNeeds: MeasurementNeeds = [.mlmHead, .heldOutText]
    let inputs: ProbeInputs
    public let settings: String
    /// The probe sentences' fixed masking, per vocabulary (when the run's own held-out text does not fit).
    var fromSentences: [String: HeldOutText] = [:]

    public init(_ inputs: ProbeInputs) {
        self.inputs = inputs
        settings =
            "loss v1|"
            + (inputs.runHeldOut?.description
                ?? "pos \(inputs.posHash)|max \(inputs.options.maxSentences)")
    }

    func sentenceText(_ s: LoadedSnapshot) throws -> HeldOutText {
        let key = try inputs.vocabularyKey(s)
        if let h = fromSentences[key] { return h }
        let all = try inputs.sentences(for: s)
        let test = inputs.options.posTrain == nil ? Array(all[(all.count * 4 / 5)...]) : all
        let h = HeldOutText.fromSentences(
            test, maskId: try s.tokenizer().vocab.maskId,
            source: "probe sentences of \(inputs.options.pos?.lastPathComponent ?? "")")
        if inputs.runHeldOut == nil { inputs.heldOutDescription = h.description }
        fromSentences[key] = h
        return h
    }

    public func measure(_ s: LoadedSnapshot) throws -> Measured {
        let model = try s.model()
        if let h = inputs.runHeldOut, h.fits(vocabHash: try s.vocabHash()) {
            return Measured(metrics: try h.run(model: model, step: s.step))
        }
        guard inputs.options.pos != nil else { return Measured(metrics: []) }
        if inputs.runHeldOut != nil {
            inputs.warnOnce("step \(s.step): vocabulary differs from the run's; loss probe on the probe sentences")
        }
        return Measured(metrics: try sentenceText(s).run(model: model, step: s.step))
    }

    /// Without the run's own held-out text, the report names the probe sentences' masking, also when the
    /// loss was cached and another probe loaded the snapshot.
    public func collect(_ result: Measured, at s: LoadedSnapshot) {
        if inputs.runHeldOut == nil, inputs.options.pos != nil, s.isLoaded { _ = try? sentenceText(s) }
    }

    /// The run's escape measures, at the last snapshot with a result.
    public func assemble(steps: [Int]) throws -> [ProbeMetric] {
        guard let last = steps.last, let e = try EscapeSummary.of(inputs.run) else { return [] }
        return e.metrics(at: last)
    }

    public static func reportSection(_ page: ReportPage) -> String {
        ProbeReport.lossSection(page.metrics, trainLog: page.info.trainLog)
    }
}

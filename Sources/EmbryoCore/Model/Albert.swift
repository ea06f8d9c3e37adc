// Albert: the parameters and gradients of AlbertForPreTraining in one buffer each, laid out by
// ParameterLayout, with HF's initialisation (normal(0, initializer_range) for matrices and embeddings,
// LayerNorm 1 and 0, biases 0, the padding row of the word embeddings zeroed).

import Foundation

public final class Albert {
    public let config: AlbertConfig
    public let layout: ParameterLayout
    public let params: FloatBuffer
    public let grads: FloatBuffer
    /// Parts the loaded checkpoint did not hold (transformers' BertModel saves no heads, *ForMaskedLM no
    /// pooler); they keep HF's initialisation and commands that need them refuse to run.
    public var absentParts: Set<ParameterPart> = []
    /// A training-time attention nudge: added, in the first layer application only, to every head's score for
    /// its neighbouring key (previous for even heads, next for odd) before the softmax, so that the first
    /// layer starts as previous- and next-token heads. 0 (HF's model) unless a training recipe sets it.
    public var attentionNudge: Float = 0

    public init(config: AlbertConfig) throws {
        try config.validate()
        self.config = config
        layout = ParameterLayout(config: config)
        params = FloatBuffer(count: layout.total)
        grads = FloatBuffer(count: layout.total)
    }

    public var parameterCount: Int { layout.total }

    /// HF's _init_weights, drawn from one seeded stream in layout order.
    public func initializeWeights(seed: UInt64) {
        var rng = Rng(seed: seed)
        for t in layout.tensors { initialize(t, rng: &rng) }
    }

    /// HF's init for the tensors of `parts` only (the heads a checkpoint lacked), from one stream seeded by
    /// `seed` in layout order.
    public func initializeParts(_ parts: Set<ParameterPart>, seed: UInt64) {
        guard !parts.isEmpty else { return }
        var rng = Rng(seed: seed)
        for t in layout.tensors where parts.contains(t.part) { initialize(t, rng: &rng) }
    }

    /// Re-draws one tensor as HF's init does (used for partial re-initialisation too).
    public func initialize(_ t: ParameterTensor, rng: inout Rng) {
        let p = params.pointer + t.offset
        if t.name.hasSuffix("LayerNorm.weight") || t.name.hasSuffix("layer_norm.weight") {
            p.update(repeating: 1, count: t.count)
        } else if t.name.hasSuffix("bias") {
            p.update(repeating: 0, count: t.count)
        } else {
            rng.fillNormal(p, count: t.count, std: Float(config.initializerRange))
            if t.offset == layout.wordEmbeddings {
                (p + config.padTokenId * config.embeddingSize).update(repeating: 0, count: config.embeddingSize)
            }
        }
    }

    /// Sets the position embeddings to sinusoids (Vaswani et al. 2017, section 3.5) scaled to the
    /// initializer's standard deviation, so that position and word identity start at the same magnitude.
    /// An offset k is then one linear map of any position's vector (a rotation per frequency), which
    /// attention can learn once for all positions instead of position by position.
    public func initializeSinusoidalPositions() {
        let p = params.pointer + layout.positionEmbeddings
        let E = config.embeddingSize
        // sin and cos have a standard deviation of 1/sqrt(2)
        let scale = Float(config.initializerRange) * Float(2).squareRoot()
        for pos in 0..<config.maxPositionEmbeddings {
            for i in stride(from: 0, to: E, by: 2) {
                let angle = Double(pos) / pow(10_000, Double(i) / Double(E))
                p[pos * E + i] = scale * Float(sin(angle))
                if i + 1 < E { p[pos * E + i + 1] = scale * Float(cos(angle)) }
            }
        }
    }

    /// Sets the MLM output bias to a log prior over the vocabulary (e.g. the log unigram distribution
    /// of the training tokens), so that step 0 already predicts word frequency and training starts
    /// from what context adds to it.
    public func setOutputBias(logPrior: [Float]) {
        precondition(logPrior.count == config.vocabSize)
        (params.pointer + layout.mlmBias).update(from: logPrior, count: logPrior.count)
    }

    public func zeroGrad() { grads.zero() }

    /// Whether the checkpoint held the pooler and the sentence head (SOP, or BERT's next sentence), so that
    /// sentence-pair logits are trained ones.
    public var hasSentenceHead: Bool { absentParts.isDisjoint(with: [.pooler, .sentenceHead]) }

    /// Throws when the checkpoint lacked a part `purpose` needs (e.g. the MLM head of a bare BertModel).
    public func require(_ part: ParameterPart, for purpose: String) throws {
        guard absentParts.contains(part) else { return }
        let model = config.family.classPrefix
        let what: String
        switch part {
        case .mlmHead: what = "an MLM head, and the checkpoint has none (saved as transformers' \(model)Model saves)"
        case .sentenceHead, .pooler:
            what =
                "a \(part == .pooler ? "pooler" : "sentence head"), and the checkpoint has none (saved as "
                + "transformers' \(model)ForMaskedLM saves)"
        default: what = "its whole encoder"
        }
        throw EmbryoError.runtime("\(purpose) needs \(what)")
    }

    /// Pointer to a named tensor's parameters (nil for an unknown name).
    public func parameter(_ name: String) -> UnsafeMutablePointer<Float>? {
        layout.tensor(named: name).map { params.pointer + $0.offset }
    }

    public func gradient(_ name: String) -> UnsafeMutablePointer<Float>? {
        layout.tensor(named: name).map { grads.pointer + $0.offset }
    }
}

/// Losses and accuracies of one pretraining forward pass.
public struct PretrainingOutput: Sendable, Equatable {
    public var loss: Float = 0
    public var mlmLoss: Float = 0
    public var sopLoss: Float = 0
    public var mlmCorrect = 0
    public var mlmCount = 0
    public var sopCorrect = 0
    public var sopCount = 0
    /// The syntactic-attention regulariser's sum (without lambda) and arcs, when it is on.
    public var syntacticAttention = SyntacticAttentionTerm()

    public init() {}
    public var mlmAccuracy: Float { mlmCount > 0 ? Float(mlmCorrect) / Float(mlmCount) : 0 }
    public var sopAccuracy: Float { sopCount > 0 ? Float(sopCorrect) / Float(sopCount) : 0 }
}

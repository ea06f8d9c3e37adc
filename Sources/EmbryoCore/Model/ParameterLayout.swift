// ParameterLayout: every tensor of AlbertForPreTraining (or BertForPreTraining) under its HF name, shape and
// offset in one contiguous Float buffer. Parameters, gradients and optimizer moments all share it. Within a
// layer the query, key and value weights (and biases) sit back to back so attention projects q|k|v with a
// single sgemm. BERT has the same pieces under its own names, without the E->H projection.

/// Which part of the network a tensor belongs to (what a checkpoint may lack, what re-initialisation touches).
public enum ParameterPart: Sendable, Hashable {
    case embeddings, projection, layerGroup(Int), pooler, mlmHead, sentenceHead

    /// Parts a checkpoint may leave out: transformers' BertModel and *ForMaskedLM save no heads or no pooler.
    public var isHead: Bool {
        switch self {
        case .pooler, .mlmHead, .sentenceHead: return true
        default: return false
        }
    }
}

public struct ParameterTensor: Sendable, Equatable {
    public let name: String
    public let shape: [Int]
    public let offset: Int
    public let part: ParameterPart
    public var count: Int { shape.reduce(1, *) }
    /// LayerNorm weights and all biases: no weight decay and no LAMB trust ratio (ALBERT's exclusion list).
    public var isNoDecay: Bool { name.contains("LayerNorm") || name.contains("layer_norm") || name.hasSuffix("bias") }
}

/// Offsets of one layer group's tensors.
public struct LayerOffsets: Sendable {
    public var qkvWeight = 0, qkvBias = 0, attnDenseWeight = 0, attnDenseBias = 0, attnLnWeight = 0, attnLnBias = 0
    public var ffnWeight = 0, ffnBias = 0, ffnOutWeight = 0, ffnOutBias = 0, ffnLnWeight = 0, ffnLnBias = 0
}

public struct ParameterLayout: Sendable {
    public private(set) var tensors: [ParameterTensor] = []
    public private(set) var total = 0
    private var index: [String: Int] = [:]

    /// The name prefix of the encoder's tensors ("albert." or "bert."), which transformers' bare
    /// AlbertModel/BertModel saves without.
    public let encoderPrefix: String
    /// ALBERT's E->H projection; BERT's embeddings are already H wide.
    public let hasProjection: Bool
    /// The tied copies transformers may store for the MLM decoder (of the word embeddings and the MLM bias).
    public let tiedDecoderNames: [String]

    // embeddings and projection
    public var wordEmbeddings = 0, positionEmbeddings = 0, tokenTypeEmbeddings = 0, embLnWeight = 0, embLnBias = 0
    public var mapWeight = 0, mapBias = 0
    public var groups: [LayerOffsets] = []
    /// Each group's tensors are one contiguous range of the buffer.
    public private(set) var groupRanges: [Range<Int>] = []
    // heads
    public var poolerWeight = 0, poolerBias = 0
    public var mlmBias = 0, mlmDenseWeight = 0, mlmDenseBias = 0, mlmLnWeight = 0, mlmLnBias = 0
    public var sopWeight = 0, sopBias = 0

    public init(config c: AlbertConfig) {
        let V = c.vocabSize, E = c.embeddingSize, H = c.hiddenSize, I = c.intermediateSize
        let f = c.family
        encoderPrefix = f.encoder
        hasProjection = f.projectsEmbeddings
        let m = f.mlmHead
        tiedDecoderNames = [m + "decoder.weight", m + "decoder.bias"]
        let e = encoderPrefix + "embeddings."
        wordEmbeddings = add(e + "word_embeddings.weight", [V, E], .embeddings)
        positionEmbeddings = add(e + "position_embeddings.weight", [c.maxPositionEmbeddings, E], .embeddings)
        tokenTypeEmbeddings = add(e + "token_type_embeddings.weight", [c.typeVocabSize, E], .embeddings)
        embLnWeight = add(e + "LayerNorm.weight", [E], .embeddings)
        embLnBias = add(e + "LayerNorm.bias", [E], .embeddings)
        if hasProjection {
            mapWeight = add("albert.encoder.embedding_hidden_mapping_in.weight", [H, E], .projection)
            mapBias = add("albert.encoder.embedding_hidden_mapping_in.bias", [H], .projection)
        }
        // per layer: q, k, v, attention output, FFN in and out, and their LayerNorms
        let names = f.layerTensors
        for g in 0..<c.numHiddenGroups {
            let p = f.layerGroup(g)
            let part = ParameterPart.layerGroup(g)
            func t(_ k: Int, _ kind: String, _ shape: [Int]) -> Int { add(p + names[k] + kind, shape, part) }
            var o = LayerOffsets()
            let start = total
            o.qkvWeight = t(0, ".weight", [H, H])
            _ = t(1, ".weight", [H, H])
            _ = t(2, ".weight", [H, H])
            o.qkvBias = t(0, ".bias", [H])
            _ = t(1, ".bias", [H])
            _ = t(2, ".bias", [H])
            o.attnDenseWeight = t(3, ".weight", [H, H])
            o.attnDenseBias = t(3, ".bias", [H])
            o.attnLnWeight = t(4, ".weight", [H])
            o.attnLnBias = t(4, ".bias", [H])
            o.ffnWeight = t(5, ".weight", [I, H])
            o.ffnBias = t(5, ".bias", [I])
            o.ffnOutWeight = t(6, ".weight", [H, I])
            o.ffnOutBias = t(6, ".bias", [H])
            o.ffnLnWeight = t(7, ".weight", [H])
            o.ffnLnBias = t(7, ".bias", [H])
            groups.append(o)
            groupRanges.append(start..<total)
        }
        poolerWeight = add(f.pooler + "weight", [H, H], .pooler)
        poolerBias = add(f.pooler + "bias", [H], .pooler)
        let transform = f.mlmTransform
        mlmBias = add(m + "bias", [V], .mlmHead)
        mlmDenseWeight = add(transform + "dense.weight", [E, H], .mlmHead)
        mlmDenseBias = add(transform + "dense.bias", [E], .mlmHead)
        mlmLnWeight = add(transform + "LayerNorm.weight", [E], .mlmHead)
        mlmLnBias = add(transform + "LayerNorm.bias", [E], .mlmHead)
        sopWeight = add(f.sentenceHead + "weight", [2, H], .sentenceHead)
        sopBias = add(f.sentenceHead + "bias", [2], .sentenceHead)
    }

    private mutating func add(_ name: String, _ shape: [Int], _ part: ParameterPart) -> Int {
        let t = ParameterTensor(name: name, shape: shape, offset: total, part: part)
        index[name] = tensors.count
        tensors.append(t)
        total += t.count
        return t.offset
    }

    public func tensor(named name: String) -> ParameterTensor? { index[name].map { tensors[$0] } }

    /// Tensors of layer group g (what re-initialising a layer touches).
    public func tensors(ofGroup g: Int) -> [ParameterTensor] { tensors.filter { $0.part == .layerGroup(g) } }

}

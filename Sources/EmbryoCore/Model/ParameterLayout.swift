// ParameterLayout: every ALBERT tensor under its HF name, shape and offset in one contiguous Float buffer.
// Parameters, gradients and optimizer moments all share it. Within a layer the query, key and value
// weights (and biases) sit back to back so attention projects q|k|v with a single sgemm.

public struct ParameterTensor: Sendable, Equatable {
    public let name: String
    public let shape: [Int]
    public let offset: Int
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

    // embeddings and projection
    public var wordEmbeddings = 0, positionEmbeddings = 0, tokenTypeEmbeddings = 0, embLnWeight = 0, embLnBias = 0
    public var mapWeight = 0, mapBias = 0
    public var groups: [LayerOffsets] = []
    // heads
    public var poolerWeight = 0, poolerBias = 0
    public var mlmBias = 0, mlmDenseWeight = 0, mlmDenseBias = 0, mlmLnWeight = 0, mlmLnBias = 0
    public var sopWeight = 0, sopBias = 0

    public init(config c: AlbertConfig) {
        let V = c.vocabSize, E = c.embeddingSize, H = c.hiddenSize, I = c.intermediateSize
        let e = "albert.embeddings."
        wordEmbeddings = add(e + "word_embeddings.weight", [V, E])
        positionEmbeddings = add(e + "position_embeddings.weight", [c.maxPositionEmbeddings, E])
        tokenTypeEmbeddings = add(e + "token_type_embeddings.weight", [c.typeVocabSize, E])
        embLnWeight = add(e + "LayerNorm.weight", [E])
        embLnBias = add(e + "LayerNorm.bias", [E])
        mapWeight = add("albert.encoder.embedding_hidden_mapping_in.weight", [H, E])
        mapBias = add("albert.encoder.embedding_hidden_mapping_in.bias", [H])
        for g in 0..<c.numHiddenGroups {
            let p = "albert.encoder.albert_layer_groups.\(g).albert_layers.0."
            var o = LayerOffsets()
            o.qkvWeight = add(p + "attention.query.weight", [H, H])
            _ = add(p + "attention.key.weight", [H, H])
            _ = add(p + "attention.value.weight", [H, H])
            o.qkvBias = add(p + "attention.query.bias", [H])
            _ = add(p + "attention.key.bias", [H])
            _ = add(p + "attention.value.bias", [H])
            o.attnDenseWeight = add(p + "attention.dense.weight", [H, H])
            o.attnDenseBias = add(p + "attention.dense.bias", [H])
            o.attnLnWeight = add(p + "attention.LayerNorm.weight", [H])
            o.attnLnBias = add(p + "attention.LayerNorm.bias", [H])
            o.ffnWeight = add(p + "ffn.weight", [I, H])
            o.ffnBias = add(p + "ffn.bias", [I])
            o.ffnOutWeight = add(p + "ffn_output.weight", [H, I])
            o.ffnOutBias = add(p + "ffn_output.bias", [H])
            o.ffnLnWeight = add(p + "full_layer_layer_norm.weight", [H])
            o.ffnLnBias = add(p + "full_layer_layer_norm.bias", [H])
            groups.append(o)
        }
        poolerWeight = add("albert.pooler.weight", [H, H])
        poolerBias = add("albert.pooler.bias", [H])
        mlmBias = add("predictions.bias", [V])
        mlmDenseWeight = add("predictions.dense.weight", [E, H])
        mlmDenseBias = add("predictions.dense.bias", [E])
        mlmLnWeight = add("predictions.LayerNorm.weight", [E])
        mlmLnBias = add("predictions.LayerNorm.bias", [E])
        sopWeight = add("sop_classifier.classifier.weight", [2, H])
        sopBias = add("sop_classifier.classifier.bias", [2])
    }

    private mutating func add(_ name: String, _ shape: [Int]) -> Int {
        let t = ParameterTensor(name: name, shape: shape, offset: total)
        index[name] = tensors.count
        tensors.append(t)
        total += t.count
        return t.offset
    }

    public func tensor(named name: String) -> ParameterTensor? { index[name].map { tensors[$0] } }

    /// Tensors of layer group g (what re-initialising a layer touches).
    public func tensors(ofGroup g: Int) -> [ParameterTensor] {
        tensors.filter { $0.name.hasPrefix("albert.encoder.albert_layer_groups.\(g).") }
    }
}

// AlbertConfig: the model's shape under HF's config.json keys (transformers' AlbertConfig and BertConfig),
// with the presets embryo trains. num_hidden_groups = 1 shares one block across all layers (ALBERT);
// num_hidden_groups = num_hidden_layers gives unshared layers. model_type "bert" is BERT (transformers'
// BertConfig): no embedding factorisation (E = H), unshared layers, BERT's tensor names and config keys.

import Foundation

public struct AlbertConfig: Codable, Equatable, Sendable {
    public var vocabSize: Int
    public var embeddingSize: Int
    public var hiddenSize: Int
    public var numHiddenLayers: Int
    public var numHiddenGroups: Int
    public var innerGroupNum: Int
    public var numAttentionHeads: Int
    public var intermediateSize: Int
    public var hiddenAct: String
    public var maxPositionEmbeddings: Int
    public var typeVocabSize: Int
    public var layerNormEps: Double
    public var initializerRange: Double
    public var hiddenDropoutProb: Double
    public var attentionProbsDropoutProb: Double
    public var classifierDropoutProb: Double
    public var padTokenId: Int
    public var bosTokenId: Int
    public var eosTokenId: Int
    public var positionEmbeddingType: String
    public var modelType: String
    public var architectures: [String]
    public var tieWordEmbeddings: Bool
    public var dtype: String

    /// transformers' BERT rather than ALBERT: the embeddings are H wide and feed the first layer directly.
    public var isBert: Bool { modelType == "bert" }

    /// The family's names and defaults (ALBERT's for an unknown model_type, which validate() refuses).
    public var family: ModelFamily { ModelFamily.named(modelType) ?? .albert }

    /// The activation of the feed-forward layers and the MLM head.
    public enum Activation: Sendable { case geluTanh, geluErf }

    /// hidden_act names transformers maps to the two GELUs ("gelu" is the exact, erf-based one).
    public static let activations: [String: Activation] = [
        "gelu_new": .geluTanh, "gelu_pytorch_tanh": .geluTanh, "gelu": .geluErf,
    ]
    public var activation: Activation { Self.activations[hiddenAct] ?? .geluTanh }

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", embeddingSize = "embedding_size", hiddenSize = "hidden_size"
        case numHiddenLayers = "num_hidden_layers", numHiddenGroups = "num_hidden_groups"
        case innerGroupNum = "inner_group_num", numAttentionHeads = "num_attention_heads"
        case intermediateSize = "intermediate_size", hiddenAct = "hidden_act"
        case maxPositionEmbeddings = "max_position_embeddings", typeVocabSize = "type_vocab_size"
        case layerNormEps = "layer_norm_eps", initializerRange = "initializer_range"
        case hiddenDropoutProb = "hidden_dropout_prob", attentionProbsDropoutProb = "attention_probs_dropout_prob"
        case classifierDropoutProb = "classifier_dropout_prob"
        case padTokenId = "pad_token_id", bosTokenId = "bos_token_id", eosTokenId = "eos_token_id"
        case positionEmbeddingType = "position_embedding_type", modelType = "model_type", architectures
        case tieWordEmbeddings = "tie_word_embeddings", dtype
        case classifierDropout = "classifier_dropout"
    }

    public init(
        vocabSize: Int, embeddingSize: Int, hiddenSize: Int, numHiddenLayers: Int, numAttentionHeads: Int,
        intermediateSize: Int, numHiddenGroups: Int = 1, maxPositionEmbeddings: Int = 512
    ) {
        self.vocabSize = vocabSize
        self.embeddingSize = embeddingSize
        self.hiddenSize = hiddenSize
        self.numHiddenLayers = numHiddenLayers
        self.numHiddenGroups = numHiddenGroups
        self.innerGroupNum = 1
        self.numAttentionHeads = numAttentionHeads
        self.intermediateSize = intermediateSize
        self.hiddenAct = "gelu_new"
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.typeVocabSize = 2
        self.layerNormEps = 1e-12
        self.initializerRange = 0.02
        self.hiddenDropoutProb = 0
        self.attentionProbsDropoutProb = 0
        self.classifierDropoutProb = 0
        self.padTokenId = 0
        self.bosTokenId = 2
        self.eosTokenId = 3
        self.positionEmbeddingType = "absolute"
        self.modelType = "albert"
        self.architectures = ["AlbertForPreTraining"]
        self.tieWordEmbeddings = true
        self.dtype = "float32"
    }

    /// Decodes HF's config.json; keys HF may omit take the defaults of transformers' AlbertConfig, or of
    /// BertConfig when model_type is "bert" (whose embedding_size is hidden_size and whose layers are unshared).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func opt<T: Decodable>(_ k: CodingKeys, _ d: T) throws -> T { try c.decodeIfPresent(T.self, forKey: k) ?? d }
        modelType = try opt(.modelType, "albert")
        let f = ModelFamily.named(modelType) ?? .albert, bert = f == .bert
        vocabSize = try opt(.vocabSize, f.defaultVocabSize)
        hiddenSize = try opt(.hiddenSize, f.defaultHiddenSize)
        embeddingSize = bert ? hiddenSize : try opt(.embeddingSize, 128)
        numHiddenLayers = try opt(.numHiddenLayers, 12)
        numHiddenGroups = bert ? numHiddenLayers : try opt(.numHiddenGroups, 1)
        innerGroupNum = bert ? 1 : try opt(.innerGroupNum, 1)
        numAttentionHeads = try opt(.numAttentionHeads, f.defaultHeads)
        intermediateSize = try opt(.intermediateSize, f.defaultIntermediateSize)
        hiddenAct = try opt(.hiddenAct, f.defaultActivation)
        maxPositionEmbeddings = try opt(.maxPositionEmbeddings, 512)
        typeVocabSize = try opt(.typeVocabSize, 2)
        layerNormEps = try opt(.layerNormEps, 1e-12)
        initializerRange = try opt(.initializerRange, 0.02)
        hiddenDropoutProb = try opt(.hiddenDropoutProb, f.defaultDropout)
        attentionProbsDropoutProb = try opt(.attentionProbsDropoutProb, f.defaultDropout)
        classifierDropoutProb =
            bert ? try opt(.classifierDropout, hiddenDropoutProb) : try opt(.classifierDropoutProb, 0.1)
        padTokenId = try opt(.padTokenId, 0)
        bosTokenId = try opt(.bosTokenId, 2)
        eosTokenId = try opt(.eosTokenId, 3)
        positionEmbeddingType = try opt(.positionEmbeddingType, "absolute")
        architectures = try opt(.architectures, [f.classPrefix + "ForPreTraining"])
        tieWordEmbeddings = try opt(.tieWordEmbeddings, true)
        dtype = try opt(.dtype, "float32")
    }

    /// Writes the keys of transformers' config class for the model type (BertConfig has no embedding_size,
    /// layer groups or bos/eos ids).
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(vocabSize, forKey: .vocabSize)
        try c.encode(hiddenSize, forKey: .hiddenSize)
        try c.encode(numHiddenLayers, forKey: .numHiddenLayers)
        try c.encode(numAttentionHeads, forKey: .numAttentionHeads)
        try c.encode(intermediateSize, forKey: .intermediateSize)
        try c.encode(hiddenAct, forKey: .hiddenAct)
        try c.encode(maxPositionEmbeddings, forKey: .maxPositionEmbeddings)
        try c.encode(typeVocabSize, forKey: .typeVocabSize)
        try c.encode(layerNormEps, forKey: .layerNormEps)
        try c.encode(initializerRange, forKey: .initializerRange)
        try c.encode(hiddenDropoutProb, forKey: .hiddenDropoutProb)
        try c.encode(attentionProbsDropoutProb, forKey: .attentionProbsDropoutProb)
        try c.encode(padTokenId, forKey: .padTokenId)
        try c.encode(positionEmbeddingType, forKey: .positionEmbeddingType)
        try c.encode(modelType, forKey: .modelType)
        try c.encode(architectures, forKey: .architectures)
        try c.encode(tieWordEmbeddings, forKey: .tieWordEmbeddings)
        try c.encode(dtype, forKey: .dtype)
        if isBert {
            try c.encode(classifierDropoutProb, forKey: .classifierDropout)
        } else {
            try c.encode(embeddingSize, forKey: .embeddingSize)
            try c.encode(numHiddenGroups, forKey: .numHiddenGroups)
            try c.encode(innerGroupNum, forKey: .innerGroupNum)
            try c.encode(classifierDropoutProb, forKey: .classifierDropoutProb)
            try c.encode(bosTokenId, forKey: .bosTokenId)
            try c.encode(eosTokenId, forKey: .eosTokenId)
        }
    }

    public static let presetNames = ["tiny", "small", "base", "bert-tiny", "bert-small", "bert-base"]

    /// tiny (E 64, H 128, 2 layers), small (E 128, H 256, 6 layers), base (ALBERT-base); the bert- presets
    /// are BERT at the same hidden sizes (E = H, unshared layers, exact GELU; bert-base is BERT-base).
    public static func preset(_ name: String, vocabSize: Int) -> AlbertConfig? {
        if name.hasPrefix("bert-") {
            let size = String(name.dropFirst(5))
            return presetNames.contains(size) ? preset(size, vocabSize: vocabSize)?.bert() : nil
        }
        switch name {
        case "tiny":
            return AlbertConfig(
                vocabSize: vocabSize, embeddingSize: 64, hiddenSize: 128, numHiddenLayers: 2,
                numAttentionHeads: 2, intermediateSize: 512)
        case "small":
            return AlbertConfig(
                vocabSize: vocabSize, embeddingSize: 128, hiddenSize: 256, numHiddenLayers: 6,
                numAttentionHeads: 4, intermediateSize: 1024)
        case "base":
            return AlbertConfig(
                vocabSize: vocabSize, embeddingSize: 128, hiddenSize: 768, numHiddenLayers: 12,
                numAttentionHeads: 12, intermediateSize: 3072)
        default:
            return nil
        }
    }

    /// A preset name or a config.json path, with the given vocabulary size (a file's own vocab_size is kept
    /// when `vocabSize` is nil). An unknown name that is not a file is a usage error.
    public static func resolve(_ presetOrFile: String, vocabSize: Int?) throws -> AlbertConfig {
        if let c = preset(presetOrFile, vocabSize: vocabSize ?? 30000) { return c }
        guard presetOrFile.hasSuffix(".json") || FileManager.default.fileExists(atPath: presetOrFile) else {
            throw EmbryoError.usage(
                "The value '\(presetOrFile)' is invalid for '--config <preset|file>': expected "
                    + presetNames.joined(separator: ", ") + " or a config.json path")
        }
        var c = try load(URL(fileURLWithPath: presetOrFile))
        if let vocabSize { c.vocabSize = vocabSize }
        return c
    }

    /// The BERT of the same size: embeddings H wide, unshared layers, exact GELU, BERT's names.
    public func bert() -> AlbertConfig {
        var c = self
        c.modelType = "bert"
        c.embeddingSize = hiddenSize
        c.numHiddenGroups = numHiddenLayers
        c.hiddenAct = "gelu"
        c.architectures = [ModelFamily.bert.classPrefix + "ForPreTraining"]
        return c
    }

    /// Unshared layers: one group per layer.
    public func unshared() -> AlbertConfig {
        var c = self
        c.numHiddenGroups = numHiddenLayers
        return c
    }

    /// Group whose weights layer application `layer` uses, as HF's AlbertTransformer computes it.
    public func group(ofLayer layer: Int) -> Int { layer / (numHiddenLayers / numHiddenGroups) }

    /// The largest model the engine accepts (16 GB of weights, gradients and optimizer moments).
    public static let maxParameters = 1_000_000_000

    /// Throws a readable error when the shape is not one the engine runs.
    public func validate() throws {
        func fail(_ s: String) throws -> Never { throw EmbryoError.invalidConfig(s) }
        for (k, v) in [
            ("vocab_size", vocabSize), ("embedding_size", embeddingSize), ("hidden_size", hiddenSize),
            ("num_hidden_layers", numHiddenLayers), ("num_attention_heads", numAttentionHeads),
            ("intermediate_size", intermediateSize), ("max_position_embeddings", maxPositionEmbeddings),
            ("type_vocab_size", typeVocabSize), ("num_hidden_groups", numHiddenGroups),
        ] where v <= 0 {
            try fail("\(k) must be positive, got \(v)")
        }
        // sizes far beyond any model this engine can hold are refused before anything is allocated
        for (k, v, limit) in [
            ("vocab_size", vocabSize, 1 << 22), ("embedding_size", embeddingSize, 1 << 16),
            ("hidden_size", hiddenSize, 1 << 16), ("num_hidden_layers", numHiddenLayers, 1 << 10),
            ("num_attention_heads", numAttentionHeads, 1 << 10), ("intermediate_size", intermediateSize, 1 << 18),
            ("max_position_embeddings", maxPositionEmbeddings, 1 << 16), ("type_vocab_size", typeVocabSize, 1 << 10),
        ] where v > limit {
            try fail("\(k) \(v) is beyond the engine's limit of \(limit)")
        }
        // (after the limits above, the layout's sizes cannot overflow; it allocates nothing)
        let params = ParameterLayout(config: self).total
        if params > AlbertConfig.maxParameters {
            try fail(
                "the model would have \(params) parameters, beyond the engine's limit of \(AlbertConfig.maxParameters) "
                    + "(weights, gradients and two optimizer moments take 16 bytes each)")
        }
        if hiddenSize % numAttentionHeads != 0 {
            try fail("hidden_size \(hiddenSize) is not a multiple of num_attention_heads \(numAttentionHeads)")
        }
        if numHiddenLayers % numHiddenGroups != 0 {
            try fail("num_hidden_layers \(numHiddenLayers) is not a multiple of num_hidden_groups \(numHiddenGroups)")
        }
        if innerGroupNum != 1 { try fail("inner_group_num must be 1, got \(innerGroupNum)") }
        if Self.activations[hiddenAct] == nil {
            try fail(
                "hidden_act must be one of \(Self.activations.keys.sorted().joined(separator: ", ")), got \(hiddenAct)")
        }
        if ModelFamily.named(modelType) == nil {
            try fail(
                "model_type must be \(ModelFamily.all.map(\.modelType).joined(separator: " or ")), got \(modelType)")
        }
        if isBert && (embeddingSize != hiddenSize || numHiddenGroups != numHiddenLayers) {
            try fail("a BERT config has embedding_size = hidden_size and one layer group per layer")
        }
        if positionEmbeddingType != "absolute" {
            try fail("position_embedding_type must be absolute, got \(positionEmbeddingType)")
        }
        if !tieWordEmbeddings { try fail("tie_word_embeddings must be true (the MLM decoder is the word embeddings)") }
        if padTokenId < 0 || padTokenId >= vocabSize { try fail("pad_token_id \(padTokenId) outside the vocabulary") }
    }

    /// Reads a config.json file.
    public static func load(_ url: URL) throws -> AlbertConfig {
        let data = try readFile(url)
        let cfg: AlbertConfig
        do { cfg = try JSONDecoder().decode(AlbertConfig.self, from: data) } catch {
            throw EmbryoError.format(url.path, "not a valid ALBERT or BERT config.json: \(describe(error))")
        }
        try cfg.validate()
        return cfg
    }

    /// Writes config.json atomically, keys sorted as save_pretrained does.
    public func save(_ url: URL) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try writeAtomically(try enc.encode(self) + Data("\n".utf8), to: url)
    }
}

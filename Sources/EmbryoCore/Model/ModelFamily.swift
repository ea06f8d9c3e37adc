// What differs between the two model families embryo reads and writes, in one table each: transformers'
// class names and state-dict keys, the sentence head's names, whether embeddings are projected, and the
// defaults transformers' config class gives keys a config.json leaves out. One implementation (Albert,
// ParameterLayout, AlbertConfig) reads the table instead of asking which family it is.

import Foundation

public struct ModelFamily: Sendable, Equatable {
    /// config.json's model_type.
    public let modelType: String
    /// transformers' class prefix: <prefix>ForPreTraining, <prefix>ForSequenceClassification, <prefix>Model.
    public let classPrefix: String
    /// State-dict prefixes: the encoder, each layer group (index inserted at `{g}`), the pooler, the MLM head
    /// and its transform, the sentence head.
    public let encoder: String
    public let layerGroup: String
    public let pooler: String
    public let mlmHead: String
    public let mlmTransform: String
    public let sentenceHead: String
    /// Per layer: q, k, v, attention output, its LayerNorm, FFN in, FFN out, its LayerNorm.
    public let layerTensors: [String]
    /// An embedding projection E -> H before the first layer (ALBERT's factorisation).
    public let projectsEmbeddings: Bool
    /// The sentence head's logits and labels as transformers names them (SOP, or next sentence).
    public let sentenceLogits: String
    public let sentenceLabel: String
    /// The classifier's dropout key in config.json.
    public let classifierDropoutKey: String
    /// Defaults of transformers' config class for keys a config.json may omit.
    public let defaultVocabSize: Int, defaultHiddenSize: Int, defaultHeads: Int, defaultIntermediateSize: Int
    public let defaultActivation: String, defaultDropout: Double

    public static let albert = ModelFamily(
        modelType: "albert", classPrefix: "Albert", encoder: "albert.",
        layerGroup: "albert.encoder.albert_layer_groups.{g}.albert_layers.0.", pooler: "albert.pooler.",
        mlmHead: "predictions.", mlmTransform: "predictions.", sentenceHead: "sop_classifier.classifier.",
        layerTensors: [
            "attention.query", "attention.key", "attention.value", "attention.dense", "attention.LayerNorm", "ffn",
            "ffn_output", "full_layer_layer_norm",
        ],
        projectsEmbeddings: true, sentenceLogits: "sop_logits", sentenceLabel: "sentence_order_label",
        classifierDropoutKey: "classifier_dropout_prob", defaultVocabSize: 30000, defaultHiddenSize: 4096,
        defaultHeads: 64, defaultIntermediateSize: 16384, defaultActivation: "gelu_new", defaultDropout: 0)

    public static let bert = ModelFamily(
        modelType: "bert", classPrefix: "Bert", encoder: "bert.", layerGroup: "bert.encoder.layer.{g}.",
        pooler: "bert.pooler.dense.", mlmHead: "cls.predictions.", mlmTransform: "cls.predictions.transform.",
        sentenceHead: "cls.seq_relationship.",
        layerTensors: [
            "attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
            "attention.output.LayerNorm", "intermediate.dense", "output.dense", "output.LayerNorm",
        ],
        projectsEmbeddings: false, sentenceLogits: "seq_relationship_logits", sentenceLabel: "next_sentence_label",
        classifierDropoutKey: "classifier_dropout", defaultVocabSize: 30522, defaultHiddenSize: 768,
        defaultHeads: 12, defaultIntermediateSize: 3072, defaultActivation: "gelu", defaultDropout: 0.1)

    public static let all = [albert, bert]

    /// The family of a model_type (nil for one embryo does not know).
    public static func named(_ modelType: String) -> ModelFamily? { all.first { $0.modelType == modelType } }

    /// Layer group g's prefix.
    public func layerGroup(_ g: Int) -> String { layerGroup.replacingOccurrences(of: "{g}", with: "\(g)") }
}

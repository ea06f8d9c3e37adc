// tokenizer_config.json beside vocab.txt, as transformers' BertTokenizer writes it, so that
// AutoTokenizer.from_pretrained(dir) rebuilds the same tokenizer; and loading a tokenizer from a
// vocab.txt, reading do_lower_case from that file when it is there.

import EmbryoCore
import Foundation

public struct TokenizerConfig: Codable, Equatable, Sendable {
    public var tokenizerClass = "BertTokenizer"
    public var doLowerCase: Bool
    public var doBasicTokenize = true
    public var tokenizeChineseChars = true
    public var stripAccents: Bool? = nil
    public var modelMaxLength = 512
    public var unkToken = "[UNK]", sepToken = "[SEP]", padToken = "[PAD]", clsToken = "[CLS]", maskToken = "[MASK]"
    public var cleanUpTokenizationSpaces = false

    enum CodingKeys: String, CodingKey {
        case tokenizerClass = "tokenizer_class", doLowerCase = "do_lower_case", doBasicTokenize = "do_basic_tokenize"
        case tokenizeChineseChars = "tokenize_chinese_chars", stripAccents = "strip_accents"
        case modelMaxLength = "model_max_length", unkToken = "unk_token", sepToken = "sep_token"
        case padToken = "pad_token", clsToken = "cls_token", maskToken = "mask_token"
        case cleanUpTokenizationSpaces = "clean_up_tokenization_spaces"
    }

    public init(doLowerCase: Bool, modelMaxLength: Int = 512) {
        self.doLowerCase = doLowerCase
        self.modelMaxLength = modelMaxLength
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        doLowerCase = try c.decodeIfPresent(Bool.self, forKey: .doLowerCase) ?? true
        tokenizerClass = try c.decodeIfPresent(String.self, forKey: .tokenizerClass) ?? "BertTokenizer"
        stripAccents = try c.decodeIfPresent(Bool.self, forKey: .stripAccents)
        modelMaxLength = try c.decodeIfPresent(Int.self, forKey: .modelMaxLength) ?? 512
    }

    public func save(_ url: URL) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try writeAtomically(try enc.encode(self) + Data("\n".utf8), to: url)
    }

    public static func load(_ url: URL) throws -> TokenizerConfig {
        do { return try JSONDecoder().decode(TokenizerConfig.self, from: try readFile(url)) } catch let e as EmbryoError
        {
            throw e
        } catch {
            throw EmbryoError.format(url.path, "not a valid tokenizer_config.json: \(describe(error))")
        }
    }
}

extension WordPieceTokenizer {
    /// Loads vocab.txt; case handling from `lowercase`, else tokenizer_config.json beside it, else
    /// guessed from the vocabulary (upper-case letters in it mean cased).
    public static func load(vocab url: URL, lowercase: Bool? = nil) throws -> WordPieceTokenizer {
        let vocab = try Vocabulary.load(url)
        var lower = lowercase
        let cfg = url.deletingLastPathComponent().appendingPathComponent("tokenizer_config.json")
        if lower == nil, FileManager.default.fileExists(atPath: cfg.path) {
            let c = try TokenizerConfig.load(cfg)
            if let strip = c.stripAccents, strip != c.doLowerCase {
                throw EmbryoError.format(
                    cfg.path,
                    "strip_accents \(strip) with do_lower_case \(c.doLowerCase) is not supported: "
                        + "embryo strips accents exactly when it lower-cases, as BERT's default")
            }
            lower = c.doLowerCase
        }
        return WordPieceTokenizer(vocab: vocab, lowercase: lower)
    }

    /// Writes vocab.txt and tokenizer_config.json into `dir`.
    public func save(to dir: URL) throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try vocab.save(dir.appendingPathComponent("vocab.txt"))
        try TokenizerConfig(doLowerCase: lowercase).save(dir.appendingPathComponent("tokenizer_config.json"))
    }
}

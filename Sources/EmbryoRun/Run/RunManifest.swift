// run.json: what a pretraining run was made from (settings, model, corpus files and their hashes, the
// vocabulary, the token cache) and the snapshots it plans, written when training starts and read by
// every command that needs more of the run than its snapshots.

import EmbryoCore
import Foundation

public struct RunManifest: Codable, Sendable {
    public struct CorpusFile: Codable, Sendable {
        public var path: String
        public var kind: String
        public var bytes: Int
        public var fnv1a64: String

        public init(path: String, kind: String, bytes: Int, fnv1a64: String) {
            (self.path, self.kind, self.bytes, self.fnv1a64) = (path, kind, bytes, fnv1a64)
        }
    }

    public struct VocabularyFile: Codable, Sendable {
        public var path: String
        public var size: Int
        public var fnv1a64: String
        public var lowercase: Bool

        public init(path: String, size: Int, fnv1a64: String, lowercase: Bool) {
            (self.path, self.size, self.fnv1a64, self.lowercase) = (path, size, fnv1a64, lowercase)
        }
    }

    public struct DataSummary: Codable, Sendable {
        public var tokens: Int
        public var sentences: Int
        public var documents: Int
        public var heldOutDocuments: Int
        public var maxPredictionsPerSeq: Int

        public init(tokens: Int, sentences: Int, documents: Int, heldOutDocuments: Int, maxPredictionsPerSeq: Int) {
            (self.tokens, self.sentences, self.documents) = (tokens, sentences, documents)
            (self.heldOutDocuments, self.maxPredictionsPerSeq) = (heldOutDocuments, maxPredictionsPerSeq)
        }

        enum CodingKeys: String, CodingKey {
            case tokens, sentences, documents, heldOutDocuments = "held_out_documents"
            case maxPredictionsPerSeq = "max_predictions_per_seq"
        }
    }

    public struct Machine: Codable, Sendable {
        public var threads: Int
        public var cores: Int
        public var blasCore: String

        public init(threads: Int, cores: Int, blasCore: String) {
            (self.threads, self.cores, self.blasCore) = (threads, cores, blasCore)
        }

        enum CodingKeys: String, CodingKey { case threads, cores, blasCore = "blas_core" }
    }

    /// The built-in world the corpus came from (absent for a run on the user's corpus).
    public struct WorldInfo: Codable, Sendable {
        public var seed: Int
        public var tokens: Int
        public var dir: String
        public var reused: Bool

        public init(seed: Int, tokens: Int, dir: String, reused: Bool) {
            (self.seed, self.tokens, self.dir, self.reused) = (seed, tokens, dir, reused)
        }
    }

    /// Where a branched run left its parent: the parent run, the snapshot step, the settings changed and the
    /// edits of the built-in world's knowledge base applied from that step on.
    public struct BranchInfo: Codable, Sendable, Equatable {
        public var parent: String
        public var step: Int
        public var changed: [String]
        public var worldEdits: [String]

        public init(parent: String, step: Int, changed: [String], worldEdits: [String]) {
            (self.parent, self.step, self.changed, self.worldEdits) = (parent, step, changed, worldEdits)
        }

        enum CodingKeys: String, CodingKey { case parent, step, changed, worldEdits = "world_edits" }
    }

    public var embryoVersion: String
    public var config: PretrainConfig
    public var model: AlbertConfig
    public var seed: Int
    public var corpus: [CorpusFile]
    public var vocabulary: VocabularyFile
    /// The tokenized corpus the batches are drawn from (a cache shared by runs beside this one).
    public var tokenCache: String
    public var data: DataSummary
    public var checkpointSteps: [Int]
    public var machine: Machine
    public var world: WorldInfo?
    public var branch: BranchInfo? = nil
    /// fnv1a64 of the token cache's bytes when training started (nil in older runs): resume and every replay
    /// of the run's batches check it.
    public var tokenCacheHash: String? = nil

    enum CodingKeys: String, CodingKey {
        case embryoVersion = "embryo_version", config, model, seed, corpus, vocabulary, tokenCache = "token_cache"
        case data, checkpointSteps = "checkpoint_steps", machine, world, branch
        case tokenCacheHash = "token_cache_fnv1a64"
    }

    public init(
        embryoVersion: String, config: PretrainConfig, model: AlbertConfig, seed: Int, corpus: [CorpusFile],
        vocabulary: VocabularyFile, tokenCache: String, data: DataSummary, checkpointSteps: [Int], machine: Machine,
        world: WorldInfo?
    ) {
        (self.embryoVersion, self.config, self.model, self.seed) = (embryoVersion, config, model, seed)
        (self.corpus, self.vocabulary, self.tokenCache, self.data) = (corpus, vocabulary, tokenCache, data)
        (self.checkpointSteps, self.machine, self.world) = (checkpointSteps, machine, world)
    }

    public static func read(_ url: URL) throws -> RunManifest {
        let data = try readFile(url)
        do {
            return try JSONDecoder().decode(RunManifest.self, from: data)
        } catch {
            throw EmbryoError.format(url.path, "not a valid run.json: \(describe(error))")
        }
    }

    public func write(to url: URL) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try writeAtomically(try enc.encode(self) + Data("\n".utf8), to: url)
    }
}

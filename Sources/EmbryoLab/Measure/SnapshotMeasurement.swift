// The contract for measuring the snapshots of a run. A measurement names itself, says what it needs, gives
// the settings its result depends on, measures one snapshot and, when it needs every snapshot (similarity
// to the last, per-word histories, a store's index), assembles them afterwards. MeasurementRunner does the
// rest (cache, job-array shards, watching a running pretrain, progress, the stop signal) once for all.

import EmbryoCore
import EmbryoRun
import EmbryoText
import Foundation

/// What a measurement needs beyond the encoder's weights.
public struct MeasurementNeeds: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// The snapshot's MLM head (a bare encoder's snapshot cannot give it).
    public static let mlmHead = MeasurementNeeds(rawValue: 1 << 0)
    /// Sentences with gold UD annotation (the run's probe.conllu or --pos).
    public static let probeSentences = MeasurementNeeds(rawValue: 1 << 1)
    /// LAMA facts (the run's facts/ or --facts).
    public static let facts = MeasurementNeeds(rawValue: 1 << 2)
    /// Held-out text: the run's own held-out split, else the probe sentences.
    public static let heldOutText = MeasurementNeeds(rawValue: 1 << 3)
    /// A downstream task (GLUE layout).
    public static let task = MeasurementNeeds(rawValue: 1 << 4)
    /// Minimal pairs (BLiMP's layout, --pairs).
    public static let minimalPairs = MeasurementNeeds(rawValue: 1 << 5)
}

/// One snapshot's result: metrics, and an artifact in the measurement's own JSON that is cached with them
/// (per-fact results, per-word losses, fine-tuning outcomes).
public struct Measured: Codable, Sendable, Equatable {
    public var metrics: [ProbeMetric]
    public var artifact: String?

    public init(metrics: [ProbeMetric], artifact: String? = nil) {
        self.metrics = metrics
        self.artifact = artifact
    }

    /// A result whose artifact is `value` as sorted-key JSON.
    public init<T: Encodable>(metrics: [ProbeMetric], encoding value: T) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        self.init(metrics: metrics, artifact: String(decoding: try enc.encode(value), as: UTF8.self))
    }

    /// The artifact decoded as `T` (nil when there is none or it is not a `T`).
    public func decoded<T: Decodable>(_ type: T.Type) -> T? {
        artifact.flatMap { try? JSONDecoder().decode(T.self, from: Data($0.utf8)) }
    }
}

public protocol SnapshotMeasurement: AnyObject {
    /// The name in metrics' probe field, in cache file names and in timing lines.
    var name: String { get }
    var needs: MeasurementNeeds { get }
    /// Everything besides the weights that decides the result, with a version that changes with the method
    /// ("mlm v2|pos <hash>|max 1000"). A cached result is reused only under the same settings.
    var settings: String { get }
    /// Measures one snapshot.
    func measure(_ snapshot: LoadedSnapshot) throws -> Measured
    /// Sees each snapshot's result in step order, measured now or read from the cache.
    func collect(_ result: Measured, at snapshot: LoadedSnapshot)
    /// Whether a cached result can stand for `snapshot`: its artifact reads back, and the files this
    /// measurement keeps outside the cache for it are in place and its own (else it is measured again).
    func isUsable(_ result: Measured, for snapshot: LoadedSnapshot) -> Bool
    /// A result left by an earlier version of the measurement in its own place (read once, then cached).
    func legacyResult(for snapshot: LoadedSnapshot) -> Measured?
    /// After every snapshot: metrics and files that need all of them (`steps`: those with a result).
    func assemble(steps: [Int]) throws -> [ProbeMetric]
}

extension SnapshotMeasurement {
    public func collect(_ result: Measured, at snapshot: LoadedSnapshot) {}
    public func isUsable(_ result: Measured, for snapshot: LoadedSnapshot) -> Bool { true }
    public func legacyResult(for snapshot: LoadedSnapshot) -> Measured? { nil }
    public func assemble(steps: [Int]) throws -> [ProbeMetric] { [] }
}

/// A snapshot as a measurement sees it: its step and folder, its weights' hash, the runner's cache folder,
/// and the model and tokenizer, loaded on first use and shared by every measurement of the snapshot.
public final class LoadedSnapshot {
    public let snapshot: Snapshot
    /// Identifies the network (weights and config.json).
    public let weights: String
    /// The runner's cache folder, where measurements may keep per-snapshot files of their own.
    public let cache: URL
    private var loaded: (model: Albert, tokenizer: WordPieceTokenizer, vocabHash: String)?

    /// Said when the snapshot cannot be read: the runner skips it or stops, as it was told.
    public struct Unreadable: Error {
        public let reason: String
        public let underlying: Error
    }

    init(_ snapshot: Snapshot, cache: URL) throws {
        self.snapshot = snapshot
        self.cache = cache
        do { weights = try snapshot.weightsHash() } catch {
            throw Unreadable(reason: describe(error), underlying: error)
        }
    }

    public var step: Int { snapshot.step }
    public var dir: URL { snapshot.dir }

    /// A per-snapshot file name in the cache: `<prefix>-step-NNNNNN-<weights><suffix>`.
    public func cacheFile(_ prefix: String, suffix: String) -> URL {
        cache.appendingPathComponent("\(prefix)-\(Run.checkpointName(step))-\(weights)\(suffix)")
    }

    func load() throws -> (model: Albert, tokenizer: WordPieceTokenizer, vocabHash: String) {
        if let l = loaded { return l }
        do {
            let (m, t) = try snapshot.load()
            let l = (model: m, tokenizer: t, vocabHash: try snapshot.vocabHash())
            loaded = l
            return l
        } catch {
            throw Unreadable(reason: describe(error), underlying: error)
        }
    }

    public var isLoaded: Bool { loaded != nil }
    public func model() throws -> Albert { try load().model }
    public func tokenizer() throws -> WordPieceTokenizer { try load().tokenizer }
    public func vocabHash() throws -> String { try load().vocabHash }
}

// What the probes read besides a snapshot: the probe sentences (CoNLL-U), LAMA facts and paraphrases, the
// run's held-out text. Checked once before any snapshot is probed (errors name the file and line), and
// tokenized once per vocabulary.

import EmbryoCore
import EmbryoRun
import EmbryoText
import Foundation

public struct ProbeOptions: Sendable {
    /// Probe names (ProbeRegistry), in the order their metrics are written; nil: the run's defaults
    /// (`ProbeRegistry.defaults(for:)`).
    public var probes: [String]? = nil
    public var pos: URL?
    public var posTrain: URL?
    public var facts: String?
    /// ParaRel-style paraphrase patterns: a folder of <relation>.jsonl with a "pattern" per line.
    public var patterns: String?
    public var layers: [Int]?  // nil: every layer
    public var maxSentences = 1000
    /// Minimal pairs: a BLiMP data/ folder or one file of pairs (the world's pairs/ by default); how to score
    /// them; a sample per paradigm.
    public var pairs: URL?
    public var pll = PLLVariant.wordL2R
    public var pairsPerParadigm: Int?
    /// The attention probe's rows: nil, one probe sentence per row; N, the sentences packed into rows of up
    /// to N tokens (AttentionProbe.rows).
    public var attentionPack: Int?
    /// The llc probe's sampler, chains and minibatches.
    public var llc = LlcSettings()
    public init() {}
}

public final class ProbeInputs {
    public let run: Run
    /// Where the probes' tables, report and files of their own go.
    public let out: URL
    public private(set) var options: ProbeOptions
    let warnOnce: (String) -> Void
    /// Hashes of the files read, for the probes' settings.
    public private(set) var posHash = "-", trainHash = "first-80%"
    public private(set) var relations: [LamaRelation] = []
    public private(set) var missingRelations: [String] = []
    public private(set) var patterns: [String: [String]] = [:]
    /// The minimal pairs (a seeded sample of each paradigm with --pairs-per-paradigm) and a hash of them.
    public private(set) var pairs: [MinimalPair] = []
    public private(set) var pairsHash = "-"
    /// The run's own held-out text (nil for a folder of checkpoints without its token cache).
    public private(set) var runHeldOut: HeldOutText?
    /// What the loss probe measured on, for the report.
    public var heldOutDescription = ""
    private var sentences: [String: [ProbeSentence]] = [:]

    public init(
        run: Run, options: ProbeOptions, out: URL, needs: MeasurementNeeds, warnOnce: @escaping (String) -> Void
    ) throws {
        self.run = run
        self.out = out
        self.options = options
        self.warnOnce = warnOnce
        let checkpoints = run.checkpoints, world = run.world
        let needsPos = needs.contains(.probeSentences)
        if needsPos || (needs.contains(.heldOutText) && options.pos == nil) {
            if self.options.pos == nil, let w = world { self.options.pos = w.appendingPathComponent("probe.conllu") }
            if self.options.pos == nil && needsPos {
                throw EmbryoError.usage(
                    "\(checkpoints.path) is not a run on the built-in world, so there is no default probe set: "
                        + "pass --pos FILE.conllu (any UD treebank)")
            }
        }
        if needs.contains(.facts) { try readFacts() }
        if needs.contains(.minimalPairs) {
            if self.options.pairs == nil { self.options.pairs = ProbeRegistry.worldPairs(run) }
            guard let p = self.options.pairs else {
                throw EmbryoError.usage(
                    "the pairs probe needs --pairs PATH (BLiMP's data/ folder as distributed, or one <UID>.jsonl "
                        + "file): \(checkpoints.path) has no world with pairs/")
            }
            pairs = MinimalPairs.sample(try MinimalPairs.read(p), perParadigm: self.options.pairsPerParadigm)
            guard !pairs.isEmpty else { throw EmbryoError.format(p.path, "no minimal pairs") }
            pairsHash = String(
                stableHash(pairs.map { "\($0.uid)\t\($0.good)\t\($0.bad)" }.joined(separator: "\n")), radix: 16)
        }
        if let pos = self.options.pos { _ = try ConllU.read(pos) }  // errors (file:line) before any probing
        if let t = self.options.posTrain { _ = try ConllU.read(t) }
        if needs.contains(.heldOutText) {
            runHeldOut = try HeldOutText.fromRun(run)
            if runHeldOut == nil && self.options.pos == nil {
                throw EmbryoError.usage(
                    "the loss probe needs held-out text: \(checkpoints.path) is not a pretraining run with its "
                        + "token cache, so pass --pos FILE.conllu (its sentences are used) or leave loss out of "
                        + "--probes")
            }
        }
        heldOutDescription = runHeldOut?.description ?? ""
        posHash = try self.options.pos.map { try hashFile($0.path).1 } ?? "-"
        trainHash = try self.options.posTrain.map { try hashFile($0.path).1 } ?? "first-80%"
    }

    /// LAMA facts (the world's by default) and, when named, paraphrase patterns that match them.
    func readFacts() throws {
        if options.facts == nil, let w = run.world { options.facts = w.appendingPathComponent("facts").path }
        guard let facts = options.facts else {
            throw EmbryoError.usage(
                "\(run.checkpoints.path) is not a run on the built-in world, so there are no default facts: "
                    + "pass --facts PATH (LAMA data) or leave knowledge out of --probes")
        }
        if let p = options.patterns { patterns = try ParaRel.loadPatterns(p) }
        let data = try Lama.read(facts, patterns: options.patterns == nil ? nil : patterns)
        relations = data.relations
        missingRelations = data.missing.map(\.name)
        if !data.missing.isEmpty {
            let shown = data.missing.prefix(5).map(\.file).joined(separator: ", ")
            warnOnce(
                "\(data.missing.count) relation\(data.missing.count == 1 ? "" : "s") skipped, facts file missing: "
                    + shown + (data.missing.count > 5 ? ", ..." : ""))
        }
        let matched = relations.filter {
            patterns[$0.name] != nil || patterns[String($0.name.split(separator: "/").last ?? "")] != nil
        }
        if options.patterns != nil && matched.isEmpty {
            throw EmbryoError.usage(
                "--patterns: no pattern file matches a relation of --facts (relations: "
                    + relations.prefix(5).map(\.name).joined(separator: ", ") + ")")
        }
    }

    /// The longest input a probe gives this snapshot's model.
    public func maxLen(_ model: Albert) -> Int { min(128, model.config.maxPositionEmbeddings) }

    /// A key for inputs tokenized for this snapshot: its vocabulary, casing and input length.
    public func vocabularyKey(_ s: LoadedSnapshot) throws -> String {
        "\(try s.vocabHash())|\(try s.tokenizer().lowercase)|\(maxLen(try s.model()))"
    }

    /// The probe sentences tokenized for this snapshot (once per vocabulary).
    public func sentences(for s: LoadedSnapshot) throws -> [ProbeSentence] {
        let key = try vocabularyKey(s)
        if let p = sentences[key] { return p }
        guard let pos = options.pos else { return [] }
        let maxLen = maxLen(try s.model())
        let (got, skipped) = try ProbeSentences.load(
            pos, tokenizer: try s.tokenizer(), maxLen: maxLen, limit: options.maxSentences)
        if skipped > 0 { warnOnce("\(pos.path): \(skipped) sentences longer than \(maxLen) subwords left out") }
        guard !got.isEmpty else { throw EmbryoError.format(pos.path, "no sentence fits in \(maxLen) subwords") }
        sentences[key] = got
        return got
    }
}

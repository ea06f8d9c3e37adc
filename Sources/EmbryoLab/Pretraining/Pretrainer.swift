// The pretraining run: prepares the corpus (the built-in world by default), the vocabulary and the
// token cache, then trains ALBERT from random weights with MLM + SOP, logging every few steps,
// evaluating on held-out documents, and saving checkpoints on a Pythia-like schedule. SIGINT/SIGTERM
// finish the current step and save; --resume continues bit-identically from the last saved state.

import EmbryoCore
import EmbryoRun
import EmbryoText
import Foundation

public struct StepReport: Sendable {
    public var step: Int
    public var steps: Int
    public var loss: Float
    public var mlmAccuracy: Float
    public var lr: Float
    public var tokensPerSecond: Double
}

public struct PretrainResult: Sendable {
    public var lastStep: Int
    public var interrupted: Bool
    public var evalMLMAccuracy: Float?
    public var evalMLMLoss: Float?
    public var trainTokensPerSecond: Double
    public var checkpoints: [Int]
}

/// Where a branched run starts: a snapshot of its parent (with the optimizer state kept for it), and the
/// edits of the built-in world applied from there on.
public struct BranchSource: Sendable {
    public var parent: Run
    public var step: Int
    public var worldEdits: [String]

    public init(parent: Run, step: Int, worldEdits: [String]) {
        (self.parent, self.step, self.worldEdits) = (parent, step, worldEdits)
    }
}

public final class Pretrainer {
    public let config: PretrainConfig
    public let run: Run
    public let resume: Bool
    /// Set for a branched run (also when it is resumed).
    public private(set) var branch: BranchSource?
    /// Called with each step's batch as the model receives it (for instrumenting a run).
    public var onBatch: ((Int, AlbertBatch) -> Void)?
    /// The branch's settings that differ from its parent's.
    var branchChanges: [String] = []
    /// On --resume: the token cache's hash recorded in run.json (nil for a new run or an older run.json).
    var resumedTokenCacheHash: String? { resume ? (try? run.manifest())?.tokenCacheHash : nil }
    let say: (String) -> Void
    /// Held from init to the end of train().
    var lock: DirectoryLock?

    /// `apply` sets the options the user gave on the defaults, or, when resuming, on the stored settings
    /// (which must then stay unchanged).
    public init(
        out: URL, resume: Bool, force: Bool, branch: BranchSource? = nil, apply: (inout PretrainConfig) throws -> Void,
        log: @escaping (String) -> Void
    ) throws {
        run = Run(out)
        say = log
        self.resume = resume
        self.branch = branch
        // one writer per run directory: a second pretrain on the same --out stops here, before touching it
        lock = try DirectoryLock(out, purpose: "pretraining")
        for dir in [run.root, run.state, run.checkpoints] { removeStaleTemporaries(in: dir) }
        let fm = FileManager.default
        let exists = fm.fileExists(atPath: run.runJSON.path)
        var cfg = PretrainConfig()
        if resume {
            guard exists else { throw EmbryoError.runtime("\(out.path) holds no run to resume (no run.json)") }
            let stored = try run.manifest().config
            cfg = stored
            try apply(&cfg)
            let diff = cfg.differences(from: stored)
            if !diff.isEmpty {
                throw EmbryoError.runtime(
                    "cannot resume \(out.path): \(diff.map { "\($0) differs" }.joined(separator: ", ")) "
                        + "(run.json has \(diff.map { "\($0)=\(Pretrainer.field($0, of: stored))" }.joined(separator: ", ")))"
                )
            }
            cfg = stored
            if let b = try run.manifest().branch {
                self.branch = BranchSource(parent: try Run.open(b.parent), step: b.step, worldEdits: b.worldEdits)
                branchChanges = b.changed
            }
        } else {
            try apply(&cfg)
        }
        let replacing = !resume && (exists || fm.fileExists(atPath: run.checkpoints.path))
        if replacing && !force {
            throw EmbryoError.runtime(
                "\(out.path) already holds a run; use --resume to continue it or --force to start over")
        }
        if let b = branch, !resume { cfg = try Pretrainer.branchConfig(b, apply: apply, changes: &branchChanges) }
        if !resume {
            // absolute paths, so the run can be resumed from any working directory
            cfg = cfg.withAbsolutePaths()
        }
        try cfg.validate()
        if replacing {
            // the old run's snapshots and everything measured on them, unless this command reads from them
            let removed = ["checkpoints", "state", "train_log.jsonl", "run.json", "tokenizer"] + Run.measurementFolders
            let inputs = cfg.inputPaths.map { URL(fileURLWithPath: $0) } + [branch?.parent.root].compactMap { $0 }
            try Pretrainer.refuseRemoving(removed.map { out.appendingPathComponent($0) }, readFrom: inputs, out: out)
            for name in removed { try? fm.removeItem(at: out.appendingPathComponent(name)) }
        }
        self.config = cfg
    }

    /// A branch's settings: the parent's, with the options given applied, the parent's vocabulary, and a
    /// clear error for a setting a branch cannot change or a step that is not a snapshot.
    static func branchConfig(_ b: BranchSource, apply: (inout PretrainConfig) throws -> Void, changes: inout [String])
        throws -> PretrainConfig
    {
        let parent = try b.parent.manifest().config
        var cfg = parent
        try apply(&cfg)
        let diff = cfg.differences(from: parent)
        if let fixed = diff.first(where: PretrainConfig.fixedInBranch.contains) {
            throw EmbryoError.usage(
                "a branch keeps its parent's model, vocabulary and batch shape: \(fixed) cannot change "
                    + "(it may change the learning rate and schedule, steps, corpus, seed and what is saved)")
        }
        changes = diff.filter { $0 != "threads" }
        guard FileManager.default.fileExists(atPath: b.parent.checkpoint(b.step).path) else {
            let steps = (try? b.parent.snapshots().map(\.step)) ?? []
            throw EmbryoError.usage(
                "--at \(b.step): \(b.parent.root.path) has no snapshot of step \(b.step) (it has "
                    + "\(steps.map(String.init).joined(separator: ", ")))")
        }
        guard b.parent.keptStateSteps().contains(b.step) else {
            throw EmbryoError.usage("--at \(b.step): " + b.parent.missingState(b.step))
        }
        guard b.step < cfg.steps else {
            throw EmbryoError.usage("--at \(b.step): the branch must train past it (--steps is \(cfg.steps))")
        }
        if !b.worldEdits.isEmpty {
            guard cfg.corpus.isEmpty, cfg.worldSeed == parent.worldSeed, cfg.worldTokens == parent.worldTokens else {
                throw EmbryoError.usage("--world-edit edits the parent's built-in world: no --corpus or other world")
            }
            var sizes = WorldSizes()
            sizes.tokens = cfg.worldTokens
            _ = try WorldEdit.parse(b.worldEdits, world: World(seed: UInt64(cfg.worldSeed), sizes: sizes))
        }
        cfg.vocab = b.parent.tokenizerDir.appendingPathComponent("vocab.txt").path
        return cfg
    }

    /// A branch on the built-in world starts from its parent's world, edited when edits are given.
    func prepareBranchWorld(_ b: BranchSource) throws {
        let fm = FileManager.default
        guard config.corpus.isEmpty, config.worldSeed == (try b.parent.manifest().config.worldSeed),
            !fm.fileExists(atPath: run.worldDir.appendingPathComponent("world.json").path)
        else { return }
        let source = b.parent.worldDir
        guard fm.fileExists(atPath: source.appendingPathComponent("train.txt").path) else { return }
        if b.worldEdits.isEmpty {
            try fm.createDirectory(at: run.root, withIntermediateDirectories: true)
            try fm.copyItem(at: source, to: run.worldDir)
            return
        }
        var sizes = WorldSizes()
        sizes.tokens = config.worldTokens
        let world = World(seed: UInt64(config.worldSeed), sizes: sizes)
        let edits = try WorldEdit.parse(b.worldEdits, world: world)
        let (before, after) = try world.writeEdited(from: source, to: run.worldDir, edits: edits)
        let edited = Set(edits.map(\.fact))
        say(
            "world edits: \(edited.count) facts, stated \(edited.map { before[$0] }.reduce(0, +)) times before and "
                + "\(edited.map { after[$0] }.reduce(0, +)) after (world/edits.jsonl)")
    }

    // MARK: preparation

    /// Corpus sources: the given paths, or the built-in world generated into (or reused from) the run.
    func corpusSources() throws -> ([CorpusSource], RunManifest.WorldInfo?) {
        if let b = branch { try prepareBranchWorld(b) }
        if !config.corpus.isEmpty {
            return (try TokenizedCorpus.describe(config.corpus, textField: config.textField), nil)
        }
        let dir = run.worldDir
        var sizes = WorldSizes()
        sizes.tokens = config.worldTokens
        let summaryURL = dir.appendingPathComponent("world.json")
        var reuse = false
        if let o = (try? JSONSerialization.jsonObject(with: readFile(summaryURL))) as? [String: Any],
            o["seed"] as? Int == config.worldSeed, o["requested_tokens"] as? Int == config.worldTokens,
            o["generator_version"] as? Int == World.version,
            FileManager.default.fileExists(atPath: dir.appendingPathComponent("train.txt").path)
        {
            reuse = true
        }
        if !reuse {
            say(
                "generating the built-in world (seed \(config.worldSeed), \(config.worldTokens) tokens) into \(dir.path)"
            )
            _ = try World(seed: UInt64(config.worldSeed), sizes: sizes).write(to: dir)
        }
        let world = RunManifest.WorldInfo(
            seed: config.worldSeed, tokens: config.worldTokens, dir: "world", reused: reuse)
        return (try TokenizedCorpus.describe([dir.appendingPathComponent("train.txt").path]), world)
    }

    /// The vocabulary: given, kept from the run being resumed, or learned from the corpus.
    func tokenizer(_ sources: [CorpusSource]) throws -> WordPieceTokenizer {
        let saved = run.tokenizerDir.appendingPathComponent("vocab.txt")
        if resume && FileManager.default.fileExists(atPath: saved.path) {
            return try WordPieceTokenizer.load(vocab: saved)
        }
        let tok: WordPieceTokenizer
        if let v = config.vocab {
            tok = try WordPieceTokenizer.load(vocab: URL(fileURLWithPath: v), lowercase: config.cased ? false : nil)
        } else {
            say("learning a \(config.vocabSize)-token vocabulary from the corpus")
            let trainer = VocabTrainer(lowercase: !config.cased)
            try TokenizedCorpus.forEachSentence(sources) { text in if let text { trainer.add(text) } }
            tok = WordPieceTokenizer(
                vocab: try Vocabulary(tokens: trainer.train(size: config.vocabSize)), lowercase: !config.cased)
        }
        try tok.save(to: run.tokenizerDir)
        return tok
    }

    /// The tokenized corpus from the cache beside the run, or built (and cached) now.
    func tokenized(_ sources: [CorpusSource], _ tok: WordPieceTokenizer) throws -> (TokenizedCorpus, String) {
        let (_, vocabHash) = try hashFile(run.tokenizerDir.appendingPathComponent("vocab.txt").path)
        let key = String(
            stableHash(sources.map(\.key).joined(separator: ",") + "|" + vocabHash + "|\(tok.lowercase)"), radix: 16)
        let cacheDir = run.tokenCacheDir
        let url = cacheDir.appendingPathComponent("tokens-\(key).bin")
        if FileManager.default.fileExists(atPath: url.path) {
            do {
                let c = try TokenizedCorpus.load(url, vocabSize: tok.vocab.count)
                if let recorded = resumedTokenCacheHash, try hashFile(url.path).1 != recorded {
                    throw EmbryoError.format(url.path, "its contents differ from the hash in run.json")
                }
                say("token cache: \(url.path) (\(c.tokens.count) tokens)")
                return (c, url.path)
            } catch {
                say("token cache: \(describe(error)); rebuilding it")
            }
        }
        say("tokenizing the corpus into \(url.path)")
        try FileManager.default.createDirectory(at: cacheDir, withIntermediateDirectories: true)
        // what a killed tokenizer left (a day old: another run may be writing its own right now)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: cacheDir.path)) ?? []
        where name.hasPrefix(".tokens-") {
            let u = cacheDir.appendingPathComponent(name)
            if let t = (try? FileManager.default.attributesOfItem(atPath: u.path))?[.modificationDate] as? Date,
                Date().timeIntervalSince(t) > 86_400
            {
                try? FileManager.default.removeItem(at: u)
            }
        }
        let t0 = Date()
        let bytes = sources.reduce(0) { $0 + $1.bytes }
        try TokenizedCorpus.write(sources, tokenizer: tok, to: url) { tokens, _ in
            if bytes > 100_000_000 {
                self.say("tokenizing: \(tokens) tokens, \(Int(Date().timeIntervalSince(t0))) s")
            }
        }
        let c = try TokenizedCorpus.load(url, vocabSize: tok.vocab.count)
        if let recorded = resumedTokenCacheHash, try hashFile(url.path).1 != recorded {
            throw EmbryoError.runtime(
                "cannot resume \(run.root.path): the rebuilt token cache \(url.path) differs from the one the run "
                    + "started with (fnv1a64 in run.json)")
        }
        let seconds = max(Date().timeIntervalSince(t0), 1e-9)
        say(
            "tokenized \(c.tokens.count) tokens from \(String(format: "%.1f", Double(bytes) / 1e6)) MB in \(String(format: "%.1f", seconds)) s "
                + "(\(String(format: "%.1f", Double(bytes) / 1e6 / seconds)) MB/s)")
        return (c, url.path)
    }

    func modelConfig(vocabSize: Int) throws -> AlbertConfig {
        // a resumed run keeps the model it recorded, whatever its config file holds now
        if resume, let recorded = try? run.manifest().model {
            guard recorded.vocabSize == vocabSize else {
                throw EmbryoError.runtime(
                    "cannot resume \(run.root.path): its vocabulary has \(vocabSize) tokens, its recorded model "
                        + "\(recorded.vocabSize)")
            }
            return recorded
        }
        var c = try AlbertConfig.resolve(config.config, vocabSize: vocabSize)
        if let l = config.layers { c.numHiddenLayers = l }
        if let r = config.initRange { c.initializerRange = r }
        if config.unshared || c.isBert { c = c.unshared() }  // BERT's layers are always unshared
        try c.validate()
        guard config.seqLen <= c.maxPositionEmbeddings else {
            throw EmbryoError.usage(
                "--seq-len \(config.seqLen) exceeds max_position_embeddings \(c.maxPositionEmbeddings)")
        }
        return c
    }

    // MARK: training

    public func train(report: ((StepReport) -> Void)? = nil) throws -> PretrainResult {
        if lock == nil { lock = try DirectoryLock(run.root, purpose: "pretraining") }
        defer { lock = nil }
        Threads.configure(config.threads)
        try FileManager.default.createDirectory(at: run.root, withIntermediateDirectories: true)
        let data = try prepareData()
        installMappedFileGuard(
            "the token cache \(data.cachePath) shrank or vanished while training read it (SIGBUS). The run keeps its "
                + "last saved step: restore or delete the cache, then 'embryo pretrain --resume \(run.root.path)'")
        let loop = try TrainingLoop(self, data)
        let start = try loop.restoreOrInitialize()
        try writeRunJSON(data)
        let log = try LogWriter(run.log)
        if start == 0 { try loop.save(0) }
        var step = start
        while step < config.steps {
            step += 1
            try loop.step(step)
            try loop.record(step, log: log)
            report?(loop.report(step))
            if loop.saveSteps.contains(step) { try loop.save(step) }
            if stopRequested != 0 && step < config.steps {
                if !loop.saveSteps.contains(step) { try loop.save(step, interrupted: true) }
                return loop.result(step, interrupted: true)
            }
        }
        return loop.result(step, interrupted: false)
    }

    /// What training needs from the corpus: its files, the vocabulary, the tokens and the example maker.
    struct PreparedData {
        var sources: [CorpusSource]
        var world: RunManifest.WorldInfo?
        var tokenizer: WordPieceTokenizer
        var corpus: TokenizedCorpus
        var cachePath: String
        var maker: ExampleMaker
        var modelConfig: AlbertConfig
    }

    /// The corpus (the built-in world generated if needed), the vocabulary and the token cache. Ctrl-C
    /// stops between these phases (nothing is trained yet).
    func prepareData() throws -> PreparedData {
        func stopIfRequested(_ phase: String) throws {
            if stopRequested != 0 {
                throw EmbryoError.interrupted("pretrain: interrupted during \(phase), before training started")
            }
        }
        let (sources, world) = try corpusSources()
        try stopIfRequested("the corpus")
        if resume { try checkCorpusUnchanged(sources) }
        let tok = try tokenizer(sources)
        try stopIfRequested("the vocabulary")
        let (corpus, cachePath) = try tokenized(sources, tok)
        try stopIfRequested("tokenization")
        guard corpus.tokens.count >= config.seqLen else {
            throw EmbryoError.runtime(
                "the corpus is too small: \(corpus.tokens.count) tokens, fewer than one \(config.seqLen)-token sequence"
            )
        }
        let modelCfg = try modelConfig(vocabSize: tok.vocab.count)
        let maker = try ExampleMaker(corpus: corpus, vocab: tok.vocab, config: config)
        return PreparedData(
            sources: sources, world: world, tokenizer: tok, corpus: corpus, cachePath: cachePath, maker: maker,
            modelConfig: modelCfg)
    }

    func writeRunJSON(_ d: PreparedData) throws {
        let m = d.modelConfig, sources = d.sources, world = d.world, tok = d.tokenizer
        let cachePath = d.cachePath, corpus = d.corpus, maker = d.maker
        let (_, vocabHash) = try hashFile(run.tokenizerDir.appendingPathComponent("vocab.txt").path)
        var manifest = RunManifest(
            embryoVersion: "0.1.0", config: config, model: m, seed: config.seed,
            corpus: sources.map { .init(path: $0.path, kind: $0.kind.rawValue, bytes: $0.bytes, fnv1a64: $0.hash) },
            vocabulary: .init(
                path: "tokenizer/vocab.txt", size: tok.vocab.count, fnv1a64: vocabHash, lowercase: tok.lowercase),
            tokenCache: cachePath,
            data: .init(
                tokens: corpus.tokens.count, sentences: corpus.sentenceCount, documents: corpus.documentCount,
                heldOutDocuments: maker.heldOutDocuments, maxPredictionsPerSeq: maker.maxPredictions),
            checkpointSteps: config.checkpointSteps().filter { $0 >= (branch?.step ?? 0) },
            machine: .init(threads: config.threads, cores: Threads.available, blasCore: BlasRuntime.coreName),
            world: world)
        manifest.tokenCacheHash = try hashFile(cachePath).1
        if let b = branch {
            manifest.branch = .init(
                parent: b.parent.root.path, step: b.step, changed: branchChanges, worldEdits: b.worldEdits)
        }
        try manifest.write(to: run.runJSON)
    }
}

func medianOf(_ xs: [Double]) -> Double {
    guard !xs.isEmpty else { return 0 }
    let s = xs.sorted()
    return s[s.count / 2]
}

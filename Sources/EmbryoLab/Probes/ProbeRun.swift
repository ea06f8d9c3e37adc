// Probing every snapshot of a run: checkpoints in step order; each probe's result is cached per checkpoint
// (keyed by the weights' hash and the probe's settings) so re-running after more training only probes the
// new snapshots. Results go to metrics.jsonl, metrics.csv and report.html in the output folder.

import EmbryoCore
import EmbryoText
import Foundation

public enum ProbeKind: String, CaseIterable, Sendable {
    case mlm, layers, knowledge, loss, similarity, lens, examples, attention

    /// The probes run when none are named.
    public static let defaults: [ProbeKind] = [.mlm, .layers, .knowledge, .loss]

    /// Probes that score words through the MLM head (a bare encoder's snapshot runs only the others).
    public var needsMLMHead: Bool { ![.layers, .similarity, .attention].contains(self) }
}

public struct ProbeOptions: Sendable {
    public var probes: [ProbeKind] = ProbeKind.defaults
    public var pos: URL?
    public var posTrain: URL?
    public var facts: String?
    /// ParaRel-style paraphrase patterns: a folder of <relation>.jsonl with a "pattern" per line.
    public var patterns: String?
    public var layers: [Int]?  // nil: every layer
    public var maxSentences = 1000
    public init() {}
}

public final class ProbeRunner {
    public let run: Run
    public let out: URL
    public private(set) var options: ProbeOptions
    public private(set) var heldOutDescription = ""
    let warn: (String) -> Void
    var settings: [ProbeKind: String] = [:]
    var relations: [LamaRelation] = []
    var missingRelations: [String] = []
    var patterns: [String: [String]] = [:]
    var runHeldOut: HeldOutText?
    var prepared: [String: Prepared] = [:]
    var warned = Set<String>()
    var firstVocab: (step: Int, hash: String)?
    /// The examples probe's per-target results, by snapshot step.
    var exampleResults: [Int: ExampleResults] = [:]
    /// Each snapshot's cached representations for the similarity probe, by step.
    var similarityFiles: [Int: URL] = [:]
    /// The knowledge probe's per-fact results, by snapshot step.
    var factResults: [Int: [KnowledgeProbe.FactResult]] = [:]
    /// Seconds spent in each probe (cache misses only), for the throughput report.
    public private(set) var seconds: [ProbeKind: Double] = [:]

    /// Inputs tokenized with one vocabulary.
    final class Prepared {
        let tokenizer: WordPieceTokenizer
        var mlm: [ProbeSentence] = []
        var layerTrain: [ProbeSentence] = []
        var layerTest: [ProbeSentence] = []
        var knowledge = KnowledgeSet()
        var heldOut: HeldOutText?
        var wordTypes: WordTypeTasks?
        init(tokenizer: WordPieceTokenizer) { self.tokenizer = tokenizer }
    }

    public init(run: Run, options: ProbeOptions, out: URL? = nil, warn: @escaping (String) -> Void) throws {
        self.run = run
        self.options = options
        self.warn = warn
        self.out = out ?? run.probes
        let checkpoints = run.checkpoints
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: checkpoints.path, isDirectory: &isDir), isDir.boolValue else {
            throw EmbryoError.io(checkpoints.path, "no such directory")
        }
        let want = Set(options.probes)
        let world = run.world
        let needsPos =
            want.contains(.mlm) || want.contains(.layers) || want.contains(.similarity) || want.contains(.lens)
            || want.contains(.examples) || want.contains(.attention)
        if needsPos || (want.contains(.loss) && options.pos == nil) {
            if self.options.pos == nil, let w = world { self.options.pos = w.appendingPathComponent("probe.conllu") }
            if self.options.pos == nil && needsPos {
                throw EmbryoError.usage(
                    "\(checkpoints.path) is not a run on the built-in world, so there is no default probe set: "
                        + "pass --pos FILE.conllu (any UD treebank)")
            }
        }
        if want.contains(.knowledge) {
            if self.options.facts == nil, let w = world { self.options.facts = w.appendingPathComponent("facts").path }
            guard let facts = self.options.facts else {
                throw EmbryoError.usage(
                    "\(checkpoints.path) is not a run on the built-in world, so there are no default facts: "
                        + "pass --facts PATH (LAMA data) or leave knowledge out of --probes")
            }
            if let p = self.options.patterns { patterns = try ParaRel.loadPatterns(p) }
            let data = try Lama.read(facts, patterns: self.options.patterns == nil ? nil : patterns)
            relations = data.relations
            missingRelations = data.missing.map(\.name)
            if !data.missing.isEmpty {
                let shown = data.missing.prefix(5).map(\.file).joined(separator: ", ")
                warn(
                    "\(data.missing.count) relation\(data.missing.count == 1 ? "" : "s") skipped, facts file missing: "
                        + shown + (data.missing.count > 5 ? ", ..." : ""))
            }
            let matched = relations.filter {
                patterns[$0.name] != nil || patterns[String($0.name.split(separator: "/").last ?? "")] != nil
            }
            if self.options.patterns != nil && matched.isEmpty {
                throw EmbryoError.usage(
                    "--patterns: no pattern file matches a relation of --facts (relations: "
                        + relations.prefix(5).map(\.name).joined(separator: ", ") + ")")
            }
        }
        if let pos = self.options.pos { _ = try ConllU.read(pos) }  // errors (file:line) before any probing
        if let t = self.options.posTrain { _ = try ConllU.read(t) }
        if want.contains(.loss) { runHeldOut = try HeldOutText.fromRun(run) }
        if want.contains(.loss) && runHeldOut == nil && self.options.pos == nil {
            throw EmbryoError.usage(
                "the loss probe needs held-out text: \(checkpoints.path) is not a pretraining run with its token "
                    + "cache, so pass --pos FILE.conllu (its sentences are used) or leave loss out of --probes")
        }
        heldOutDescription = runHeldOut?.description ?? ""
        let posHash = try self.options.pos.map { try hashFile($0.path).1 } ?? "-"
        let trainHash = try self.options.posTrain.map { try hashFile($0.path).1 } ?? "first-80%"
        let n = self.options.maxSentences
        settings[.mlm] = "mlm v2|pos \(posHash)|max \(n)"
        let layers = self.options.layers.map { $0.map(String.init).joined(separator: ",") } ?? "all"
        settings[.layers] = "layers v2|pos \(posHash)|train \(trainHash)|max \(n)|layers \(layers)"
        // what was read, not the files named: a T-REx folder takes its templates from the folder above it
        let patternsKey = patterns.keys.sorted().map { "\($0)=\(patterns[$0]!)" }.joined(separator: "|")
        settings[.knowledge] =
            "knowledge v4|facts \(relations.isEmpty ? "-" : Lama.fingerprint(relations))"
            + "|patterns \(patterns.isEmpty ? "-" : String(stableHash(patternsKey), radix: 16))"
        settings[.loss] = "loss v1|" + (runHeldOut?.description ?? "pos \(posHash)|max \(n)")
        settings[.lens] = "lens v1|pos \(posHash)|max \(n)"
        settings[.examples] = "examples v1|pos \(posHash)|max \(n)"
        settings[.attention] = "attention v1|pos \(posHash)|sentences \(min(n, AttentionProbe.sentences))"
        settings[.similarity] = "similarity v1|pos \(posHash)|max \(n)|tokens \(SimilarityProbe.tokens)"
    }

    /// The run's snapshots in step order; incomplete ones are skipped with a warning (once).
    public func scan() throws -> [Snapshot] { try run.snapshots(warn: warnOnce) }

    func warnOnce(_ s: String) {
        if warned.insert(s).inserted { warn(s) }
    }

    /// Probes `refs` (cached results reused), writes the tables and the report, and returns every metric.
    /// `progress(done, total, step, cached)` after each checkpoint.
    public func run(_ refs: [Snapshot], progress: (Int, Int, Int, Bool) -> Void) throws -> [ProbeMetric] {
        let cache = out.appendingPathComponent("cache")
        try FileManager.default.createDirectory(at: cache, withIntermediateDirectories: true)
        var all: [ProbeMetric] = []
        var lastProbed: Int? = nil
        for (i, ck) in refs.enumerated() {
            var allCached = true
            do {
                let (metrics, cached) = try probe(ck, cache: cache)
                all += metrics
                allCached = cached
                lastProbed = ck.step
            } catch let e as SkipCheckpoint {
                warnOnce("skipping \(ck.dir.path): \(e.reason)")
            }
            progress(i + 1, refs.count, ck.step, allCached)
            try writeOutputs(all)
        }
        if refs.isEmpty { try writeOutputs(all) }
        if options.probes.contains(.examples) { try writeExamples(refs.map(\.step)) }
        if options.probes.contains(.similarity) {
            let files = refs.compactMap { r in similarityFiles[r.step].map { (step: r.step, file: $0) } }
            let t0 = Date()
            let (metrics, matrix) = try SimilarityProbe.compare(files)
            seconds[.similarity, default: 0] += Date().timeIntervalSince(t0)
            all += metrics
            if !matrix.isEmpty,
                let layer = metrics.compactMap({ m -> Int? in
                    m.key.split(separator: "_").last.flatMap { Int($0) }
                }).max()
            {
                try SimilarityProbe.writeMatrix(
                    matrix, steps: files.map(\.step), layer: layer,
                    to: out.appendingPathComponent(SimilarityProbe.matrixFile))
            }
        }
        // the run's escape from the plateau, from its training log, beside the held-out loss
        var escaped = false
        if options.probes.contains(.loss), let last = lastProbed, let e = try EscapeSummary.of(run) {
            all += e.metrics(at: last)
            escaped = true
        }
        // the cross-snapshot probes' outputs, then the tables and report with them
        if escaped || options.probes.contains(.examples) || options.probes.contains(.similarity) {
            try writeOutputs(all)
        }
        return all
    }

    /// For a job-array shard: probes `refs` into the per-snapshot cache and writes nothing else (no tables,
    /// no report, no cross-snapshot results: the run's final `probe` assembles them from the cache).
    /// Returns how many snapshots were probed and how many were already cached.
    public func fillCache(_ refs: [Snapshot], progress: (Int, Int, Int, Bool) -> Void) throws -> (
        probed: Int, cached: Int
    ) {
        let cache = out.appendingPathComponent("cache")
        try FileManager.default.createDirectory(at: cache, withIntermediateDirectories: true)
        var probed = 0, cached = 0
        for (i, ck) in refs.enumerated() {
            var wasCached = true
            do {
                wasCached = try probe(ck, cache: cache).1
                if wasCached { cached += 1 } else { probed += 1 }
            } catch let e as SkipCheckpoint {
                warnOnce("skipping \(ck.dir.path): \(e.reason)")
            }
            progress(i + 1, refs.count, ck.step, wasCached)
        }
        return (probed, cached)
    }

    struct SkipCheckpoint: Error { var reason: String }

    struct CacheEntry: Codable {
        var settings: String
        var metrics: [ProbeMetric]
        /// The knowledge probe's per-fact results.
        var facts: [KnowledgeProbe.FactResult]? = nil
        /// The examples probe's targets and per-target results.
        var examples: ExampleResults? = nil
    }

    struct ExampleResults: Codable {
        var targets: [ExamplesProbe.Target]
        var loss: [Float]
        var correct: [Bool]
    }

    func probe(_ ck: Snapshot, cache: URL) throws -> ([ProbeMetric], Bool) {
        // the key covers the architecture too: shared-layer weights are the same for any layer count
        let weights: String
        do { weights = try ck.weightsHash() } catch { throw SkipCheckpoint(reason: describe(error)) }
        var out: [ProbeMetric] = []
        var todo: [ProbeKind] = []
        for kind in options.probes {
            let url = cache.appendingPathComponent(
                "\(kind.rawValue)-\(Run.checkpointName(ck.step))-\(weights).json")
            if let data = try? readFile(url), let e = try? JSONDecoder().decode(CacheEntry.self, from: data),
                e.settings == settings[kind],
                kind != .similarity
                    || FileManager.default.fileExists(
                        atPath: SimilarityProbe.cacheFile(cache, step: ck.step, weights: weights).path)
            {
                out += e.metrics
                if let f = e.facts { factResults[ck.step] = f }
                if let x = e.examples { exampleResults[ck.step] = x }
                if kind == .similarity {
                    similarityFiles[ck.step] = SimilarityProbe.cacheFile(cache, step: ck.step, weights: weights)
                }
            } else {
                todo.append(kind)
            }
        }
        if todo.isEmpty { return (out, true) }
        let model: Albert, tok: WordPieceTokenizer, vocabHash: String
        do {
            (model, tok) = try ck.load()
            vocabHash = try ck.vocabHash()
        } catch {
            throw SkipCheckpoint(reason: describe(error))
        }
        if let f = firstVocab, f.hash != vocabHash {
            warnOnce(
                "step \(ck.step) has a different vocabulary from step \(f.step); its probe inputs are tokenized "
                    + "with its own vocab.txt")
        } else if firstVocab == nil {
            firstVocab = (ck.step, vocabHash)
        }
        if let kind = todo.first(where: \.needsMLMHead), model.absentParts.contains(.mlmHead) {
            do { try model.require(.mlmHead, for: "the \(kind.rawValue) probe (step \(ck.step))") } catch {
                throw EmbryoError.runtime(
                    "\(describe(error)); probe it with --probes layers,similarity,attention, which need no head")
            }
        }
        let maxLen = min(128, model.config.maxPositionEmbeddings)
        let data = try prepare(tok, vocabHash: vocabHash, maxLen: maxLen)
        for kind in todo {
            let t0 = Date()
            defer { seconds[kind, default: 0] += Date().timeIntervalSince(t0) }
            var m: [ProbeMetric]
            var facts: [KnowledgeProbe.FactResult]? = nil
            var examples: ExampleResults? = nil
            switch kind {
            case .mlm:
                let r = try MaskPredictionProbe.run(model: model, sentences: data.mlm, maskId: tok.vocab.maskId)
                m = MaskPredictionProbe.metrics(r, step: ck.step)
            case .layers:
                m = try layerProbes(model, data, step: ck.step)
            case .knowledge:
                (m, facts) = try KnowledgeProbe.evaluate(model: model, set: data.knowledge, step: ck.step)
                factResults[ck.step] = facts
            case .examples:
                let r = try ExamplesProbe.run(
                    model: model, sentences: data.mlm, maskId: tok.vocab.maskId, step: ck.step)
                m = r.metrics
                examples = ExampleResults(targets: r.targets, loss: r.loss, correct: r.correct)
                exampleResults[ck.step] = examples
            case .attention:
                m = try AttentionProbe.run(model: model, sentences: data.mlm, sepId: tok.vocab.sepId, step: ck.step)
            case .lens:
                m = try LensProbe.run(model: model, sentences: data.mlm, maskId: tok.vocab.maskId, step: ck.step)
            case .similarity:
                let reps = try SimilarityProbe.representations(model: model, sentences: data.mlm)
                try SimilarityProbe.save(
                    reps, hidden: model.config.hiddenSize,
                    to: SimilarityProbe.cacheFile(cache, step: ck.step, weights: weights))
                similarityFiles[ck.step] = SimilarityProbe.cacheFile(cache, step: ck.step, weights: weights)
                m = []
            case .loss:
                if let h = runHeldOut, h.fits(vocabHash: vocabHash) {
                    m = try h.run(model: model, step: ck.step)
                } else if let h = data.heldOut {
                    if runHeldOut != nil {
                        warnOnce(
                            "step \(ck.step): vocabulary differs from the run's; loss probe on the probe sentences")
                    }
                    m = try h.run(model: model, step: ck.step)
                } else {
                    m = []
                }
            }
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys]
            let url = cache.appendingPathComponent(
                "\(kind.rawValue)-\(Run.checkpointName(ck.step))-\(weights).json")
            try writeAtomically(
                try enc.encode(CacheEntry(settings: settings[kind]!, metrics: m, facts: facts, examples: examples)),
                to: url)
            out += m
        }
        return (out, false)
    }

    func prepare(_ tok: WordPieceTokenizer, vocabHash: String, maxLen: Int) throws -> Prepared {
        let key = "\(vocabHash)|\(tok.lowercase)|\(maxLen)"
        if let p = prepared[key] { return p }
        let p = Prepared(tokenizer: tok)
        let want = Set(options.probes)
        var posSentences: [ProbeSentence] = []
        if let pos = options.pos {
            let (s, skipped) = try ProbeSentences.load(pos, tokenizer: tok, maxLen: maxLen, limit: options.maxSentences)
            if skipped > 0 { warnOnce("\(pos.path): \(skipped) sentences longer than \(maxLen) subwords left out") }
            guard !s.isEmpty else { throw EmbryoError.format(pos.path, "no sentence fits in \(maxLen) subwords") }
            posSentences = s
        }
        p.mlm = posSentences
        if want.contains(.layers) {
            if let t = options.posTrain {
                p.layerTrain = try ProbeSentences.load(t, tokenizer: tok, maxLen: maxLen, limit: options.maxSentences).0
                p.layerTest = posSentences
            } else {
                let cut = posSentences.count * 4 / 5
                p.layerTrain = Array(posSentences[..<cut])
                p.layerTest = Array(posSentences[cut...])
            }
            p.wordTypes = WordTypeTasks(sentences: p.layerTrain + p.layerTest, seed: 0xC0_47_00_1)
        }
        if want.contains(.knowledge) {
            p.knowledge = KnowledgeProbe.prepare(
                relations, patterns: patterns, missing: missingRelations, tokenizer: tok, maxLen: maxLen)
        }
        if want.contains(.loss) {
            let test = options.posTrain == nil ? Array(posSentences[(posSentences.count * 4 / 5)...]) : posSentences
            p.heldOut = HeldOutText.fromSentences(
                test, maskId: tok.vocab.maskId, source: "probe sentences of \(options.pos?.lastPathComponent ?? "")")
            if runHeldOut == nil { heldOutDescription = p.heldOut!.description }
        }
        prepared[key] = p
        return p
    }

    func layerProbes(_ model: Albert, _ data: Prepared, step: Int) throws -> [ProbeMetric] {
        let L = model.config.numHiddenLayers, H = model.config.hiddenSize
        let layers = options.layers ?? Array(0...L)
        if let bad = layers.first(where: { $0 < 0 || $0 > L }) {
            throw EmbryoError.usage("--layers: layer \(bad) is out of range; this model has layers 0...\(L)")
        }
        let train = try LayerProbe.wordFeatures(model: model, sentences: data.layerTrain, layers: layers)
        let test = try LayerProbe.wordFeatures(model: model, sentences: data.layerTest, layers: layers)
        var out: [ProbeMetric] = []
        func add(_ k: String, _ v: Double, _ c: Int) {
            out.append(ProbeMetric(step: step, probe: "layers", key: k, value: v, count: c))
        }
        for task in LayerProbe.tasks {
            for (li, l) in layers.enumerated() {
                var classes: [String: Int32] = [:]
                let tr = LayerProbe.dataset(
                    task: task, sentences: data.layerTrain, features: train[li], H: H, classes: &classes, grow: true)
                let te = LayerProbe.dataset(
                    task: task, sentences: data.layerTest, features: test[li], H: H, classes: &classes, grow: false)
                if li == 0 {
                    let base = LayerProbe.majorityBaseline(train: tr, test: te)
                    add("\(task)/majority/accuracy", base.accuracy, base.testCount)
                    add("\(task)/majority/macro_f1", base.macroF1, base.testCount)
                }
                let (s, pred) = LayerProbe.fitAndPredict(
                    train: tr, test: te, classes: classes.count, seed: stableHash("\(task)|\(l)"))
                add("\(task)/layer_\(l)/accuracy", s.accuracy, s.testCount)
                add("\(task)/layer_\(l)/macro_f1", s.macroF1, s.testCount)
                if task == "upos", let wt = data.wordTypes {
                    for (k, v, c) in wordTypeScores(
                        wt, train: tr, test: te, predictions: pred, data: data, layer: l, upos: s.accuracy)
                    {
                        add(k, v, c)
                    }
                }
            }
        }
        return out
    }

    /// upos_ambiguous (accuracy on words whose form has several tags), upos_control (the control task's
    /// accuracy, same recipe) and upos_selectivity (their difference from the UPOS accuracy) at layer l.
    func wordTypeScores(
        _ wt: WordTypeTasks, train tr: ProbeDataset, test te: ProbeDataset, predictions pred: [Int32], data: Prepared,
        layer l: Int, upos: Double
    ) -> [(String, Double, Int)] {
        var out: [(String, Double, Int)] = []
        let rows = wt.ambiguousRows(data.layerTest)
        if !rows.isEmpty, pred.count == te.count {
            let right = rows.filter { pred[$0] == te.y[$0] }.count
            out.append(("upos_ambiguous/layer_\(l)", Double(right) / Double(rows.count), rows.count))
        }
        let ctr = wt.controlDataset(tr, sentences: data.layerTrain),
            cte = wt.controlDataset(te, sentences: data.layerTest)
        let c = LayerProbe.fitAndScore(
            train: ctr, test: cte, classes: wt.controlClasses, seed: stableHash("control|\(l)"))
        out.append(("upos_control/layer_\(l)", c.accuracy, c.testCount))
        out.append(("upos_selectivity/layer_\(l)", upos - c.accuracy, c.testCount))
        return out
    }

    /// examples.jsonl from every snapshot's results (the snapshots whose targets match the last one's).
    func writeExamples(_ steps: [Int]) throws {
        guard let last = steps.last, let final = exampleResults[last] else { return }
        let used = steps.filter { exampleResults[$0]?.targets == final.targets }
        var frequency: ((Int32) -> Int)? = nil
        if let m = try? run.manifest(), let maker = try? run.exampleMaker(m) {
            var counts: [Int32: Int] = [:]
            let wanted = Set(final.targets.map(\.label))
            for t in maker.corpus.tokens where wanted.contains(t) { counts[t, default: 0] += 1 }
            frequency = { counts[$0] ?? 0 }
        }
        let rows = ExamplesProbe.rows(
            targets: final.targets, steps: used, loss: used.map { exampleResults[$0]!.loss },
            correct: used.map { exampleResults[$0]!.correct }, frequency: frequency)
        try writeAtomically(
            Data(ExamplesProbe.jsonl(rows, steps: used).utf8), to: out.appendingPathComponent(ExamplesProbe.fileName))
    }

    func writeOutputs(_ metrics: [ProbeMetric]) throws {
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        if !factResults.isEmpty {
            try writeAtomically(
                Data(FactTable.jsonl(factResults).utf8), to: out.appendingPathComponent(FactTable.fileName))
        }
        try writeAtomically(Data(MetricTables.jsonl(metrics).utf8), to: out.appendingPathComponent("metrics.jsonl"))
        try writeAtomically(Data(MetricTables.csv(metrics).utf8), to: out.appendingPathComponent("metrics.csv"))
        let info = ReportInfo(
            title: run.name, checkpoints: run.checkpoints.path,
            pos: options.pos?.path, posTrain: options.posTrain?.path, facts: options.facts,
            heldOut: heldOutDescription, maxSentences: options.maxSentences,
            trainLog: run.log)
        try writeAtomically(try JSONEncoder().encode(info), to: out.appendingPathComponent("report-info.json"))
        try RunReport.write(folder: out, run: run, probes: metrics, info: info, fallback: info)
    }
}

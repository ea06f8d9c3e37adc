// The activation store: the same tokens run through every selected snapshot, the residual stream after
// layer L kept at every position. Layout of a store directory (all integers and floats little-endian):
//   store.json        manifest: layer, d, rows, dtype "f16", snapshots [{step, file, scale}], sources
//   step-NNNNNN.f16   rows x d float16, row-major: raw activations of one snapshot
//   tokens.i32        rows int32: token id of each row
//   where.i32         rows x 2 int32: sentence index, position in the sentence's input ([CLS] = 0)
//   words.tsv         rows lines: word index in the sentence (-1 for [CLS]/[SEP]), UPOS, DEPREL ("_" unknown)
//   sentences.txt     one input sentence per line
//   cache/            each snapshot's entry of the manifest, under its weights, the layer and the tokens
// A snapshot's `scale` makes its mean activation norm sqrt(d) (measured once on the first 8,192 rows);
// readers multiply by it. The store is written snapshot by snapshot, a batch of sentences at a time, by the
// MeasurementRunner: a snapshot whose file and cached entry match is kept when the store is built again,
// so job-array shards (each writing its share of the snapshots, no manifest) and one final build share
// the work.

import EmbryoCore
import EmbryoRun
import EmbryoText
import Foundation

public struct StoreSnapshot: Codable, Sendable, Equatable {
    public var step: Int
    public var file: String
    public var scale: Float

    public init(step: Int, file: String, scale: Float) {
        self.step = step
        self.file = file
        self.scale = scale
    }
}

public struct StoreManifest: Codable, Sendable {
    public var format = "embryo-activations"
    public var version = 1
    public var layer: Int
    public var d: Int
    public var rows: Int
    public var sentences: Int
    public var dtype = "f16"
    public var snapshots: [StoreSnapshot]
    public var checkpoints: String
    public var text: String
    public var vocabHash: String

    enum CodingKeys: String, CodingKey {
        case format, version, layer, d, rows, sentences, dtype, snapshots, checkpoints, text
        case vocabHash = "vocab_fnv1a64"
    }

    public init(
        layer: Int, d: Int, rows: Int, sentences: Int, snapshots: [StoreSnapshot], checkpoints: String, text: String,
        vocabHash: String
    ) {
        self.layer = layer
        self.d = d
        self.rows = rows
        self.sentences = sentences
        self.snapshots = snapshots
        self.checkpoints = checkpoints
        self.text = text
        self.vocabHash = vocabHash
    }
}

/// One input sentence: ids with [CLS]/[SEP] and, from CoNLL-U, each position's word and its labels.
struct StoreSentence {
    var text: String
    var ids: [Int32]
    var word: [Int32]
    var upos: [String]
    var deprel: [String]
}

public enum ActivationStore {
    /// Sentences of a CoNLL-U or plain-text file (one sentence per line) until `tokens` positions.
    static func sentences(_ url: URL, tokenizer: WordPieceTokenizer, maxLen: Int, tokens: Int) throws -> [StoreSentence]
    {
        var out: [StoreSentence] = []
        var total = 0
        if url.pathExtension == "conllu" {
            let (probe, _) = try ProbeSentences.load(url, tokenizer: tokenizer, maxLen: maxLen, limit: nil)
            for s in probe where total < tokens {
                var word = [Int32](repeating: -1, count: s.ids.count)
                var upos = [String](repeating: "_", count: s.ids.count), deprel = upos
                for (wi, span) in s.words.enumerated() {
                    for p in span {
                        word[p] = Int32(wi)
                        upos[p] = s.upos[wi]
                        deprel[p] = s.deprels[wi]
                    }
                }
                out.append(StoreSentence(text: s.text, ids: s.ids, word: word, upos: upos, deprel: deprel))
                total += s.ids.count
            }
        } else {
            let text = String(decoding: try readFile(url), as: UTF8.self)
            for line in textLines(text) where total < tokens {
                let t = line.trimmingCharacters(in: .whitespaces)
                if t.isEmpty { continue }
                var ids = [tokenizer.vocab.clsId] + tokenizer.encode(t).ids
                if ids.count > maxLen - 1 { ids = Array(ids.prefix(maxLen - 1)) }
                ids.append(tokenizer.vocab.sepId)
                let n = ids.count
                out.append(
                    StoreSentence(
                        text: t, ids: ids, word: [Int32](repeating: -1, count: n),
                        upos: [String](repeating: "_", count: n), deprel: [String](repeating: "_", count: n)))
                total += n
            }
        }
        guard !out.isEmpty else { throw EmbryoError.format(url.path, "no sentences to run") }
        return out
    }

    /// Runs `text` through every checkpoint and writes the store into `out`.
    /// The first snapshot's configuration and vocabulary hash, checked to be every snapshot's.
    static func checkSameShape(_ checkpoints: [Snapshot]) throws -> (AlbertConfig, String) {
        let first = checkpoints[0]
        let config0 = try AlbertConfig.load(first.dir.appendingPathComponent("config.json"))
        let vocabHash = try hashFile(first.dir.appendingPathComponent("vocab.txt").path).1
        for c in checkpoints.dropFirst() {
            let cfg = try AlbertConfig.load(c.dir.appendingPathComponent("config.json"))
            guard cfg.hiddenSize == config0.hiddenSize, cfg.numHiddenLayers == config0.numHiddenLayers else {
                throw EmbryoError.format(
                    c.dir.path,
                    "mismatched snapshots: hidden size \(cfg.hiddenSize) and \(cfg.numHiddenLayers) layers, but "
                        + "step \(first.step) has \(config0.hiddenSize) and \(config0.numHiddenLayers)")
            }
            let vh = try hashFile(c.dir.appendingPathComponent("vocab.txt").path).1
            guard vh == vocabHash else {
                throw EmbryoError.format(
                    c.dir.appendingPathComponent("vocab.txt").path,
                    "mismatched snapshots: a different vocabulary from step \(first.step)'s")
            }
        }
        return (config0, vocabHash)
    }

    /// tokens.i32, where.i32 (sentence, position), words.tsv (word, UPOS, DEPREL) and sentences.txt.
    static func writeRowMetadata(_ sents: [StoreSentence], to out: URL) throws {
        let rows = sents.map(\.ids.count).reduce(0, +)
        var tokensData = Data(capacity: rows * 4), whereData = Data(capacity: rows * 8)
        var words = ""
        for (si, s) in sents.enumerated() {
            for p in s.ids.indices {
                withUnsafeBytes(of: s.ids[p].littleEndian) { tokensData.append(contentsOf: $0) }
                withUnsafeBytes(of: Int32(si).littleEndian) { whereData.append(contentsOf: $0) }
                withUnsafeBytes(of: Int32(p).littleEndian) { whereData.append(contentsOf: $0) }
                words += "\(s.word[p])\t\(s.upos[p])\t\(s.deprel[p])\n"
            }
        }
        try writeAtomically(tokensData, to: out.appendingPathComponent("tokens.i32"))
        try writeAtomically(whereData, to: out.appendingPathComponent("where.i32"))
        try writeAtomically(Data(words.utf8), to: out.appendingPathComponent("words.tsv"))
        try writeAtomically(
            Data(sents.map { $0.text.replacingOccurrences(of: "\n", with: " ") + "\n" }.joined().utf8),
            to: out.appendingPathComponent("sentences.txt"))
    }

    /// Builds the store from `checkpoints` (or, with `shard`, only that share of them, without the
    /// manifest: nil). Snapshots already stored under the same weights, layer and tokens are kept;
    /// `reused` counts them. A stop leaves the store without its manifest and says so.
    public static func build(
        run: Run, checkpoints: [Snapshot], layer: Int, text: URL, tokens: Int, out: URL, sourceDescription: String,
        shard: Shard? = nil, reused: UnsafeMutablePointer<Int>? = nil, progress: (Int, Int, Int) -> Void
    ) throws -> StoreManifest? {
        guard let first = checkpoints.first else { throw EmbryoError.usage("no snapshots selected") }
        let (config0, vocabHash) = try checkSameShape(checkpoints)
        guard layer >= 0 && layer <= config0.numHiddenLayers else {
            throw EmbryoError.usage(
                "--layer \(layer) is out of range; the model has layers 0...\(config0.numHiddenLayers) "
                    + "(0 = the embedding output after the projection)")
        }
        let tok = try WordPieceTokenizer.load(vocab: first.dir.appendingPathComponent("vocab.txt"))
        let sents = try sentences(
            text, tokenizer: tok, maxLen: min(128, config0.maxPositionEmbeddings), tokens: tokens)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        // shards write side by side (each its own snapshots, temporary names unique to the writer); a whole
        // build holds the folder
        let lock = shard == nil ? try DirectoryLock(out, purpose: "writing an activation store") : nil
        defer { withExtendedLifetime(lock) {} }
        if shard == nil { removeStaleTemporaries(in: out) }
        // the manifest goes last: while the store is rebuilt (or a shard adds to it), no reader may take old
        // and new files together
        try? FileManager.default.removeItem(at: out.appendingPathComponent("store.json"))
        try writeRowMetadata(sents, to: out)
        let store = ActivationMeasurement(layer: layer, d: config0.hiddenSize, sentences: sents, out: out)
        let runner = MeasurementRunner(
            cache: out.appendingPathComponent("cache"), measurements: [store], warn: { _ in })
        let pass =
            try shard.map { try runner.measure(shard: $0, of: checkpoints) { d, n, step, _ in progress(d, n, step) } }
            ?? runner.measure(checkpoints, assemble: false) { d, n, step, _ in progress(d, n, step) }
        reused?.pointee += pass.cached
        if pass.stopped {
            throw EmbryoError.interrupted(
                "activations: interrupted after \(pass.measured + pass.cached) snapshots; the store in "
                    + "\(out.path) is incomplete (no store.json): run the command again to rebuild it")
        }
        if shard != nil { return nil }
        let manifest = StoreManifest(
            layer: layer, d: config0.hiddenSize, rows: store.rows, sentences: sents.count,
            snapshots: pass.steps.compactMap { store.stored[$0] }, checkpoints: run.checkpoints.path,
            text: sourceDescription, vocabHash: vocabHash)
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try writeAtomically(try enc.encode(manifest), to: out.appendingPathComponent("store.json"))
        return manifest
    }
}

/// Reads a store: the manifest (checked against the files' sizes) and scaled rows on demand, by pread,
/// so memory is bounded by what is asked for.
public final class ActivationReader {
    public let dir: URL
    public let manifest: StoreManifest
    let fds: [Int32]

    public var S: Int { manifest.snapshots.count }
    public var d: Int { manifest.d }
    public var rows: Int { manifest.rows }

    public init(_ dir: URL) throws {
        self.dir = dir
        let mURL = dir.appendingPathComponent("store.json")
        do {
            manifest = try JSONDecoder().decode(StoreManifest.self, from: try readFile(mURL))
        } catch let e as EmbryoError {
            throw e
        } catch {
            throw EmbryoError.format(mURL.path, "not an activation store manifest: \(describe(error))")
        }
        guard manifest.format == "embryo-activations", manifest.dtype == "f16", manifest.d > 0, manifest.rows > 0,
            !manifest.snapshots.isEmpty
        else { throw EmbryoError.format(mURL.path, "not an embryo activation store (format, dtype, d, rows)") }
        var fds: [Int32] = []
        for s in manifest.snapshots {
            let path = dir.appendingPathComponent(s.file).path
            let want = manifest.rows * manifest.d * 2
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
            guard let size else { throw EmbryoError.io(path, "missing activation file") }
            guard size == want else {
                throw EmbryoError.format(
                    path,
                    "truncated or wrong-sized activation file: \(size) bytes, expected \(want) (\(manifest.rows) rows x \(manifest.d) x 2)"
                )
            }
            let fd = open(path, O_RDONLY)
            guard fd >= 0 else { throw EmbryoError.io(path, "cannot open") }
            fds.append(fd)
        }
        for f in ["tokens.i32": 4, "where.i32": 8] {
            let path = dir.appendingPathComponent(f.key).path
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
            guard size == manifest.rows * f.value else {
                throw EmbryoError.format(path, "expected \(manifest.rows * f.value) bytes for \(manifest.rows) rows")
            }
        }
        self.fds = fds
    }

    deinit { for fd in fds { close(fd) } }

    /// Every float16 bit pattern as a Float: one table lookup per value instead of a conversion call.
    static let halfToFloat: [Float] = (0...UInt16.max).map { Float(Float16(bitPattern: $0)) }

    /// Rows `idx` of every snapshot, scaled, into `out` as (idx.count, S*d): snapshot blocks side by side.
    public func read(rows idx: [Int], into out: UnsafeMutablePointer<Float>) throws {
        let d = manifest.d, S = self.S
        var half = [UInt16](repeating: 0, count: d)
        let table = ActivationReader.halfToFloat
        for s in 0..<S {
            let scale = manifest.snapshots[s].scale
            for (r, row) in idx.enumerated() {
                let got = half.withUnsafeMutableBytes { pread(fds[s], $0.baseAddress, d * 2, off_t(row * d * 2)) }
                guard got == d * 2 else {
                    throw EmbryoError.io(
                        dir.appendingPathComponent(manifest.snapshots[s].file).path, "short read at row \(row)")
                }
                let dst = out + r * S * d + s * d
                table.withUnsafeBufferPointer { t in
                    for j in 0..<d { dst[j] = t[Int(UInt16(littleEndian: half[j]))] * scale }
                }
            }
        }
    }

    // row metadata, read once
    private var tokenCache: [Int32]?, positionCache: [Int32]?, wordCache: [(word: Int, upos: String, deprel: String)]?

    static func memo<T>(_ cache: inout T?, _ load: () throws -> T) rethrows -> T {
        if let c = cache { return c }
        let v = try load()
        cache = v
        return v
    }

    /// Token id of each row.
    public func tokens() throws -> [Int32] { try Self.memo(&tokenCache) { try ints("tokens.i32") } }
    /// Sentence index and position of each row, interleaved.
    public func positions() throws -> [Int32] { try Self.memo(&positionCache) { try ints("where.i32") } }

    func ints(_ name: String) throws -> [Int32] {
        let data = try readFile(dir.appendingPathComponent(name))
        return data.withUnsafeBytes { Array($0.bindMemory(to: Int32.self)) }.map { Int32(littleEndian: $0) }
    }

    /// Per row: word index, UPOS, DEPREL.
    public func words() throws -> [(word: Int, upos: String, deprel: String)] {
        try Self.memo(&wordCache) {
            let text = String(decoding: try readFile(dir.appendingPathComponent("words.tsv")), as: UTF8.self)
            return textLines(text).filter { !$0.isEmpty }.map {
                let c = $0.split(separator: "\t", omittingEmptySubsequences: false)
                return (Int(c[0]) ?? -1, c.count > 1 ? String(c[1]) : "_", c.count > 2 ? String(c[2]) : "_")
            }
        }
    }
}

// TokenizedCorpus: a corpus as one flat array of token ids with sentence and document boundaries, built
// by streaming the sources through the tokenizer, and cached on disk keyed by the corpus bytes and the
// vocabulary, so a second run over the same data starts at once.

import EmbryoCore
import EmbryoText
import Foundation

public struct CorpusSource: Codable, Sendable, Equatable {
    /// text: a sentence per line, blank lines between documents; jsonl: a JSON object per line, one document
    /// each, its text field split into sentences at line breaks; conllu: UD sentences. Text and JSON Lines
    /// may be gzip-compressed (.gz).
    public enum Kind: String, Codable, Sendable { case text, conllu, jsonl }
    public var path: String
    public var kind: Kind
    public var bytes: Int
    public var hash: String
    /// JSON Lines: the field holding the text (nil: "text").
    public var textField: String? = nil

    public init(path: String, kind: Kind, bytes: Int, hash: String, textField: String? = nil) {
        (self.path, self.kind, self.bytes, self.hash, self.textField) = (path, kind, bytes, hash, textField)
    }

    /// What identifies the source's tokens: its content, and for JSON Lines the field read.
    public var key: String { kind == .jsonl ? "\(hash):\(textField ?? "text")" : hash }

    /// The kind a file name says: .conllu, .jsonl/.json (JSON Lines), else text; a .gz suffix is looked through.
    public static func kind(of path: String) -> Kind {
        var name = path.lowercased()
        if name.hasSuffix(".gz") { name.removeLast(3) }
        if name.hasSuffix(".conllu") { return .conllu }
        if name.hasSuffix(".jsonl") || name.hasSuffix(".json") { return .jsonl }
        return .text
    }
}

public final class TokenizedCorpus {
    public private(set) var tokens: [Int32] = []
    /// Start of each sentence in `tokens`, plus a final end marker.
    public private(set) var sentenceStarts: [Int32] = [0]
    /// First sentence of each document, plus a final end marker.
    public private(set) var documentStarts: [Int32] = [0]

    public var sentenceCount: Int { sentenceStarts.count - 1 }
    public var documentCount: Int { documentStarts.count - 1 }

    public init() {}

    func addSentence(_ ids: [Int32]) {
        if ids.isEmpty { return }
        tokens += ids
        sentenceStarts.append(Int32(tokens.count))
    }

    func endDocument() {
        if Int(documentStarts.last!) < sentenceCount { documentStarts.append(Int32(sentenceCount)) }
    }

    /// Tokens of sentence s.
    public func sentence(_ s: Int) -> ArraySlice<Int32> { tokens[Int(sentenceStarts[s])..<Int(sentenceStarts[s + 1])] }

    /// Sentences of document d.
    public func sentences(ofDocument d: Int) -> Range<Int> { Int(documentStarts[d])..<Int(documentStarts[d + 1]) }

    // MARK: building

    /// Describes the sources (kind by extension, byte size, content hash); directories expand to their
    /// .txt, .jsonl, .json, .conllu and .gz files.
    public static func describe(_ paths: [String], textField: String? = nil) throws -> [CorpusSource] {
        try expandCorpusPaths(paths, extensions: ["txt", "conllu", "jsonl", "json", "gz"]).map { p in
            let kind = CorpusSource.kind(of: p)
            if kind == .conllu && p.lowercased().hasSuffix(".gz") {
                throw EmbryoError.format(p, "CoNLL-U is read uncompressed: gunzip it first")
            }
            let (bytes, hash) = try hashFile(p)
            guard bytes > 0 else { throw EmbryoError.format(p, "the corpus file is empty") }
            return CorpusSource(
                path: p, kind: kind, bytes: bytes, hash: hash, textField: kind == .jsonl ? textField ?? "text" : nil)
        }
    }

    /// Calls body with each non-empty sentence's text, and nil at each document boundary.
    public static func forEachSentence(_ sources: [CorpusSource], _ body: (String?) throws -> Void) throws {
        for s in sources {
            switch s.kind {
            case .conllu:
                // documents: "# newdoc" comments when the file has them, else the whole file
                var any = false
                for sent in try ConllU.read(URL(fileURLWithPath: s.path)) {
                    if sent.newDocument && any { try body(nil) }
                    try body(sent.surfaceText)
                    any = true
                }
                try body(nil)
            case .jsonl:
                try forEachRecord(s, body)
            case .text:
                let reader = try LineReader(path: s.path)
                var lineNo = 0
                try reader.forEachLine { line in
                    lineNo += 1
                    if line.contains(0) {
                        throw EmbryoError.format(
                            "\(s.path):\(lineNo)", "contains NUL bytes: this looks like a binary file, not text")
                    }
                    let text = String(decoding: line, as: UTF8.self)
                    if text.allSatisfy({ $0.isWhitespace }) { try body(nil) } else { try body(text) }
                    return true
                }
                try body(nil)
            }
        }
    }

    /// JSON Lines: each record is a document; its text field is split into sentences at line breaks.
    static func forEachRecord(_ s: CorpusSource, _ body: (String?) throws -> Void) throws {
        let field = s.textField ?? "text"
        let reader = try LineReader(path: s.path)
        var lineNo = 0
        try reader.forEachLine { line in
            lineNo += 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return true }
            let place = "\(s.path):\(lineNo)"
            guard let o = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any] else {
                throw EmbryoError.format(place, "not a JSON object (a JSON Lines corpus has one record per line)")
            }
            guard let value = o[field] else {
                throw EmbryoError.format(
                    place,
                    "no field '\(field)' (the record has \(o.keys.sorted().prefix(8).joined(separator: ", "))); "
                        + "choose the text field with --text-field")
            }
            guard let text = value as? String else {
                throw EmbryoError.format(place, "field '\(field)' is not a string")
            }
            var any = false
            for sentence in text.split(separator: "\n", omittingEmptySubsequences: true)
            where !sentence.allSatisfy({ $0.isWhitespace }) {
                try body(String(sentence))
                any = true
            }
            if any { try body(nil) }
            return true
        }
    }

    /// Tokenizes the sources (one pass, streaming).
    public static func build(_ sources: [CorpusSource], tokenizer: WordPieceTokenizer, progress: ((Int) -> Void)? = nil)
        throws
        -> TokenizedCorpus
    {
        let c = TokenizedCorpus()
        var n = 0
        try forEachSentence(sources) { text in
            guard let text else { c.endDocument(); return }
            c.addSentence(tokenizer.encode(text).ids)
            n += 1
            if n % 10000 == 0 { progress?(c.tokens.count) }
        }
        c.endDocument()
        return c
    }

    // MARK: cache

    static let magic = Array("EMBRYOTC".utf8)

    public func save(_ url: URL) throws {
        var d = Data(TokenizedCorpus.magic)
        func put(_ x: Int64) { var v = x.littleEndian; withUnsafeBytes(of: &v) { d.append(contentsOf: $0) } }
        put(1)
        put(Int64(tokens.count))
        put(Int64(sentenceStarts.count))
        put(Int64(documentStarts.count))
        for a in [tokens, sentenceStarts, documentStarts] { a.withUnsafeBytes { d.append(contentsOf: $0) } }
        try writeAtomically(d, to: url)
    }

    public static func load(_ url: URL) throws -> TokenizedCorpus {
        let d = try readFile(url)
        func bad() -> EmbryoError { .format(url.path, "not a valid token cache (delete it to rebuild)") }
        guard d.count >= 40, Array(d.prefix(8)) == magic else { throw bad() }
        func get(_ i: Int) -> Int {
            Int(d.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 8 + 8 * i, as: Int64.self) })
        }
        let (nt, ns, nd) = (get(1), get(2), get(3))
        guard get(0) == 1, nt >= 0, ns >= 1, nd >= 1, d.count == 40 + 4 * (nt + ns + nd) else { throw bad() }
        let c = TokenizedCorpus()
        d.withUnsafeBytes { raw in
            let p = raw.baseAddress! + 40
            c.tokens = Array(UnsafeBufferPointer(start: (p).assumingMemoryBound(to: Int32.self), count: nt))
            c.sentenceStarts = Array(
                UnsafeBufferPointer(start: (p + 4 * nt).assumingMemoryBound(to: Int32.self), count: ns))
            c.documentStarts = Array(
                UnsafeBufferPointer(start: (p + 4 * (nt + ns)).assumingMemoryBound(to: Int32.self), count: nd))
        }
        return c
    }
}

/// (byte count, FNV-1a 64 hex) of a file, streamed.
public func hashFile(_ path: String) throws -> (Int, String) {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue else {
        throw EmbryoError.io(path, "no such file")
    }
    guard let h = FileHandle(forReadingAtPath: path) else { throw EmbryoError.io(path, "cannot open for reading") }
    defer { try? h.close() }
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    var n = 0
    while let chunk = try h.read(upToCount: 1 << 20), !chunk.isEmpty {
        n += chunk.count
        chunk.withUnsafeBytes { raw in
            for b in raw.bindMemory(to: UInt8.self) {
                hash ^= UInt64(b)
                hash = hash &* 0x100_0000_01b3
            }
        }
    }
    return (n, String(hash, radix: 16))
}

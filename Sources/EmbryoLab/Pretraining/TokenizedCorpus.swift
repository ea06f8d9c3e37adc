// TokenizedCorpus: a corpus as one flat column of token ids with sentence and document boundaries, built
// by streaming the sources through the tokenizer into a token file, cached on disk keyed by the corpus
// bytes and the vocabulary (so a second run over the same data starts at once), and memory-mapped, so a
// corpus far larger than memory trains without being loaded: only the pages examples touch are read.
//
// Token file (little-endian), version 2: "EMBRYOT2", then Int64 version 2, token width in bytes (2 when
// the vocabulary fits in 16 bits, else 4), tokens, sentence starts + 1, document starts + 1; the tokens
// (padded to 8 bytes), sentence starts (Int64, token offsets, a final end marker) and document starts
// (Int64, sentence indices, a final end marker).

import EmbryoCore
import EmbryoText
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

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

/// A read-only column of token ids: 16- or 32-bit, in memory or inside a memory-mapped token file.
public struct TokenColumn: RandomAccessCollection, @unchecked Sendable {
    let base: UnsafeRawPointer
    let wide: Bool
    let owner: AnyObject
    public let count: Int
    public var startIndex: Int { 0 }
    public var endIndex: Int { count }

    @inline(__always) public subscript(i: Int) -> Int32 {
        wide
            ? base.load(fromByteOffset: i &<< 2, as: Int32.self)
            : Int32(base.load(fromByteOffset: i &<< 1, as: UInt16.self))
    }
}

/// A read-only column of offsets (Int64 on disk).
public struct OffsetColumn: RandomAccessCollection, @unchecked Sendable {
    let base: UnsafePointer<Int64>
    let owner: AnyObject
    public let count: Int
    public var startIndex: Int { 0 }
    public var endIndex: Int { count }

    @inline(__always) public subscript(i: Int) -> Int { Int(base[i]) }
}

/// Memory a corpus's columns live in: an allocation, or a read-only mapping of a token file.
final class CorpusStorage {
    let base: UnsafeMutableRawPointer
    let bytes: Int
    let mapped: Bool

    init(allocating bytes: Int) {
        self.bytes = max(bytes, 8)
        base = UnsafeMutableRawPointer.allocate(byteCount: self.bytes, alignment: 64)
        mapped = false
        fd = -1
    }

    /// The mapped file, kept open for passes that read it without mapping pages (-1 in memory).
    let fd: Int32

    init(mapping url: URL) throws {
        let fd = open(url.path, O_RDONLY)
        guard fd >= 0 else { throw EmbryoError.io(url.path, "cannot open: \(String(cString: strerror(errno)))") }
        var ok = false
        defer { if !ok { close(fd) } }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw EmbryoError.io(url.path, "cannot stat") }
        bytes = Int(st.st_size)
        guard bytes >= 64, let p = mmap(nil, bytes, PROT_READ, MAP_SHARED, fd, 0), p != MAP_FAILED else {
            throw EmbryoError.format(url.path, "not a valid token cache (delete it to rebuild)")
        }
        // examples read a few scattered sentences: no read-ahead beyond the pages asked for
        madvise(p, bytes, MADV_RANDOM)
        base = p
        mapped = true
        self.fd = fd
        ok = true
    }

    /// Reads [offset, offset+count) of the file into `into` with pread: the bytes come through the page
    /// cache, and no page of the mapping is touched, so the process does not grow by what it reads.
    func read(_ offset: Int, _ count: Int, into: UnsafeMutableRawPointer) {
        var done = 0
        while done < count {
            let n = pread(fd, into + done, count - done, off_t(offset + done))
            if n <= 0 {
                // a file that cannot be read now: fall back on the mapping
                (into + done).copyMemory(from: base + offset + done, byteCount: count - done)
                return
            }
            done += n
        }
    }

    /// Lets go of every page of the mapping this process holds (they stay in the page cache, and the next
    /// access maps them again). The kernel may map a large folio of a file at a single fault, so scattered
    /// reads of a hot file would otherwise grow the process by far more than they read.
    func releaseAll() {
        if mapped { madvise(base, bytes, MADV_DONTNEED) }
    }

    deinit {
        if mapped {
            munmap(base, bytes)
            close(fd)
        } else {
            base.deallocate()
        }
    }
}

public final class TokenizedCorpus {
    public let tokens: TokenColumn
    /// Start of each sentence in `tokens`, plus a final end marker.
    public let sentenceStarts: OffsetColumn
    /// First sentence of each document, plus a final end marker.
    public let documentStarts: OffsetColumn
    let storage: CorpusStorage
    let tokensOffset: Int

    public var sentenceCount: Int { sentenceStarts.count - 1 }
    public var documentCount: Int { documentStarts.count - 1 }
    /// Whether the columns are memory-mapped from a token file (else in memory).
    public var isMapped: Bool { storage.mapped }

    init(
        storage: CorpusStorage, wide: Bool, tokens nt: Int, tokensAt: Int, sentences ns: Int, sentencesAt: Int,
        documents nd: Int, documentsAt: Int
    ) {
        self.storage = storage
        tokensOffset = tokensAt
        tokens = TokenColumn(base: UnsafeRawPointer(storage.base + tokensAt), wide: wide, owner: storage, count: nt)
        sentenceStarts = OffsetColumn(
            base: UnsafeRawPointer(storage.base + sentencesAt).assumingMemoryBound(to: Int64.self), owner: storage,
            count: ns)
        documentStarts = OffsetColumn(
            base: UnsafeRawPointer(storage.base + documentsAt).assumingMemoryBound(to: Int64.self), owner: storage,
            count: nd)
    }

    /// Tokens of sentence s.
    public func sentence(_ s: Int) -> Slice<TokenColumn> { tokens[sentenceStarts[s]..<sentenceStarts[s + 1]] }

    /// Sentences of document d.
    public func sentences(ofDocument d: Int) -> Range<Int> { documentStarts[d]..<documentStarts[d + 1] }

    /// Calls body on the tokens of each run of sentences in `spans`; a mapped corpus is read from its file
    /// (boundaries and tokens), not through the mapping, so scattered spans over a large corpus cost no memory.
    public func forEachTokens(inSentences spans: [Range<Int>], _ body: (TokenColumn) -> Void) {
        guard storage.mapped else {
            for r in spans {
                let lo = sentenceStarts[r.lowerBound]
                body(
                    TokenColumn(
                        base: tokens.base + lo * (tokens.wide ? 4 : 2), wide: tokens.wide, owner: storage,
                        count: sentenceStarts[r.upperBound] - lo))
            }
            return
        }
        let width = tokens.wide ? 4 : 2
        let startsAt = UnsafeRawPointer(sentenceStarts.base) - UnsafeRawPointer(storage.base)
        var pair = (Int64(0), Int64(0))
        var buffer = UnsafeMutableRawPointer.allocate(byteCount: 1 << 16, alignment: 64)
        var capacity = 1 << 16
        defer { buffer.deallocate() }
        for r in spans where !r.isEmpty {
            withUnsafeMutableBytes(of: &pair.0) { storage.read(startsAt + 8 * r.lowerBound, 8, into: $0.baseAddress!) }
            withUnsafeMutableBytes(of: &pair.1) { storage.read(startsAt + 8 * r.upperBound, 8, into: $0.baseAddress!) }
            let lo = Int(pair.0), n = Int(pair.1) - lo
            if n * width > capacity {
                buffer.deallocate()
                capacity = n * width
                buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 64)
            }
            storage.read(tokensOffset + lo * width, n * width, into: buffer)
            body(TokenColumn(base: UnsafeRawPointer(buffer), wide: tokens.wide, owner: storage, count: n))
        }
    }

    /// Lets go of the pages of a mapped corpus that this process holds (a no-op in memory).
    public func releasePages() { storage.releaseAll() }

    /// Calls body on the tokens in order, a block at a time. A mapped corpus is read from its file into one
    /// block buffer, so a pass over a corpus larger than memory keeps the process small.
    public func forEachTokenBlock(_ body: (TokenColumn) -> Void) {
        guard storage.mapped else { return body(tokens) }
        let block = 1 << 22, width = tokens.wide ? 4 : 2
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: block * width, alignment: 64)
        defer { buffer.deallocate() }
        var i = 0
        while i < tokens.count {
            let n = min(block, tokens.count - i)
            storage.read(tokensOffset + i * width, n * width, into: buffer)
            body(TokenColumn(base: UnsafeRawPointer(buffer), wide: tokens.wide, owner: storage, count: n))
            i += n
        }
    }

    /// Sentence and document boundaries as they are built.
    struct Builder {
        var tokens: [Int32] = []
        var sentenceStarts: [Int] = [0]
        var documentStarts: [Int] = [0]

        mutating func addSentence(_ ids: [Int32]) {
            if ids.isEmpty { return }
            tokens += ids
            sentenceStarts.append(tokens.count)
        }

        mutating func endDocument() {
            if documentStarts.last! < sentenceStarts.count - 1 { documentStarts.append(sentenceStarts.count - 1) }
        }
    }

    /// An in-memory corpus from token ids and boundaries (ids of any vocabulary size).
    convenience init(_ b: Builder) {
        let wide = (b.tokens.max() ?? 0) > Int32(UInt16.max)
        let tb = (b.tokens.count * (wide ? 4 : 2) + 7) / 8 * 8
        let storage = CorpusStorage(allocating: tb + 8 * (b.sentenceStarts.count + b.documentStarts.count))
        for (i, t) in b.tokens.enumerated() {
            if wide {
                storage.base.storeBytes(of: t, toByteOffset: 4 * i, as: Int32.self)
            } else {
                storage.base.storeBytes(of: UInt16(t), toByteOffset: 2 * i, as: UInt16.self)
            }
        }
        for (i, v) in b.sentenceStarts.enumerated() {
            storage.base.storeBytes(of: Int64(v), toByteOffset: tb + 8 * i, as: Int64.self)
        }
        let ds = tb + 8 * b.sentenceStarts.count
        for (i, v) in b.documentStarts.enumerated() {
            storage.base.storeBytes(of: Int64(v), toByteOffset: ds + 8 * i, as: Int64.self)
        }
        self.init(
            storage: storage, wide: wide, tokens: b.tokens.count, tokensAt: 0, sentences: b.sentenceStarts.count,
            sentencesAt: tb, documents: b.documentStarts.count, documentsAt: ds)
    }

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
                try forEachSentenceBytes([s]) { line in try body(line.map { String(decoding: $0, as: UTF8.self) }) }
            }
        }
    }

    /// Like `forEachSentence`, with each sentence as UTF-8 bytes (plain text lines are passed as read, with no
    /// String made of them). Blank lines (whitespace only, Unicode's included) are document boundaries.
    public static func forEachSentenceBytes(
        _ sources: [CorpusSource], _ body: (UnsafeBufferPointer<UInt8>?) throws -> Void
    ) throws {
        for s in sources {
            guard s.kind == .text else {
                try forEachSentence([s]) { text in
                    guard var t = text else { return try body(nil) }
                    try t.withUTF8 { try body($0) }
                }
                continue
            }
            let reader = try LineReader(path: s.path)
            var lineNo = 0
            try reader.forEachLine { line in
                lineNo += 1
                var content = false, nonASCII = false
                for b in line {  // NUL bytes never get here: the reader refuses them
                    if b >= 0x80 {
                        nonASCII = true
                    } else if !(b == 0x20 || (b >= 0x09 && b <= 0x0D)) {
                        content = true
                    }
                }
                if !content && nonASCII {
                    // only non-ASCII bytes besides whitespace: let Unicode decide whether it is blank
                    content = !String(decoding: line, as: UTF8.self).allSatisfy { $0.isWhitespace }
                }
                try body(content ? line : nil)
                return true
            }
            try body(nil)
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
            for sentence in text.split(omittingEmptySubsequences: true, whereSeparator: \.isNewline)
            where !sentence.allSatisfy({ $0.isWhitespace }) {
                try body(String(sentence))
                any = true
            }
            if any { try body(nil) }
            return true
        }
    }

    /// Tokenizes the sources into memory (one pass, streaming); see `write` for corpora of any size.
    public static func build(_ sources: [CorpusSource], tokenizer: WordPieceTokenizer, progress: ((Int) -> Void)? = nil)
        throws
        -> TokenizedCorpus
    {
        var b = Builder()
        var n = 0
        try forEachSentence(sources) { text in
            guard let text else { b.endDocument(); return }
            b.addSentence(tokenizer.encode(text).ids)
            n += 1
            if n % 10000 == 0 { progress?(b.tokens.count) }
        }
        b.endDocument()
        return TokenizedCorpus(b)
    }

    // MARK: token file

    static let magic = Array("EMBRYOT2".utf8)

    /// Tokenizes the sources straight into a token file at `url` (atomically), never holding more than a
    /// buffer of tokens and boundaries: the sentence and document starts go to side files that are appended
    /// at the end. `progress(tokens, bytes of the sources read)` every 100,000 sentences.
    public static func write(
        _ sources: [CorpusSource], tokenizer: WordPieceTokenizer, to url: URL,
        progress: ((Int, Int) -> Void)? = nil
    ) throws {
        let wide = tokenizer.vocab.count > Int(UInt16.max) + 1
        let dir = url.deletingLastPathComponent()
        let tag = writerTag()
        let main = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(tag)")
        let sideS = dir.appendingPathComponent(".\(url.lastPathComponent).sentences-\(tag)")
        let sideD = dir.appendingPathComponent(".\(url.lastPathComponent).documents-\(tag)")
        defer { for u in [main, sideS, sideD] { try? FileManager.default.removeItem(at: u) } }
        let out = try BufferedWriter(main), sents = try BufferedWriter(sideS), docs = try BufferedWriter(sideD)
        try out.write(bytes: [UInt8](repeating: 0, count: 64))
        var nt = 0, ns = 1, nd = 1, sentencesInDocument = 0
        try sents.write(int64: 0)
        try docs.write(int64: 0)
        var n = 0
        let bytesTotal = sources.reduce(0) { $0 + $1.bytes }
        var encoding = Encoding()
        var narrow: [UInt16] = []
        try forEachSentenceBytes(sources) { text in
            guard let text else {
                if sentencesInDocument > 0 {
                    try docs.write(int64: Int64(ns - 1))
                    nd += 1
                    sentencesInDocument = 0
                }
                return
            }
            tokenizer.encode(bytes: text, into: &encoding)
            let ids = encoding.ids
            guard !ids.isEmpty else { return }
            if wide {
                try ids.withUnsafeBytes { try out.write(raw: $0) }
            } else {
                narrow.removeAll(keepingCapacity: true)
                for t in ids { narrow.append(UInt16(truncatingIfNeeded: t)) }
                try narrow.withUnsafeBytes { try out.write(raw: $0) }
            }
            nt += ids.count
            guard nt < Int(Int32.max) else {
                throw EmbryoError.runtime("the corpus has more than 2^31 tokens; split it into several runs")
            }
            try sents.write(int64: Int64(nt))
            ns += 1
            sentencesInDocument += 1
            n += 1
            if n % 100_000 == 0 { progress?(nt, bytesTotal) }
            if n % 10_000 == 0 && stopRequested != 0 {
                throw EmbryoError.interrupted("tokenizing: stopped; the token cache was not written")
            }
        }
        if sentencesInDocument > 0 {
            try docs.write(int64: Int64(ns - 1))
            nd += 1
        }
        let pad = (8 - (nt * (wide ? 4 : 2)) % 8) % 8
        try out.write(bytes: [UInt8](repeating: 0, count: pad))
        try sents.close()
        try docs.close()
        for side in [sideS, sideD] { try out.append(contentsOf: side) }
        try out.finish(header: header(wide: wide, tokens: nt, sentences: ns, documents: nd))
        if rename(main.path, url.path) != 0 {
            throw EmbryoError.io(url.path, "cannot rename into place: \(String(cString: strerror(errno)))")
        }
    }

    /// Maps a token file; its columns are read from the file as they are used. A cache in the first format
    /// (runs made before the token file) is read into memory.
    /// Given `vocabSize`, every token id is checked to lie inside the vocabulary.
    public static func load(_ url: URL, vocabSize: Int? = nil) throws -> TokenizedCorpus {
        let storage = try CorpusStorage(mapping: url)
        func bad() -> EmbryoError { .format(url.path, "not a valid token cache (delete it to rebuild)") }
        let raw = UnsafeRawPointer(storage.base)
        if (0..<8).allSatisfy({ raw.load(fromByteOffset: $0, as: UInt8.self) == Array("EMBRYOTC".utf8)[$0] }) {
            return try loadVersion1(raw, bytes: storage.bytes, bad)
        }
        guard (0..<8).allSatisfy({ raw.load(fromByteOffset: $0, as: UInt8.self) == magic[$0] }) else { throw bad() }
        func get(_ i: Int) -> Int { Int(Int64(littleEndian: raw.load(fromByteOffset: 8 + 8 * i, as: Int64.self))) }
        let (version, width, nt, ns, nd) = (get(0), get(1), get(2), get(3), get(4))
        // counts bounded by the file before any product of them
        let limit = storage.bytes
        guard version == 2, width == 2 || width == 4, nt >= 0, ns >= 1, nd >= 1, nt <= limit, ns <= limit / 8,
            nd <= limit / 8
        else { throw bad() }
        let tb = (nt * width + 7) / 8 * 8
        guard storage.bytes == 64 + tb + 8 * (ns + nd) else { throw bad() }
        let c = TokenizedCorpus(
            storage: storage, wide: width == 4, tokens: nt, tokensAt: 64, sentences: ns, sentencesAt: 64 + tb,
            documents: nd, documentsAt: 64 + tb + 8 * ns)
        guard c.sentenceStarts[0] == 0, c.sentenceStarts[ns - 1] == nt, c.documentStarts[nd - 1] == ns - 1 else {
            throw bad()
        }
        try checkContents(c, storage: storage, width: width, vocabSize: vocabSize, url)
        storage.releaseAll()  // the offsets' pages the checks touched
        return c
    }

    /// The first cache format: "EMBRYOTC", Int64 version 1, counts, then Int32 tokens, sentence starts and
    /// document starts.
    static func loadVersion1(_ raw: UnsafeRawPointer, bytes: Int, _ bad: () -> EmbryoError) throws -> TokenizedCorpus {
        guard bytes >= 40 else { throw bad() }
        func get(_ i: Int) -> Int { Int(Int64(littleEndian: raw.load(fromByteOffset: 8 + 8 * i, as: Int64.self))) }
        let (nt, ns, nd) = (get(1), get(2), get(3))
        guard get(0) == 1, nt >= 0, ns >= 1, nd >= 1, nt <= bytes / 4, ns <= bytes / 4, nd <= bytes / 4,
            bytes == 40 + 4 * (nt + ns + nd)
        else { throw bad() }
        func column(_ at: Int, _ n: Int) -> [Int32] {
            (0..<n).map { Int32(littleEndian: raw.load(fromByteOffset: at + 4 * $0, as: Int32.self)) }
        }
        var b = Builder()
        b.tokens = column(40, nt)
        b.sentenceStarts = column(40 + 4 * nt, ns).map(Int.init)
        b.documentStarts = column(40 + 4 * (nt + ns), nd).map(Int.init)
        return TokenizedCorpus(b)
    }

    /// The 64-byte header of a token file.
    static func header(wide: Bool, tokens: Int, sentences: Int, documents: Int) -> [UInt8] {
        var h = magic
        for v in [2, wide ? 4 : 2, tokens, sentences, documents] {
            withUnsafeBytes(of: Int64(v).littleEndian) { h += $0 }
        }
        return h + [UInt8](repeating: 0, count: 64 - h.count)
    }

    /// Writes this corpus as a token file (the same bytes `write` makes from the sources).
    public func save(_ url: URL) throws {
        let wide = tokens.wide
        var d = Data(
            TokenizedCorpus.header(
                wide: wide, tokens: tokens.count, sentences: sentenceStarts.count, documents: documentStarts.count))
        d.append(Data(bytes: tokens.base, count: tokens.count * (wide ? 4 : 2)))
        d.append(contentsOf: [UInt8](repeating: 0, count: (8 - (tokens.count * (wide ? 4 : 2)) % 8) % 8))
        d.append(Data(bytes: UnsafeRawPointer(sentenceStarts.base), count: 8 * sentenceStarts.count))
        d.append(Data(bytes: UnsafeRawPointer(documentStarts.base), count: 8 * documentStarts.count))
        try writeAtomically(d, to: url)
    }
}

/// Appends to a file through a buffer; `finish` writes a header over the file's first bytes and syncs.
final class BufferedWriter {
    let url: URL
    let handle: FileHandle
    var buffer: [UInt8] = []

    init(_ url: URL) throws {
        self.url = url
        guard FileManager.default.createFile(atPath: url.path, contents: nil),
            let h = FileHandle(forUpdatingAtPath: url.path)
        else { throw EmbryoError.io(url.path, "cannot create file") }
        handle = h
        buffer.reserveCapacity(1 << 20)
    }

    func flush() throws {
        guard !buffer.isEmpty else { return }
        do { try handle.write(contentsOf: buffer) } catch {
            throw EmbryoError.io(url.path, "write failed: \(systemReason(error))")
        }
        buffer.removeAll(keepingCapacity: true)
    }

    @inline(__always) func write(bytes: [UInt8]) throws {
        buffer += bytes
        if buffer.count >= 1 << 20 { try flush() }
    }

    @inline(__always) func write(raw: UnsafeRawBufferPointer) throws {
        buffer.append(contentsOf: raw)
        if buffer.count >= 1 << 20 { try flush() }
    }

    @inline(__always) func write(int64 v: Int64) throws {
        withUnsafeBytes(of: v.littleEndian) { buffer += $0 }
        if buffer.count >= 1 << 20 { try flush() }
    }

    /// Appends another file's bytes, streamed.
    func append(contentsOf other: URL) throws {
        try flush()
        guard let h = FileHandle(forReadingAtPath: other.path) else { throw EmbryoError.io(other.path, "cannot read") }
        defer { try? h.close() }
        while let chunk = try h.read(upToCount: 1 << 22), !chunk.isEmpty {
            do { try handle.write(contentsOf: chunk) } catch {
                throw EmbryoError.io(url.path, "write failed: \(systemReason(error))")
            }
        }
    }

    func close() throws {
        try flush()
        try handle.close()
    }

    func finish(header: [UInt8]) throws {
        try flush()
        do {
            try handle.seek(toOffset: 0)
            try handle.write(contentsOf: header)
            try handle.synchronize()
            try handle.close()
        } catch { throw EmbryoError.io(url.path, "write failed: \(systemReason(error))") }
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

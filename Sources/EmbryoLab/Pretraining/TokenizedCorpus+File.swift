// The token file of a TokenizedCorpus (the format is described in TokenizedCorpus.swift): written through
// a buffer, checked and memory-mapped when read, version 1 files still read.
import EmbryoCore
import EmbryoRun
import EmbryoText
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

extension TokenizedCorpus {
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

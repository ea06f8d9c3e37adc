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
import EmbryoRun
import EmbryoText
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

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
}

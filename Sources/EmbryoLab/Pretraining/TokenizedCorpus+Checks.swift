// What opening a token cache checks beyond its header: sentence and document offsets that rise inside the
// corpus, so that no slice can fall outside it, and, given the vocabulary, every token id inside it.

import EmbryoCore
import EmbryoRun
import Foundation

extension TokenizedCorpus {
    static func checkContents(
        _ c: TokenizedCorpus, storage: CorpusStorage, width: Int, vocabSize: Int?, _ url: URL
    ) throws {
        let ns = c.sentenceStarts.count, nd = c.documentStarts.count
        func bad(_ why: String) -> EmbryoError {
            .format(url.path, "\(why): a corrupted token cache (delete it to rebuild)")
        }
        for i in 1..<ns where c.sentenceStarts[i] < c.sentenceStarts[i - 1] {
            throw bad("sentence offsets go backwards at sentence \(i)")
        }
        if c.documentStarts[0] < 0 { throw bad("a negative document offset") }
        for i in 1..<nd where c.documentStarts[i] < c.documentStarts[i - 1] {
            throw bad("document offsets go backwards at document \(i)")
        }
        if let vocabSize { try checkTokenIds(storage, width: width, count: c.tokens.count, below: vocabSize, url) }
    }

    /// Every token id in [0, vocabSize), read with pread in blocks (the mapping's pages stay untouched).
    static func checkTokenIds(_ storage: CorpusStorage, width: Int, count nt: Int, below vocabSize: Int, _ url: URL)
        throws
    {
        let block = 1 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: block * width, alignment: 8)
        defer { buffer.deallocate() }
        var at = 0
        while at < nt {
            let n = min(block, nt - at)
            storage.read(64 + at * width, n * width, into: buffer)
            for i in 0..<n {
                let id =
                    width == 4
                    ? Int(Int32(littleEndian: buffer.load(fromByteOffset: 4 * i, as: Int32.self)))
                    : Int(UInt16(littleEndian: buffer.load(fromByteOffset: 2 * i, as: UInt16.self)))
                guard id >= 0 && id < vocabSize else {
                    throw EmbryoError.format(
                        url.path,
                        "token \(at + i) has id \(id), outside the vocabulary of \(vocabSize): a corrupted token "
                            + "cache (delete it to rebuild)")
                }
            }
            at += n
        }
    }
}

// Reading corpora into a TokenizedCorpus: the sources described (kind, size, content hash), their
// sentences streamed from plain text, JSON lines, CoNLL-U or gzip, and tokenized into the flat columns.
import EmbryoCore
import EmbryoRun
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

extension TokenizedCorpus {
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
}

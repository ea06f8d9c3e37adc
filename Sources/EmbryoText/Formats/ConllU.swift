// CoNLL-U reader (universaldependencies.org/format.html): ten tab-separated columns per word line,
// comments (# sent_id, # text), multi-word token ranges ("3-4"), empty nodes ("8.1"), SpaceAfter=No in
// MISC. Checked on reading: column count, word ids 1..n in order, heads in 0..n, exactly one root, no
// cycles. Errors name the file and line.

import EmbryoCore
import Foundation

public struct ConllWord: Sendable, Equatable {
    public var id: Int
    public var form: String
    public var lemma: String
    public var upos: String
    public var xpos: String
    public var feats: String
    public var head: Int  // -1 when the file leaves it "_"
    public var deprel: String
    public var misc: String
    public var spaceAfter: Bool { !misc.split(separator: "|").contains("SpaceAfter=No") }
}

/// A multi-word token: surface form `form` covering words first...last.
public struct ConllMultiword: Sendable, Equatable {
    public var first: Int
    public var last: Int
    public var form: String
    public var spaceAfter: Bool

    public init(first: Int, last: Int, form: String, spaceAfter: Bool) {
        self.first = first
        self.last = last
        self.form = form
        self.spaceAfter = spaceAfter
    }
}

public struct ConllSentence: Sendable {
    public var sentId: String?
    public var text: String?
    public var words: [ConllWord] = []
    public var multiwords: [ConllMultiword] = []
    /// A "# newdoc" comment starts this sentence's document.
    public var newDocument = false
    /// Line of the first word, for messages.
    public var line = 0

    /// `# text`, or the text rebuilt from surface tokens and SpaceAfter=No.
    public var surfaceText: String {
        if let text { return text }
        var s = ""
        var i = 0
        while i < words.count {
            if let m = multiwords.first(where: { $0.first == words[i].id }) {
                s += m.form + (m.spaceAfter ? " " : "")
                i += m.last - m.first + 1
            } else {
                s += words[i].form + (words[i].spaceAfter ? " " : "")
                i += 1
            }
        }
        return s.hasSuffix(" ") ? String(s.dropLast()) : s
    }
}

public enum ConllU {
    public static func read(_ url: URL) throws -> [ConllSentence] {
        let data = try readFile(url)
        guard let text = String(data: data, encoding: .utf8) else {
            throw EmbryoError.format(url.path, "not valid UTF-8")
        }
        return try parse(text, path: url.path)
    }

    public static func parse(_ text: String, path: String = "<conllu>") throws -> [ConllSentence] {
        // a byte-order mark at the start is not part of the first line, however the text was decoded
        let text = text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text
        var out: [ConllSentence] = []
        var cur = ConllSentence()
        var lineNo = 0
        func fail(_ msg: String) -> EmbryoError { .format("\(path):\(lineNo)", msg) }
        func close() throws {
            if cur.words.isEmpty {
                if !cur.multiwords.isEmpty { throw fail("multi-word token without words") }
                cur = ConllSentence()
                return
            }
            try validate(cur, path: path)
            out.append(cur)
            cur = ConllSentence()
        }
        for line in textLines(text) {
            lineNo += 1
            if line.isEmpty {
                try close()
                continue
            }
            if line.hasPrefix("#") {
                let body = line.dropFirst().trimmingCharacters(in: .whitespaces)
                if body.hasPrefix("sent_id") { cur.sentId = value(of: body) }
                if body.hasPrefix("text") && !body.hasPrefix("text_") { cur.text = value(of: body) }
                if body.hasPrefix("newdoc") { cur.newDocument = true }
                continue
            }
            let cols = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard cols.count == 10 else { throw fail("expected 10 tab-separated columns, found \(cols.count)") }
            let id = cols[0]
            if id.contains(".") {
                let parts = id.split(separator: ".")
                guard parts.count == 2, Int(parts[0]) != nil, Int(parts[1]) != nil else {
                    throw fail("invalid empty-node id '\(id)'")
                }
                continue  // empty nodes belong to the enhanced graph, not the basic tree
            }
            if id.contains("-") {
                let parts = id.split(separator: "-")
                guard parts.count == 2, let a = Int(parts[0]), let b = Int(parts[1]), a < b else {
                    throw fail("invalid multi-word token range '\(id)'")
                }
                guard a == cur.words.count + 1 else {
                    throw fail("multi-word token \(id) does not start at word \(cur.words.count + 1)")
                }
                cur.multiwords.append(
                    ConllMultiword(
                        first: a, last: b, form: cols[1],
                        spaceAfter: !cols[9].split(separator: "|").contains("SpaceAfter=No")))
                continue
            }
            guard let n = Int(id) else { throw fail("invalid word id '\(id)'") }
            guard n == cur.words.count + 1 else {
                throw fail("word id \(n) out of order: expected \(cur.words.count + 1)")
            }
            var head = -1
            if cols[6] != "_" {
                guard let h = Int(cols[6]), h >= 0 else { throw fail("invalid HEAD '\(cols[6])'") }
                head = h
            }
            guard !cols[1].isEmpty else { throw fail("empty FORM") }
            if cur.words.isEmpty { cur.line = lineNo }
            cur.words.append(
                ConllWord(
                    id: n, form: cols[1], lemma: cols[2], upos: cols[3], xpos: cols[4], feats: cols[5],
                    head: head, deprel: cols[7], misc: cols[9]))
        }
        try close()
        return out
    }

    /// Heads in range, exactly one root, no cycles, multi-word ranges inside the sentence.
    static func validate(_ s: ConllSentence, path: String) throws {
        let n = s.words.count
        func fail(_ msg: String) -> EmbryoError { .format("\(path):\(s.line)", "sentence \(s.sentId ?? "?"): \(msg)") }
        for m in s.multiwords where m.last > n {
            throw fail("multi-word token \(m.first)-\(m.last) runs past word \(n)")
        }
        let heads = s.words.map(\.head)
        if heads.allSatisfy({ $0 == -1 }) { return }  // no basic tree given
        guard !heads.contains(-1) else { throw fail("some words have a HEAD and some do not") }
        for w in s.words where w.head > n { throw fail("word \(w.id) has HEAD \(w.head) beyond the \(n) words") }
        let roots = s.words.filter { $0.head == 0 }
        guard roots.count == 1 else { throw fail("\(roots.count) words have HEAD 0; a tree has exactly one root") }
        for w in s.words {
            var cur = w.head, steps = 0
            while cur != 0 {
                steps += 1
                guard steps <= n else { throw fail("word \(w.id) is on a cycle") }
                cur = heads[cur - 1]
            }
        }
    }

    private static func value(of body: String) -> String? {
        guard let eq = body.firstIndex(of: "=") else { return nil }
        return body[body.index(after: eq)...].trimmingCharacters(in: .whitespaces)
    }
}

// A sentence of the built-in world with its gold annotation (the CoNLL-U columns), built word by word
// in surface order; heads are attached once both ends exist.

public struct WorldToken: Sendable, Equatable {
    public var form: String
    public var lemma: String
    public var upos: String
    public var xpos: String
    public var feats: String
    public var head: Int  // 0 = root, else 1-based index
    public var deprel: String
    public var spaceAfter: Bool
}

public struct WorldSentence: Sendable {
    public var tokens: [WorldToken] = []
    /// The fact this sentence states by name, if any (index into the knowledge base's facts).
    public var fact: Int? = nil
    /// Which phrasing of the fact's relation it uses.
    public var phrasing: Int? = nil

    /// Its line of train.heads: each word's head (1-based, 0 for the root), separated by spaces.
    public var headsLine: String { tokens.map { String($0.head) }.joined(separator: " ") }

    /// Text as it appears in train.txt: tokens joined by spaces, none before closing punctuation.
    public var text: String {
        var s = ""
        for t in tokens {
            s += t.form
            if t.spaceAfter { s += " " }
        }
        return s.hasSuffix(" ") ? String(s.dropLast()) : s
    }
}

struct SentenceBuilder {
    var tokens: [WorldToken] = []

    /// Appends a word; returns its 1-based id.
    @discardableResult
    mutating func add(_ form: String, _ lemma: String, _ upos: String, _ xpos: String, _ feats: String = "_") -> Int {
        tokens.append(
            WorldToken(
                form: form, lemma: lemma, upos: upos, xpos: xpos, feats: feats, head: -1, deprel: "_", spaceAfter: true)
        )
        return tokens.count
    }

    mutating func attach(_ dep: Int, to head: Int, _ rel: String) {
        tokens[dep - 1].head = head
        tokens[dep - 1].deprel = rel
    }

    /// Adds final punctuation under `root`, capitalises the first word and removes spaces before punctuation.
    mutating func finish(root: Int, punct: String) -> WorldSentence {
        tokens[root - 1].head = 0
        tokens[root - 1].deprel = "root"
        let p = add(punct, punct, "PUNCT", ".")
        attach(p, to: root, "punct")
        for i in tokens.indices where tokens[i].upos == "PUNCT" && i > 0 { tokens[i - 1].spaceAfter = false }
        tokens[tokens.count - 1].spaceAfter = false
        if let f = tokens.first?.form, let c = f.first, c.isLowercase {
            tokens[0].form = c.uppercased() + f.dropFirst()
        }
        return WorldSentence(tokens: tokens)
    }
}

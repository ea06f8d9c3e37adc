// `embryo vocab` learns a WordPiece vocabulary from text files; `embryo tokenize` streams text through a
// vocabulary (ids, tokens, or JSON with the word alignment), or times encoding with --bench.

import EmbryoCore
import EmbryoRun
import EmbryoText
import Foundation

enum VocabCommand {
    static let spec = CommandSpec(
        name: "embryo vocab",
        abstract: "Learn a WordPiece vocabulary from text files.",
        discussion: """
            Words are counted after BERT's normalisation and merged BPE-style, as HF tokenizers'
            WordPieceTrainer does: the most frequent adjacent pair (weighted by word count, at least 2)
            becomes a new token until the vocabulary has --size entries. vocab.txt lists [PAD] [UNK] [CLS]
            [SEP] [MASK], every character seen (plain and ##), then the merges in order; the result depends
            only on the corpus. tokenizer_config.json is written beside it.
            """,
        options: [corpus, size, out, cased]
    )

    static let corpus = OptionSpec.required("corpus", "path", "Text file or directory of .txt files; repeat for more.")
    static let size = OptionSpec.option("size", "n", "Vocabulary size.", default: "8192")
    static let out = OptionSpec.required("out", "file", "vocab.txt to write (tokenizer_config.json goes beside it).")
    static let cased = OptionSpec.flag("cased", "Keep case and accents (default: lower-case and strip accents).")

    static func run(_ a: ParsedArguments) throws {
        let size = try a.int(Self.size, min: Vocabulary.specialTokens.count + 1)!
        let out = URL(fileURLWithPath: a.string(Self.out)!)
        let files = try expandCorpusPaths(a.strings(Self.corpus))
        let total = try files.reduce(0) {
            $0 + (try FileManager.default.attributesOfItem(atPath: $1)[.size] as? Int ?? 0)
        }
        let trainer = VocabTrainer(lowercase: !a.flag(Self.cased))
        let counting = Progress("vocab: counting words, MB", total: max(1, total >> 20))
        var done = 0
        for f in files {
            let reader = try LineReader(path: f)
            var lineNo = 0
            try reader.forEachLine { line in
                lineNo += 1
                if line.contains(0) {
                    throw EmbryoError.format(
                        "\(f):\(lineNo)", "contains NUL bytes: this looks like a binary file, not text")
                }
                trainer.add(line: line)
                if reader.bytesRead & 0xFFFFF < line.count + 1 { counting.update((done + reader.bytesRead) >> 20) }
                return true
            }
            done += reader.bytesRead
        }
        counting.update(max(1, total >> 20), "\(trainer.counts.count) distinct words")
        guard !trainer.counts.isEmpty else {
            throw EmbryoError.format(
                files.joined(separator: ", "), "no words to learn a vocabulary from (empty corpus)")
        }
        let merging = Progress("vocab: tokens", total: size)
        let tokens = trainer.train(size: size) { n, _ in merging.update(n) }
        merging.update(size, tokens.count < size ? "stopped at \(tokens.count): no pair occurs twice" : "")
        let vocab = try Vocabulary(tokens: tokens, source: out.path)
        try FileManager.default.createDirectory(at: out.deletingLastPathComponent(), withIntermediateDirectories: true)
        try vocab.save(out)
        try TokenizerConfig(doLowerCase: trainer.lowercase).save(
            out.deletingLastPathComponent().appendingPathComponent("tokenizer_config.json"))
        print(out.path)
    }
}

enum TokenizeCommand {
    static let spec = CommandSpec(
        name: "embryo tokenize",
        abstract: "Tokenize text line by line with a WordPiece vocabulary.",
        discussion: """
            Reads standard input or --input, writes one line per input line: ids (default) or tokens
            separated by spaces, or with --output json an object with ids, tokens, word indices and spans (input
            Unicode scalar offsets). No [CLS]/[SEP] are added; [MASK] and the other special tokens written
            in the text map to their ids. Invalid UTF-8 is replaced by U+FFFD (then dropped by BERT's
            cleaning) and reported on stderr with its line and byte offset.
            """,
        options: [vocab, input, output, cased, uncased, bench, ids, tokens, json]
    )

    static let vocab = OptionSpec.required(
        "vocab", "file", "vocab.txt (tokenizer_config.json beside it sets the case handling).")
    static let input = OptionSpec.option("input", "file", "Text to read (default: standard input).", default: nil)
    static let output = OptionSpec.option(
        "output", "ids|tokens|json", "Write token ids, token strings, or JSON objects with the alignment.",
        default: "ids")
    // former spellings of --output (flags), still accepted with a notice
    static let ids = legacy("ids")
    static let tokens = legacy("tokens")
    static let json = legacy("json")

    static func legacy(_ mode: String) -> OptionSpec {
        var o = OptionSpec.flag(mode, "Former spelling of --output \(mode).")
        o.hidden = true
        return o
    }
    static let cased = OptionSpec.flag("cased", "Keep case and accents, whatever the vocabulary suggests.")
    static let uncased = OptionSpec.flag("uncased", "Lower-case and strip accents, whatever the vocabulary suggests.")
    static let bench = OptionSpec.flag("bench", "Encode everything without writing it; print one JSON line of speed.")

    static func run(_ a: ParsedArguments) throws {
        let former = [ids, tokens, json].filter { a.flag($0) }.map(\.name)
        var modes = former + (a.flag(bench) ? ["bench"] : [])
        if a.given(output) { modes.append(try a.choice(output, ["ids", "tokens", "json"])!) }
        guard modes.count <= 1 else {
            throw EmbryoError.usage(
                former.isEmpty
                    ? "--output and --bench exclude each other"
                    : "Choose one of --ids, --tokens, --json, --bench (got \(modes.joined(separator: ", "))); "
                        + "the first three are now --output ids|tokens|json")
        }
        for f in former { log("notice: --\(f) is now --output \(f); the old spelling will go away") }
        guard !(a.flag(Self.cased) && a.flag(Self.uncased)) else {
            throw EmbryoError.usage("--cased and --uncased exclude each other")
        }
        let lower: Bool? = a.flag(Self.cased) ? false : a.flag(Self.uncased) ? true : nil
        let tok = try WordPieceTokenizer.load(vocab: URL(fileURLWithPath: a.string(Self.vocab)!), lowercase: lower)
        let inputName = a.string(Self.input) ?? "-"
        let reader = try LineReader(path: inputName)
        let mode = modes.first ?? "ids"
        var out = OutputBuffer()
        var enc = Encoding()
        var lineNo = 0, tokensOut = 0, invalid = 0
        let t0 = DispatchTime.now().uptimeNanoseconds
        try reader.forEachLine { line in
            lineNo += 1
            tok.encode(bytes: line, into: &enc)
            tokensOut += enc.count
            for off in enc.invalidUTF8Offsets {
                invalid += 1
                if invalid <= 10 {
                    log(
                        "warning: \(inputName == "-" ? "stdin" : inputName):\(lineNo): invalid UTF-8 at byte \(off) of the line, replaced by U+FFFD"
                    )
                }
            }
            switch mode {
            case "bench": return true
            case "tokens":
                for (k, id) in enc.ids.enumerated() {
                    if k > 0 { out.byte(0x20) }
                    out.string(tok.vocab.token(id))
                }
            case "json":
                out.string("{\"ids\":[")
                out.joined(enc.ids.map(Int.init), separator: 0x2C)
                out.string("],\"tokens\":[")
                for (k, id) in enc.ids.enumerated() {
                    if k > 0 { out.byte(0x2C) }
                    out.string(jsonEscaped(tok.vocab.token(id)))
                }
                out.string("],\"words\":[")
                out.joined(enc.wordIndex.map(Int.init), separator: 0x2C)
                out.string("],\"spans\":[")
                for k in 0..<enc.count {
                    if k > 0 { out.byte(0x2C) }
                    out.string("[\(enc.start[k]),\(enc.end[k])]")
                }
                out.string("]}")
            default:
                out.joined(enc.ids.map(Int.init))
            }
            out.byte(0x0A)
            if out.count > 1 << 16 { try out.flush() }
            return true
        }
        try out.flush()
        if invalid > 10 { log("warning: \(invalid) invalid UTF-8 sequences in all, each replaced by U+FFFD") }
        if mode == "bench" {
            let s = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            print(
                jsonLine([
                    ("impl", "embryo"), ("lines", lineNo), ("bytes", reader.bytesRead), ("tokens", tokensOut),
                    ("seconds", round3(s)), ("tokens_per_s", round1(Double(tokensOut) / s)),
                    ("mb_per_s", round3(Double(reader.bytesRead) / s / 1e6)),
                ]))
        }
    }
}

/// A byte buffer for stdout that writes in large blocks.
struct OutputBuffer {
    private var bytes: [UInt8] = []
    var count: Int { bytes.count }

    mutating func byte(_ b: UInt8) { bytes.append(b) }
    mutating func string(_ s: String) { bytes.append(contentsOf: s.utf8) }

    mutating func joined(_ xs: [Int], separator: UInt8 = 0x20) {
        for (k, x) in xs.enumerated() {
            if k > 0 { bytes.append(separator) }
            number(x)
        }
    }

    mutating func number(_ x: Int) {
        if x < 0 {
            bytes.append(0x2D)
            number(-x)
            return
        }
        if x >= 10 { number(x / 10) }
        bytes.append(UInt8(0x30 + x % 10))
    }

    mutating func flush() throws {
        if bytes.isEmpty { return }
        do { try FileHandle.standardOutput.write(contentsOf: Data(bytes)) } catch {
            throw EmbryoError.io("standard output", "write failed: \(systemReason(error))")
        }
        bytes.removeAll(keepingCapacity: true)
    }
}

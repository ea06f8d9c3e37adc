// `embryo world`: generates the built-in world (corpus, gold CoNLL-U probe set, LAMA facts, GLUE-style
// tasks, BLiMP-style minimal pairs and world.json) into a directory.

import EmbryoCore
import EmbryoRun
import EmbryoText
import Foundation

enum WorldCommand {
    static let spec = CommandSpec(
        name: "embryo world",
        abstract: "Generate the built-in world: corpus, gold annotation, facts and tasks.",
        discussion: """
            Writes train.txt (one sentence per line, documents separated by blank lines), probe.conllu
            (held-out sentences with gold UPOS, Penn XPOS, features, heads and UD relations), facts/ (LAMA
            layout, with how often train.txt states each fact), tasks/<grammar|factcheck|paraphrase>/ (GLUE-
            style TSV), pairs/<UID>.jsonl (a world-BLiMP in BLiMP's layout: up to 500 minimal pairs per
            paradigm of agreement, selectional restrictions, argument structure, word order and facts; no bad
            sentence occurs in train.txt, every word does) and world.json. The same seed and sizes give the
            same bytes.
            """,
        options: [out, seed, tokens, taskExamples]
    )

    static let out = OptionSpec.required("out", "dir", "Directory to write.")
    static let seed = OptionSpec.option("seed", "n", "Seed for the lexicon, knowledge base and text.", default: "1")
    static let tokens = OptionSpec.option(
        "tokens", "n", "Words (and punctuation marks) of training text.", default: "2000000")
    static let taskExamples = OptionSpec.option(
        "task-examples", "n", "Training examples per task (dev and test get a tenth each).", default: "20000")

    static func run(_ a: ParsedArguments) throws {
        var sizes = WorldSizes()
        sizes.tokens = try a.int(Self.tokens, min: 1000)!
        sizes.taskTrain = try a.int(Self.taskExamples, min: 10)!
        sizes.taskEval = max(10, sizes.taskTrain / 10)
        let seed = UInt64(try a.int(Self.seed, min: 0)!)
        let out = URL(fileURLWithPath: a.string(Self.out)!)
        let progress = Progress("world: tokens", total: sizes.tokens)
        let world = World(seed: seed, sizes: sizes)
        let s = try world.write(to: out) { done, _ in progress.update(min(done, sizes.tokens)) }
        log(
            "world: \(s.tokens) tokens, \(s.sentences) sentences, \(s.documents) documents, \(s.probeSentences) probe sentences, "
                + "\(world.knowledge.facts.count) facts, \(s.pairs.values.reduce(0, +)) minimal pairs in "
                + "\(s.pairs.count) paradigms")
        print(out.path)
    }
}

// Fine-tuning: GLUE metrics against hand-computed values, task recognition for the GLUE formats and the
// world's, bad task files with file and line, learning a separable task deterministically, and the saved
// AlbertForSequenceClassification directory read back with the same logits.

import EmbryoCore
import EmbryoLab
import EmbryoRun
import EmbryoTestSupport
import EmbryoText
import Foundation
import XCTest

final class FinetuneTests: ScratchDirectoryTestCase {
    func write(_ dir: String, _ files: [String: String]) throws -> String {
        let d = tmp.appendingPathComponent(dir)
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        for (name, text) in files {
            try text.write(to: d.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        return d.path
    }

    func testMetricsAgainstHandComputedValues() {
        let pred: [Int32] = [1, 1, 0, 0, 1, 0], gold: [Int32] = [1, 0, 0, 0, 1, 1]
        XCTAssertEqual(TaskMetrics.accuracy(pred, gold), 4.0 / 6, accuracy: 1e-12)
        XCTAssertEqual(TaskMetrics.f1(pred, gold), 4.0 / 6, accuracy: 1e-12)  // tp 2, fp 1, fn 1
        XCTAssertEqual(TaskMetrics.mcc(pred, gold), 3.0 / 9, accuracy: 1e-12)  // (2*2 - 1*1) / sqrt(3^4)
        XCTAssertEqual(TaskMetrics.mcc([1, 1, 1], [1, 0, 1]), 0)  // empty marginal
        XCTAssertEqual(TaskMetrics.ranks([10, 20, 20, 30, 20]), [1, 3, 3, 5, 3])
        // ties: x ranks 1, 2.5, 2.5, 4 against 1, 3, 2, 4 -> 4.5 / sqrt(4.5 * 5)
        XCTAssertEqual(
            TaskMetrics.spearman([1, 2, 2, 3], [1, 3, 2, 4]), 4.5 / (4.5 * 5).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(TaskMetrics.pearson([1, 2, 3], [2, 4, 6]), 1, accuracy: 1e-12)
        XCTAssertEqual(TaskMetrics.pearson([1, 2, 3], [3, 2, 1]), -1, accuracy: 1e-12)
    }

    func testRecognisesGlueFormats() throws {
        let sst = try write(
            "SST-2",
            [
                "train.tsv": "sentence\tlabel\ngood film\t1\nbad film\t0\n", "dev.tsv": "sentence\tlabel\nok\t1\n",
                "test.tsv": "index\tsentence\n0\tmeh\n",
            ])
        var t = try GlueTask.load(sst)
        XCTAssertEqual(t.name, "SST-2")
        XCTAssertEqual(t.labels, ["0", "1"])
        XCTAssertEqual(t.evals.map(\.name), ["dev"])  // unlabelled test.tsv left out
        let cola = try write(
            "CoLA",
            ["train.tsv": "gj04\t1\t\tThe cat sat.\ngj04\t0\t*\tCat the sat.\n", "dev.tsv": "gj04\t1\t\tA dog ran.\n"])
        t = try GlueTask.load(cola)
        XCTAssertEqual(t.name, "CoLA")
        XCTAssertEqual(t.metrics.first, "mcc")
        XCTAssertEqual(t.train[1].a, "Cat the sat.")
        XCTAssertEqual(t.train[1].label, 0)
        let mrpc = try write(
            "MRPC",
            [
                "train.tsv": "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\tA b.\tA b c.\n",
                "dev.tsv": "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n0\t3\t4\tX.\tY.\n",
            ])
        t = try GlueTask.load(mrpc)
        XCTAssertEqual(t.name, "MRPC")
        XCTAssertEqual(t.metrics, ["f1", "accuracy"])
        XCTAssertEqual(t.train[0].b, "A b c.")
        let sts = try write(
            "STS-B",
            [
                "train.tsv":
                    "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n0\tm\tf\t2012\t1\ts\ts\tA plane.\tAn air plane.\t5.000\n",
                "dev.tsv":
                    "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n0\tm\tf\t2012\t1\ts\ts\tA.\tB.\t0.5\n",
            ])
        t = try GlueTask.load(sts)
        XCTAssertTrue(t.regression)
        XCTAssertEqual(t.train[0].target, 5)
        XCTAssertEqual(t.metrics, ["pearson", "spearman"])
        let mnliHeader = "index\tpromptID\tpairID\tgenre\tsentence1\tsentence2\tlabel1\tgold_label\n"
        let devHeader = "index\tpromptID\tpairID\tgenre\tsentence1\tsentence2\tlabel1\tlabel2\tgold_label\n"
        let mnli = try write(
            "MNLI",
            [
                "train.tsv": mnliHeader + "0\t1\t1\tg\tA.\tB.\tneutral\tneutral\n",
                // dev files carry more annotator columns than train.tsv, so gold_label sits elsewhere
                "dev_matched.tsv": devHeader + "0\t1\t1\tg\tA.\tB.\tneutral\tneutral\tentailment\n",
                "dev_mismatched.tsv": devHeader + "0\t1\t1\tg\tC.\tD.\tneutral\tneutral\tcontradiction\n",
            ])
        t = try GlueTask.load(mnli)
        XCTAssertEqual(t.name, "MNLI")
        XCTAssertEqual(t.evals.map(\.name), ["dev_matched", "dev_mismatched"])
        XCTAssertEqual(t.evals[0].examples[0].label, 1)  // entailment, not label1's neutral
        XCTAssertEqual(t.evals[1].examples[0].label, 0)
        let qnli = try write(
            "QNLI",
            [
                "train.tsv": "index\tquestion\tsentence\tlabel\n0\tWho?\tMe.\tentailment\n",
                "dev.tsv": "index\tquestion\tsentence\tlabel\n0\tWhy?\tNo.\tnot_entailment\n",
            ])
        XCTAssertEqual(try GlueTask.load(qnli).name, "QNLI")
        let rte = try write(
            "RTE",
            [
                "train.tsv": "index\tsentence1\tsentence2\tlabel\n0\tA.\tB.\tnot_entailment\n",
                "dev.tsv": "index\tsentence1\tsentence2\tlabel\n0\tA.\tB.\tentailment\n",
            ])
        XCTAssertEqual(try GlueTask.load(rte).labels, ["entailment", "not_entailment"])
    }

    func testRecognisesWorldTasksAndTakesExplicitColumns() throws {
        // the built-in world's tasks
        var sizes = WorldSizes()
        sizes.tokens = 20_000
        sizes.taskTrain = 20
        sizes.taskEval = 10
        _ = try World(seed: 5, sizes: sizes).write(to: tmp.appendingPathComponent("w"))
        for name in ["grammar", "factcheck", "paraphrase"] {
            let w = try GlueTask.load(tmp.appendingPathComponent("w/tasks/\(name)").path)
            XCTAssertEqual(w.name, name)
            XCTAssertEqual(w.labels, ["0", "1"])
            XCTAssertEqual(w.train.count, 20)
            XCTAssertEqual(w.evals.map(\.name), ["dev", "test"])
            XCTAssertEqual(w.train[0].b != nil, name == "paraphrase")
        }
        // explicit columns for anything else
        let other = try write(
            "mine", ["train.tsv": "id\ttext\ty\n1\thello\tpos\n2\tbye\tneg\n", "dev.tsv": "id\ttext\ty\n3\thi\tpos\n"])
        XCTAssertThrowsError(try GlueTask.load(other))
        let t = try GlueTask.load(other, textColumns: ["text"], labelColumn: "y")
        XCTAssertEqual(t.labels, ["neg", "pos"])
        XCTAssertEqual(t.train[0].label, 1)
    }

    func testBadTaskFilesNameFileAndLine() throws {
        func message(_ files: [String: String], dir: String = "bad") -> String {
            let d = try! write("\(dir)-\(UUID().uuidString)", files)
            do {
                _ = try GlueTask.load(d)
                return "no error"
            } catch { return describe(error) }
        }
        let header = "sentence\tlabel\n"
        XCTAssertTrue(
            message(["train.tsv": header + "a\t1\nb\t0\textra\n", "dev.tsv": header + "c\t1\n"]).contains(
                "train.tsv:3: expected 2 tab-separated columns, found 3"))
        XCTAssertTrue(
            message(["train.tsv": header + "a\t1\nb\t0\n", "dev.tsv": header + "c\t1\nd\t2\n"]).contains(
                "dev.tsv:3: label '2' is not one of the declared labels (0, 1)"))
        XCTAssertTrue(message(["train.tsv": "", "dev.tsv": header]).contains("train.tsv: empty table"))
        XCTAssertTrue(message(["train.tsv": header, "dev.tsv": header + "c\t1\n"]).contains("no training examples"))
        XCTAssertTrue(message(["train.tsv": header + "a\t1\n"]).contains("no labelled evaluation file"))
        XCTAssertTrue(message(["train.tsv": header + "a\t1\n", "dev.tsv": header]).contains("dev.tsv: no examples"))
        XCTAssertTrue(
            message(["train.tsv": header + "a\t1\nb\t\n", "dev.tsv": header + "c\t1\n"]).contains(
                "train.tsv:3: empty label"))
        let sts = "sentence1\tsentence2\tscore\n"
        XCTAssertTrue(
            message(["train.tsv": sts + "a\tb\tfive\n", "dev.tsv": sts + "a\tb\t1\n"]).contains(
                "train.tsv:2: regression target 'five' is not a number"))
        XCTAssertTrue(
            message(["train.tsv": "x\ty\n1\t2\n", "dev.tsv": "x\ty\n1\t2\n"]).contains("unrecognised task header"))
    }

    /// A task a small model can learn: the label is whether the sentence starts with "good".
    func separableTask() throws -> (TaskData, WordPieceTokenizer) {
        var rng = Rng(seed: 9)
        let nouns = ["cat", "dog", "bird", "film", "book", "song", "day", "city"]
        func rows(_ n: Int) -> String {
            (0..<n).map { _ in
                let good = rng.below(2) == 1
                return "\(good ? "good" : "bad") \(nouns[rng.below(8)]) \(nouns[rng.below(8)])\t\(good ? 1 : 0)\n"
            }.joined()
        }
        let d = try write(
            "sep", ["train.tsv": "sentence\tlabel\n" + rows(256), "dev.tsv": "sentence\tlabel\n" + rows(64)])
        let vocab = try Vocabulary(tokens: Vocabulary.specialTokens + ["good", "bad"] + nouns)
        return (try GlueTask.load(d), WordPieceTokenizer(vocab: vocab, lowercase: true))
    }

    func microModel(vocab: Int, seed: UInt64) throws -> Albert {
        let m = try Albert(
            config: AlbertConfig(
                vocabSize: vocab, embeddingSize: 16, hiddenSize: 32, numHiddenLayers: 2, numAttentionHeads: 2,
                intermediateSize: 64, maxPositionEmbeddings: 32))
        m.initializeWeights(seed: seed)
        return m
    }

    func testLearnsASeparableTaskDeterministicallyAndSavesForTransformers() throws {
        Threads.configure(1)
        let (task, tok) = try separableTask()
        var s = FinetuneSettings()
        s.lr = 3e-3
        s.epochs = 4
        s.batchSize = 16
        let m1 = try microModel(vocab: tok.vocab.count, seed: 1)
        let (o1, head) = try Finetuner(tokenizer: tok).run(model: m1, task: task, settings: s)
        XCTAssertGreaterThan(o1.metrics["dev"]!["accuracy"]!, 0.95, "\(o1.metrics)")
        XCTAssertEqual(o1.steps, 4 * 16)
        // same seed, same result, bit for bit
        let m2 = try microModel(vocab: tok.vocab.count, seed: 1)
        let (o2, _) = try Finetuner(tokenizer: tok).run(model: m2, task: task, settings: s)
        XCTAssertEqual(o1.metrics, o2.metrics)
        XCTAssertEqual(o1.lastLoss, o2.lastLoss)
        XCTAssertEqual(m1.params.array, m2.params.array)
        // a seeded subset
        XCTAssertEqual(Finetuner.subset(task.train, size: 50, seed: 3).count, 50)
        XCTAssertEqual(
            Finetuner.subset(task.train, size: 50, seed: 3).map(\.a),
            Finetuner.subset(task.train, size: 50, seed: 3).map(\.a))
        // saved as AlbertForSequenceClassification and read back: the same dev logits
        let src = tmp.appendingPathComponent("src")
        try m1.save(to: src)
        try tok.save(to: src)
        let dir = tmp.appendingPathComponent("saved")
        try FinetuneJob.saveClassifier(model: m1, head: head, task: task, from: src, to: dir)
        let cfg =
            try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("config.json")))
            as! [String: Any]
        XCTAssertEqual(cfg["architectures"] as? [String], ["AlbertForSequenceClassification"])
        XCTAssertEqual(cfg["id2label"] as? [String: String], ["0": "0", "1": "1"])
        XCTAssertEqual(cfg["problem_type"] as? String, "single_label_classification")
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("vocab.txt").path))
        let (back, file) = try Albert.loadEncoder(from: dir)
        let head2 = SequenceClassifier(labels: 2, hidden: back.config.hiddenSize)
        for t in head2.tensors { try file.read(t.name, into: head2.params.pointer + t.offset, expectShape: t.shape) }
        let ft = Finetuner(tokenizer: tok)
        let a = try ft.evaluate(model: m1, head: head, task: task, examples: task.evals[0].examples, maxLen: 32)
        let b = try ft.evaluate(model: back, head: head2, task: task, examples: task.evals[0].examples, maxLen: 32)
        XCTAssertEqual(a.logits, b.logits)
        // a classifier checkpoint whose head does not fit the task is refused
        var three = task
        three.labels = ["0", "1", "2"]
        XCTAssertThrowsError(try FinetuneJob.load(dir, seed: 1, task: three)) { e in
            XCTAssertTrue(describe(e).contains("classifier has 2 outputs but task sep needs 3"), describe(e))
        }
    }
}

// Adding a probe is one file and one registry line: a probe written here, outside the library, conforms to
// ProbeMeasurement and runs through `embryo probe`'s own runner with the registry plus its line. It gets
// the cache, the metrics tables and a report section with nothing else written.

import EmbryoCore
import EmbryoLab
import EmbryoRun
import EmbryoTestSupport
import XCTest

/// The example probe: per snapshot, the probe sentences' mean length in subwords and the mean norm of the
/// word embeddings of their tokens.
final class SentenceLengthProbe: ProbeMeasurement {
    static let probeName = "lengths"
    static let help = ["mean subwords per probe sentence and the mean norm of their word embeddings"]
    static let probeNeeds: MeasurementNeeds = [.probeSentences]
    nonisolated(unsafe) static var measured: [Int] = []
    let inputs: ProbeInputs
    let settings: String

    init(_ inputs: ProbeInputs) {
        self.inputs = inputs
        settings = "lengths v1|pos \(inputs.posHash)|max \(inputs.options.maxSentences)"
    }

    func measure(_ s: LoadedSnapshot) throws -> Measured {
        Self.measured.append(s.step)
        let model = try s.model(), sentences = try inputs.sentences(for: s)
        let E = model.config.embeddingSize
        let table = try XCTUnwrap(model.parameter(model.layout.encoderPrefix + "embeddings.word_embeddings.weight"))
        var norm = 0.0, tokens = 0
        for sentence in sentences {
            for id in sentence.ids {
                let row = table + Int(id) * E
                norm += (0..<E).map { Double(row[$0]) * Double(row[$0]) }.reduce(0, +).squareRoot()
                tokens += 1
            }
        }
        func metric(_ key: String, _ v: Double) -> ProbeMetric {
            ProbeMetric(step: s.step, probe: Self.probeName, key: key, value: v, count: sentences.count)
        }
        return Measured(metrics: [
            metric("mean_subwords", Double(tokens) / Double(sentences.count)),
            metric("embedding_norm", norm / Double(tokens)),
        ])
    }

    static func reportSection(_ page: ReportPage) -> String {
        let ms = page.metrics.filter { $0.probe == probeName && $0.key == "embedding_norm" }
        guard !ms.isEmpty else { return "" }
        return "<h2>Sentence lengths</h2>\n"
            + SVGChart.line(
                title: "mean word-embedding norm", yLabel: "L2 norm",
                series: [ChartSeries(name: "probe tokens", points: ms.map { ($0.step, $0.value) }, style: 0)],
                yRange: nil)
    }
}

final class ExampleProbeTests: ScratchDirectoryTestCase {
    func testAProbeIsOneFileAndOneRegistryLine() throws {
        let run = try Run(trainMicroRun())
        let registry = ProbeRegistry.probes + [SentenceLengthProbe.self]  // the registry line
        var o = ProbeOptions()
        o.probes = ["lengths", "mlm"]
        o.maxSentences = 40
        SentenceLengthProbe.measured = []
        let runner = try ProbeRunner(run: run, options: o, registry: registry, warn: { XCTFail($0) })
        let metrics = try runner.run(try runner.scan()) { _, _, _, _ in }
        XCTAssertEqual(SentenceLengthProbe.measured, [0, 10, 20])
        let mine = metrics.filter { $0.probe == "lengths" }
        XCTAssertEqual(mine.map(\.step), [0, 0, 10, 10, 20, 20])
        // the same sentences at every snapshot; the embeddings move with training
        XCTAssertEqual(Set(mine.filter { $0.key == "mean_subwords" }.map(\.value)).count, 1)
        XCTAssertGreaterThan(mine.first { $0.key == "mean_subwords" }!.value, 3)
        XCTAssertEqual(Set(mine.filter { $0.key == "embedding_norm" }.map(\.value)).count, 3)
        // written beside the built-in probes' metrics, in the order named, and drawn in the report
        XCTAssertEqual(try MetricTables.read(run.probes.appendingPathComponent("metrics.jsonl")), metrics)
        XCTAssertEqual(metrics.first?.probe, "lengths")
        let html = try String(contentsOf: run.probes.appendingPathComponent("report.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("<h2>Sentence lengths</h2>"))
        // cached like any probe: a second run measures nothing and gives the same metrics
        SentenceLengthProbe.measured = []
        let again = try ProbeRunner(run: run, options: o, registry: registry, warn: { XCTFail($0) })
        XCTAssertEqual(try again.run(try again.scan()) { _, _, _, _ in }, metrics)
        XCTAssertEqual(SentenceLengthProbe.measured, [])
        // without its line, the name is unknown
        XCTAssertThrowsError(try ProbeRunner(run: run, options: o, warn: { _ in })) {
            XCTAssertTrue("\($0)".contains("unknown probe 'lengths'"), "\($0)")
        }
    }
}

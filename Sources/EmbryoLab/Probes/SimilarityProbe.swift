// The `similarity` probe: how each layer's representations change across snapshots. Every snapshot runs
// the same tokens (the subwords of the first probe sentences, [CLS] and [SEP] left out, up to `tokens`)
// and keeps every layer's hidden states in the probe cache; once all snapshots are in, each layer of each
// snapshot is compared with the same layer of the last snapshot (linear CKA and SVCCA) and of the
// snapshot before (linear CKA), and the last layer's snapshot-by-snapshot CKA matrix is written for the
// report's heatmap.

import EmbryoCore
import EmbryoRun
import Foundation

public enum SimilarityProbe {
    /// Tokens compared per layer (rows of each representation).
    public static let tokens = 2000

    /// Every layer's hidden states (layers 0...L, row-major tokens x hidden) at the probe tokens.
    public static func representations(model: Albert, sentences: [ProbeSentence]) throws -> [[Float]] {
        var rows: [[Int32]] = []
        var total = 0
        for s in sentences where total < tokens && s.ids.count > 2 {
            rows.append(s.ids)
            total += s.ids.count - 2
        }
        let L = model.config.numHiddenLayers, H = model.config.hiddenSize
        var out = [[Float]](repeating: [], count: L + 1)
        for l in 0...L { out[l].reserveCapacity(tokens * H) }
        let runner = RowRunner(model: model, rows: rows, batching: .inOrder)
        try runner.forEachPass { pass in
            for (b, r) in pass.rows.enumerated() {
                for l in 0...L {
                    let h = pass.hidden(l, row: b)
                    for t in 1..<(rows[r].count - 1) where out[l].count < tokens * H {
                        out[l].append(contentsOf: UnsafeBufferPointer(start: h + t * H, count: H))
                    }
                }
            }
        }
        return out
    }

    /// Where a snapshot's representations are cached.
    static func cacheFile(_ cache: URL, step: Int, weights: String) -> URL {
        cache.appendingPathComponent("similarity-\(Run.checkpointName(step))-\(weights).safetensors")
    }

    static func save(_ reps: [[Float]], hidden: Int, to url: URL) throws {
        var tensors: [(name: String, shape: [Int], data: UnsafePointer<Float>)] = []
        let buffers = reps.map { r -> UnsafeMutablePointer<Float> in
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(r.count, 1))
            p.initialize(from: r, count: r.count)
            return p
        }
        defer { for b in buffers { b.deallocate() } }
        for (l, r) in reps.enumerated() {
            tensors.append(("layer_\(l)", [r.count / hidden, hidden], UnsafePointer(buffers[l])))
        }
        let tmp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(writerTag())")
        try writeSafetensors(tensors, metadata: ["format": "embryo similarity"], to: tmp)
        guard rename(tmp.path, url.path) == 0 else { throw EmbryoError.io(url.path, "cannot rename into place") }
    }

    static func load(_ url: URL) throws -> (reps: [[Float]], hidden: Int) {
        let f = try SafetensorsFile(url: url)
        var reps: [[Float]] = []
        var hidden = 0
        while let e = f.entries["layer_\(reps.count)"], e.shape.count == 2 {
            hidden = e.shape[1]
            reps.append(try f.floats(e.name))
        }
        return (reps, hidden)
    }

    /// The cross-snapshot metrics from the cached representations of `snapshots` (step order), and the
    /// last layer's CKA matrix (rows and columns in step order).
    static func compare(_ snapshots: [(step: Int, file: URL)]) throws -> (metrics: [ProbeMetric], matrix: [[Double]]) {
        let loaded = try snapshots.map { try load($0.file) }
        guard let last = loaded.last, !last.reps.isEmpty else { return ([], []) }
        let H = last.hidden, L = last.reps.count - 1
        var out: [ProbeMetric] = []
        for (i, s) in snapshots.enumerated() {
            let reps = loaded[i].reps
            guard reps.count == last.reps.count, loaded[i].hidden == H else { continue }
            for l in 0...L {
                let n = min(reps[l].count, last.reps[l].count) / H
                func add(_ key: String, _ v: Double) {
                    out.append(ProbeMetric(step: s.step, probe: "similarity", key: key, value: v, count: n))
                }
                add("cka_to_final/layer_\(l)", Similarity.linearCKA(reps[l], dx: H, last.reps[l], dy: H, n: n))
                add("svcca_to_final/layer_\(l)", Similarity.svcca(reps[l], dx: H, last.reps[l], dy: H, n: n))
                if i > 0, loaded[i - 1].reps.count == reps.count {
                    let prev = loaded[i - 1].reps[l]
                    add("cka_to_previous/layer_\(l)", Similarity.linearCKA(prev, dx: H, reps[l], dy: H, n: n))
                }
            }
        }
        let n = last.reps[L].count / H
        var matrix = [[Double]](repeating: [Double](repeating: .nan, count: loaded.count), count: loaded.count)
        for i in loaded.indices where loaded[i].reps.count == L + 1 {
            matrix[i][i] = 1
            for j in loaded.indices where j > i && loaded[j].reps.count == L + 1 {
                let v = Similarity.linearCKA(loaded[i].reps[L], dx: H, loaded[j].reps[L], dy: H, n: n)
                matrix[i][j] = v
                matrix[j][i] = v
            }
        }
        return (out, matrix)
    }

    public static let matrixFile = "similarity-matrix.json"

    static func writeMatrix(_ matrix: [[Double]], steps: [Int], layer: Int, to url: URL) throws {
        let line = jsonLine([
            ("layer", layer), ("steps", steps),
            ("cka", matrix.map { row in row.map { $0.isFinite ? $0 : NSNull() as Any } }),
        ])
        try writeAtomically(Data((line + "\n").utf8), to: url)
    }

    /// The report's section: similarity to the last snapshot per layer against the step, and the heatmap.
    static func section(_ ms: [ProbeMetric], folder: URL) -> String {
        let sm = ms.filter { $0.probe == "similarity" }
        guard !sm.isEmpty else { return "" }
        var h = ProbeReport.sectionStart(
            "Representational similarity across snapshots",
            """
            Every snapshot on the same probe tokens (the subwords of the first probe sentences, at most
            \(tokens)). Per layer, linear CKA and SVCCA (99% of the variance kept) against the same layer of the
            last snapshot, and CKA against the snapshot before: a layer has settled when its curve reaches 1.
            """, hasData: true)
        let layers = Set(sm.compactMap { m -> Int? in m.key.split(separator: "_").last.flatMap { Int($0) } }).sorted()
        for (key, title) in [
            ("cka_to_final", "linear CKA with the last snapshot"), ("svcca_to_final", "SVCCA with the last snapshot"),
            ("cka_to_previous", "linear CKA with the snapshot before"),
        ] {
            let series = layers.enumerated().map { i, l in
                ChartSeries(
                    name: "layer \(l)",
                    points: sm.filter { $0.key == "\(key)/layer_\(l)" }.map { ($0.step, $0.value) }.sorted {
                        $0.0 < $1.0
                    },
                    style: i)
            }
            h += SVGChart.line(
                title: title, yLabel: key.replacingOccurrences(of: "_", with: " "), series: series, yRange: (0, 1))
        }
        if let data = try? readFile(folder.appendingPathComponent(matrixFile)),
            let o = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any], let steps = o["steps"] as? [Int],
            let rows = o["cka"] as? [[Any]], let layer = o["layer"] as? Int
        {
            h += SVGChart.heatmap(
                title: "linear CKA between snapshots, layer \(layer)", rows: steps.map(String.init),
                columns: steps.map(String.init), values: rows.map { $0.map { $0 as? Double } })
        }
        return h + "</div>\n"
    }
}

/// `similarity`: each snapshot's representations kept in the cache, compared once all are in.
public final class SimilarityMeasurement: ProbeMeasurement {
    public static let probeName = "similarity"
    public static let help = [
        "linear CKA and SVCCA of every layer with the last snapshot, CKA with the",
        "snapshot before, on the same probe tokens",
    ]
    public static let probeNeeds: MeasurementNeeds = [.probeSentences]
    let inputs: ProbeInputs
    public let settings: String
    /// Each snapshot's representations, by step.
    var files: [Int: URL] = [:]

    public init(_ inputs: ProbeInputs) {
        self.inputs = inputs
        settings =
            "similarity v1|pos \(inputs.posHash)|max \(inputs.options.maxSentences)|tokens \(SimilarityProbe.tokens)"
    }

    func file(_ s: LoadedSnapshot) -> URL { s.cacheFile("similarity", suffix: ".safetensors") }

    public func measure(_ s: LoadedSnapshot) throws -> Measured {
        let model = try s.model()
        let reps = try SimilarityProbe.representations(model: model, sentences: try inputs.sentences(for: s))
        try SimilarityProbe.save(reps, hidden: model.config.hiddenSize, to: file(s))
        return try Measured(metrics: [], encoding: size(file(s)))
    }

    func size(_ url: URL) -> Int? { (try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? Int }

    /// The representations' file must be in place, and as large as when it was written (entries of old
    /// versions recorded no size: there, present is enough).
    public func isUsable(_ result: Measured, for s: LoadedSnapshot) -> Bool {
        guard let now = size(file(s)) else { return false }
        return result.artifact == nil || result.decoded(Int.self) == now
    }

    public func collect(_ result: Measured, at s: LoadedSnapshot) { files[s.step] = file(s) }

    public func assemble(steps: [Int]) throws -> [ProbeMetric] {
        let found = steps.compactMap { s in files[s].map { (step: s, file: $0) } }
        let (metrics, matrix) = try SimilarityProbe.compare(found)
        if !matrix.isEmpty,
            let layer = metrics.compactMap({ m -> Int? in m.key.split(separator: "_").last.flatMap { Int($0) } }).max()
        {
            try SimilarityProbe.writeMatrix(
                matrix, steps: found.map(\.step), layer: layer,
                to: inputs.out.appendingPathComponent(SimilarityProbe.matrixFile))
        }
        return metrics
    }

    public static func reportSection(_ page: ReportPage) -> String {
        SimilarityProbe.section(page.metrics, folder: page.folder)
    }
}

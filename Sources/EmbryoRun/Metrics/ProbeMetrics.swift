// The probes' common currency: one number per (step, probe, key) with the count it rests on, written as
// metrics.jsonl (one object per line) and metrics.csv (one row per step, one column per probe/key).

import EmbryoCore
import Foundation

public struct ProbeMetric: Codable, Sendable, Equatable {
    public var step: Int
    public var probe: String
    public var key: String
    public var value: Double
    public var count: Int

    public init(step: Int, probe: String, key: String, value: Double, count: Int) {
        self.step = step
        self.probe = probe
        self.key = key
        self.value = value
        self.count = count
    }

    /// The column name in metrics.csv.
    public var column: String { "\(probe)/\(key)" }
}

public enum MetricTables {
    public static func jsonl(_ metrics: [ProbeMetric]) -> String {
        metrics.map {
            jsonLine([
                ("step", $0.step), ("probe", $0.probe), ("key", $0.key), ("value", $0.value), ("count", $0.count),
            ])
                + "\n"
        }.joined()
    }

    /// Wide table: `step`, then one column per probe/key (sorted), empty where a step lacks the metric.
    public static func csv(_ metrics: [ProbeMetric]) -> String {
        let columns = Array(Set(metrics.map(\.column))).sorted()
        let index = Dictionary(uniqueKeysWithValues: columns.enumerated().map { ($1, $0) })
        var rows: [Int: [String]] = [:]
        for m in metrics {
            rows[m.step, default: Array(repeating: "", count: columns.count)][index[m.column]!] = "\(m.value)"
        }
        func quoted(_ s: String) -> String {
            s.contains(",") || s.contains("\"") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        var out = (["step"] + columns).map(quoted).joined(separator: ",") + "\n"
        for step in rows.keys.sorted() { out += "\(step)," + rows[step]!.joined(separator: ",") + "\n" }
        return out
    }

    public static func read(_ url: URL) throws -> [ProbeMetric] {
        var out: [ProbeMetric] = []
        for (i, line) in textLines(String(decoding: try readFile(url), as: UTF8.self)).enumerated() where !line.isEmpty
        {
            do {
                out.append(try JSONDecoder().decode(ProbeMetric.self, from: Data(line.utf8)))
            } catch {
                throw EmbryoError.format("\(url.path):\(i + 1)", "not a metrics line: \(describe(error))")
            }
        }
        return out
    }
}

/// A metric's trajectory over steps, for summaries: when it reached 90% of its final value, and whether
/// it peaked before the end.
public struct Trajectory: Sendable {
    public var name: String
    public var points: [(step: Int, value: Double)]

    public init(name: String, points: [(step: Int, value: Double)]) {
        self.name = name
        self.points = points.sorted { $0.step < $1.step }
    }

    public var final: Double? { points.last?.value }

    /// The step ending the interval of largest rise (or, `rising` false, fall) per step between consecutive
    /// points, among intervals starting at or after `from`; nil when nothing rises (falls). Ties: the first.
    public static func steepest(_ points: [(step: Int, value: Double)], rising: Bool, from: Int = 0) -> Int? {
        let p = points.sorted { $0.step < $1.step }.filter { $0.step >= from }
        var best = 0.0, at: Int? = nil
        for (a, b) in zip(p, p.dropFirst()) where b.step > a.step {
            let rate = (rising ? b.value - a.value : a.value - b.value) / Double(b.step - a.step)
            if rate > best { (best, at) = (rate, b.step) }
        }
        return at
    }

    /// First step whose value is at least 90% of the final value.
    public var stepReaching90: Int? {
        guard let last = final else { return nil }
        return points.first { $0.value >= 0.9 * last }?.step
    }

    /// The peak, when it came before the last step and is above the final value by more than `margin`.
    public func peakBeforeEnd(margin: Double = 0.01) -> (step: Int, value: Double)? {
        guard let last = final, let best = points.max(by: { $0.value < $1.value }) else { return nil }
        return best.step < points.last!.step && best.value - last > margin ? best : nil
    }
}

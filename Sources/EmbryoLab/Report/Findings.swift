// The default run's findings against the lab's targets, read from the run's own files: train_log.jsonl
// (held-out evaluation), probes/metrics.jsonl, finetune/<task>/step-N/results.json and
// reinit/<name>/results.jsonl. Each finding is a measured value, the target it is held to and whether it
// is met; a figure whose files are missing is reported as not measured, never guessed.

import EmbryoCore
import EmbryoRun
import Foundation

public struct Finding: Sendable, Equatable {
    public var name: String
    public var target: String
    public var measured: String
    /// nil when the figure could not be measured from the run's files.
    public var met: Bool?
}

public enum Findings {
    /// Every finding of the run in `run` (a run directory made by `embryo pretrain`).
    public static func evaluate(run: Run) throws -> [Finding] {
        var out: [Finding] = []
        out += try heldOut(run)
        let metricsURL = run.probes.appendingPathComponent("metrics.jsonl")
        let ms = FileManager.default.fileExists(atPath: metricsURL.path) ? try MetricTables.read(metricsURL) : []
        out += probes(ms)
        out += try finetune(run)
        out += try reinit(run)
        return out
    }

    static func f3(_ x: Double) -> String { String(format: "%.3f", x) }

    /// The step by which the default recipe should have left the plateau.
    public static let escapeBy = 1200

    static func missing(_ name: String, _ target: String, _ why: String) -> Finding {
        Finding(name: name, target: target, measured: "not measured (\(why))", met: nil)
    }

    /// Held-out MLM loss and accuracy and SOP accuracy from the pretrainer's evaluations.
    static func heldOut(_ run: Run) throws -> [Finding] {
        let log = run.log
        guard FileManager.default.fileExists(atPath: log.path) else {
            return [missing("held-out MLM loss", "falls >= 0.3 after 40% of the steps", "no train_log.jsonl")]
        }
        var evals: [(step: Int, loss: Double, acc: Double, sop: Double)] = []
        for o in jsonObjectLines(try readFile(log)) {
            guard let step = o["step"] as? Int, let loss = o["eval_mlm_loss"] as? Double,
                let acc = o["eval_mlm_accuracy"] as? Double, let sop = o["eval_sop_accuracy"] as? Double
            else { continue }
            evals.append((step, loss, acc, sop))
        }
        guard let last = evals.last else {
            return [missing("held-out MLM loss", "falls >= 0.3 after 40% of the steps", "no evaluation logged")]
        }
        let at40 = evals.min {
            abs(Double($0.step) - 0.4 * Double(last.step)) < abs(Double($1.step) - 0.4 * Double(last.step))
        }!
        let drop = at40.loss - last.loss
        let escapeName = "escape from the word-frequency plateau"
        let escapeTarget = "held-out loss \(f3(EscapeSummary.margin)) nat below unigram by step \(escapeBy)"
        let escape: Finding
        if let e = try EscapeSummary.of(run) {
            escape = Finding(
                name: escapeName, target: escapeTarget,
                measured: "step \(e.escapeText) (unigram \(f3(e.unigram)) nats; steepest descent at step "
                    + "\(e.steepestDescentStep.map(String.init) ?? "none"))",
                met: (e.escapeStep ?? Int.max) <= escapeBy)
        } else {
            escape = missing(escapeName, escapeTarget, "no unigram loss logged and no token cache")
        }
        return [
            escape,
            Finding(
                name: "held-out MLM loss", target: "falls >= 0.3 after 40% of the steps",
                measured: "\(f3(at40.loss)) at step \(at40.step), \(f3(last.loss)) at step \(last.step) (-\(f3(drop)))",
                met: drop >= 0.3),
            Finding(
                name: "held-out MLM accuracy", target: ">= 0.35 at the end", measured: f3(last.acc),
                met: last.acc >= 0.35),
            Finding(
                name: "held-out SOP accuracy", target: ">= 0.85 at the last evaluation", measured: f3(last.sop),
                met: last.sop >= 0.85),
        ]
    }

    static func series(_ ms: [ProbeMetric], _ probe: String, _ key: String) -> Trajectory {
        Trajectory(name: key, points: ms.filter { $0.probe == probe && $0.key == key }.map { ($0.step, $0.value) })
    }

    static func probes(_ ms: [ProbeMetric]) -> [Finding] {
        var out: [Finding] = []
        let kn = "knowledge, trained phrasing"
        let trained = ["101-1000", ">1000", "1-5"].map {
            (b: $0, t: series(ms, "knowledge", "p_at_1/trained/frequency/\($0)"))
        }
        if trained.allSatisfy({ $0.t.final == nil }) {
            out.append(missing(kn, "P@1 >= 0.8 in 101-1000 and >1000, <= 0.5 in 1-5", "no knowledge probe"))
        } else {
            let v = trained.map { $0.t.final ?? .nan }
            out.append(
                Finding(
                    name: kn, target: "P@1 >= 0.8 in 101-1000 and >1000, <= 0.5 in 1-5",
                    measured: zip(trained, v).map { "\($0.b): \(f3($1))" }.joined(separator: ", "),
                    met: v[0] >= 0.8 && v[1] >= 0.8 && v[2] <= 0.5))
        }
        let know = series(ms, "knowledge", "p_at_1/trained/mean")
        let det = series(ms, "mlm", "reconstruction/upos/DET"), punct = series(ms, "mlm", "reconstruction/upos/PUNCT")
        if let k = know.stepReaching90, let d = det.stepReaching90, let p = punct.stepReaching90, (know.final ?? 0) > 0
        {
            out.append(
                Finding(
                    name: "order of acquisition", target: "knowledge reaches 90% of final after DET and PUNCT",
                    measured: "knowledge \(k), DET \(d), PUNCT \(p)", met: k > d && k > p))
        } else if know.final == 0 {
            out.append(
                Finding(
                    name: "order of acquisition", target: "knowledge reaches 90% of final after DET and PUNCT",
                    measured: "knowledge P@1 is 0 at the last step: never acquired", met: false))
        } else {
            out.append(
                missing(
                    "order of acquisition", "knowledge reaches 90% of final after DET and PUNCT",
                    "no knowledge or mlm probe"))
        }
        let held = ["101-1000", ">1000"].map { series(ms, "knowledge", "p_at_1/heldout/frequency/\($0)").final }
        if let a = held[0], let b = held[1] {
            out.append(
                Finding(
                    name: "knowledge, held-out phrasing", target: "> 0 for frequent facts",
                    measured: "101-1000: \(f3(a)), >1000: \(f3(b))", met: a > 0 || b > 0))
        }
        let noun = series(ms, "mlm", "mask_prediction/upos/NOUN").final
        let verb = series(ms, "mlm", "mask_prediction/upos/VERB").final
        if let n = noun, let v = verb {
            out.append(
                Finding(
                    name: "mask prediction of NOUN and VERB", target: ">= 0.10 each at the end",
                    measured: "NOUN \(f3(n)), VERB \(f3(v))", met: n >= 0.1 && v >= 0.1))
        }
        let layers = Set(
            ms.compactMap { m -> Int? in
                guard m.probe == "layers", m.key.hasPrefix("upos_ambiguous/layer_") else { return nil }
                return Int(m.key.dropFirst("upos_ambiguous/layer_".count))
            }
        ).sorted()
        let amb = layers.map { (l: $0, t: series(ms, "layers", "upos_ambiguous/layer_\($0)")) }
        if let best = amb.max(by: { ($0.t.final ?? 0) < ($1.t.final ?? 0) }), let end = best.t.final,
            let start = best.t.points.first?.value
        {
            out.append(
                Finding(
                    name: "context-dependent UPOS (ambiguous forms)", target: "best layer >= step 0 + 0.20",
                    measured: "layer \(best.l): \(f3(start)) at step \(best.t.points.first!.step) -> \(f3(end))",
                    met: end - start >= 0.2))
            let sel = layers.compactMap { l in
                series(ms, "layers", "upos_selectivity/layer_\(l)").final.map { "\(l): \(f3($0))" }
            }
            out.append(
                Finding(
                    name: "UPOS selectivity per layer", target: "reported for every layer",
                    measured: sel.joined(separator: ", "), met: sel.count == layers.count))
        }
        return out
    }

    /// The first task fine-tuned on every snapshot: dev accuracy at the last snapshot against step 0.
    static func finetune(_ run: Run) throws -> [Finding] {
        let name = "downstream, fine-tuned per snapshot", target = "last snapshot >= step 0 + 0.10"
        let root = run.root.appendingPathComponent("finetune")
        let fm = FileManager.default
        guard let tasks = try? fm.contentsOfDirectory(atPath: root.path).sorted(), let task = tasks.first else {
            return [missing(name, target, "no finetune/ folder")]
        }
        let dir = run.finetune(task: task)
        // one folder per fine-tuned snapshot, named as the snapshot
        var folders: [Int: String] = [:]
        for n in (try? fm.contentsOfDirectory(atPath: dir.path)) ?? [] {
            if let s = Snapshot.stepInName(n) { folders[s] = n }
        }
        let steps = folders.keys.sorted()
        func acc(_ s: Int) throws -> (Double, Double)? {
            let url = dir.appendingPathComponent(folders[s]!).appendingPathComponent("results.json")
            guard fm.fileExists(atPath: url.path),
                let o = try JSONSerialization.jsonObject(with: readFile(url)) as? [String: Any],
                let summary = o["summary"] as? [String: Any], let dev = summary["dev"] as? [String: Any],
                let a = dev["accuracy"] as? [String: Any], let mean = a["mean"] as? Double
            else { return nil }
            return (mean, a["std"] as? Double ?? 0)
        }
        guard let first = steps.first, let last = steps.last, first == 0, last > 0, let a0 = try acc(first),
            let a1 = try acc(last)
        else { return [missing(name, target, "no fine-tuning of step 0 and a later snapshot in \(dir.path)")] }
        return [
            Finding(
                name: "\(name) (\(task))", target: target,
                measured: "step 0: \(f3(a0.0)) ± \(f3(a0.1)), step \(last): \(f3(a1.0)) ± \(f3(a1.1))",
                met: a1.0 - a0.0 >= 0.1)
        ]
    }

    /// The first progressive re-initialisation sweep: fully pretrained against fully re-initialised at 500.
    static func reinit(_ run: Run) throws -> [Finding] {
        let name = "re-initialisation at 500 examples", target = "fully pretrained >= fully re-initialised + 0.05"
        let root = run.root.appendingPathComponent("reinit")
        let fm = FileManager.default
        let sweeps = ((try? fm.contentsOfDirectory(atPath: root.path)) ?? []).sorted().filter {
            $0.contains("progressive")
        }
        guard let sweep = sweeps.first else { return [missing(name, target, "no progressive sweep in reinit/")] }
        let url = root.appendingPathComponent(sweep).appendingPathComponent("results.jsonl")
        guard fm.fileExists(atPath: url.path) else { return [missing(name, target, "no \(url.path)")] }
        var rows: [ReinitRow] = []
        for line in String(decoding: try readFile(url), as: UTF8.self).split(separator: "\n") {
            rows.append(try JSONDecoder().decode(ReinitRow.self, from: Data(line.utf8)))
        }
        let fine = rows.filter { $0.scheme == "progressive" && $0.trainSize == "500" }
        guard let top = fine.map(\.preserved).max() else { return [missing(name, target, "no 500-example runs")] }
        func mean(_ k: Int) -> Double? {
            let v = fine.filter { $0.preserved == k }.compactMap { $0.metrics["dev"]?["accuracy"] }
            return v.isEmpty ? nil : v.reduce(0, +) / Double(v.count)
        }
        guard let full = mean(top), let none = mean(0) else {
            return [missing(name, target, "no fully pretrained or fully re-initialised runs")]
        }
        return [
            Finding(
                name: "\(name) (\(sweep))", target: target,
                measured: "pretrained \(f3(full)), re-initialised \(f3(none))", met: full - none >= 0.05)
        ]
    }

    /// A Markdown table of the findings.
    public static func markdown(_ fs: [Finding]) -> String {
        var s = "| finding | target | measured | met |\n| --- | --- | --- | --- |\n"
        for f in fs {
            let met = f.met.map { $0 ? "yes" : "**no**" } ?? "not measured"
            s += "| \(f.name) | \(f.target) | \(f.measured) | \(met) |\n"
        }
        return s
    }
}

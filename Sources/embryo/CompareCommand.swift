// `embryo compare`: probed runs side by side, in groups (the seeds of a suite, or runs named by the user),
// with each group's mean and spread, the final value and t90 per group, and permutation tests between
// groups.

import EmbryoCore
import EmbryoLab
import Foundation

enum CompareCommand {
    static let spec = CommandSpec(
        name: "embryo compare",
        abstract: "Compare probed runs: per-group means with bands, final values, t90 and permutation tests.",
        discussion: """
            Groups: each --suite is a group of its seeds; each --group NAME=PATH,PATH,... a group of those runs
            (a PATH may be a suite: all its runs); runs given as arguments are a group each. Every probe metric
            the runs share is compared (the rest are listed); a branched run enters from its branching step on.
            Writes report.html and compare.jsonl into --out, prints a line per headline metric and, last, the
            report's path.
            """,
        options: [suite, group, out],
        arguments: [ArgumentSpec(name: "run", help: "A probed run directory (each its own group).", repeated: true)]
    )

    static let suite = OptionSpec.option(
        "suite", "dir", "A suite made by 'pretrain --seeds': one group of its runs (repeat for more).", default: nil)
    static let group = OptionSpec.option(
        "group", "name=paths", "A named group of runs or suites, comma-separated (repeat for more).", default: nil)
    static let out = OptionSpec.required("out", "dir", "Where report.html and compare.jsonl go.")

    static func run(_ a: ParsedArguments) throws {
        var groups: [ComparisonGroup] = []
        for d in a.strings(suite) {
            let s = try Suite.open(d)
            groups.append(ComparisonGroup(name: s.root.lastPathComponent, runs: try suiteRuns(s)))
        }
        for spec in a.strings(group) {
            guard let eq = spec.firstIndex(of: "="), eq != spec.startIndex else {
                throw EmbryoError.usage("--group: expected NAME=PATH,PATH,..., got '\(spec)'")
            }
            let paths = spec[spec.index(after: eq)...].split(separator: ",").map(String.init)
            guard !paths.isEmpty else { throw EmbryoError.usage("--group \(spec[..<eq]): no runs given") }
            var runs: [ComparedRun] = []
            for p in paths {
                if Suite.isSuite(URL(fileURLWithPath: p)) {
                    runs += try suiteRuns(Suite.open(p))
                } else {
                    let r = try Run.open(p)
                    runs.append(try ComparedRun.load(r, name: r.name))
                }
            }
            groups.append(ComparisonGroup(name: String(spec[..<eq]), runs: runs))
        }
        for p in a.arguments {
            let r = try Run.open(p)
            groups.append(ComparisonGroup(name: r.name, runs: [try ComparedRun.load(r, name: r.name)]))
        }
        guard !groups.isEmpty else { throw EmbryoError.usage("nothing to compare: give runs, --suite or --group") }
        if let dup = groups.map(\.name).first(where: { n in groups.filter { $0.name == n }.count > 1 }) {
            throw EmbryoError.usage("two groups are called '\(dup)'; name them with --group NAME=...")
        }
        let c = try Comparison(groups: groups)
        guard !c.shared.isEmpty else {
            throw EmbryoError.runtime("the runs share no probe metric (probed with different --probes?)")
        }
        if !c.unshared.isEmpty {
            log(
                "compare: \(c.unshared.count) metric(s) not measured on every run are left out (listed in the report), "
                    + "e.g. \(c.unshared.prefix(3).map(\.metric).joined(separator: ", "))")
        }
        let out = URL(fileURLWithPath: a.string(Self.out)!)
        try CompareReport.write(c, to: out)
        for m in ["mlm/mask_prediction/all", "loss/mlm_loss", "knowledge/p_at_1/mean"] where c.shared.contains(m) {
            let parts = c.groups.map { g -> String in
                let finals = c.outcomes(g, m).map(\.final)
                return
                    "\(g.name) \(String(format: "%.3f ± %.3f", SeedStatistics.mean(finals), SeedStatistics.sd(finals)))"
            }
            var line = "\(m): " + parts.joined(separator: ", ")
            if let t = c.tests(m).first(where: { $0.statistic == "final" }), c.groups.count == 2 {
                line += String(format: "; permutation p = %.3f (%d vs %d runs)", t.result.p, t.nA, t.nB)
            }
            print(line)
        }
        print(out.appendingPathComponent("report.html").path)
    }

    static func suiteRuns(_ s: Suite) throws -> [ComparedRun] {
        let runs = try s.runs()
        guard !runs.isEmpty else { throw EmbryoError.runtime("the suite \(s.root.path) has no run yet") }
        return try runs.map { try ComparedRun.load($0.run, name: "\(s.root.lastPathComponent)/\($0.run.name)") }
    }
}

// `embryo compare`: probed runs side by side, in groups (the seeds of a suite, or runs named by the user),
// with each group's mean and spread, the final value and t90 per group, and permutation tests between
// groups.

import EmbryoCore
import EmbryoLab
import EmbryoRun
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
        options: [suite, group, from, out, markdown],
        arguments: [ArgumentSpec(name: "run", help: "A probed run directory (each its own group).", repeated: true)]
    )

    static let suite = OptionSpec.option(
        "suite", "dir", "A suite made by 'pretrain --seeds': one group of its runs (repeat for more).", default: nil)
    static let group = OptionSpec.option(
        "group", "name=paths", "A named group of runs or suites, comma-separated (repeat for more).", default: nil)
    static let out = OptionSpec.required("out", "dir", "Where report.html and compare.jsonl go.")
    static let from = OptionSpec.option(
        "from", "name", "The folder of each run that holds metrics.jsonl.", default: "probes")
    static let markdown = OptionSpec.flag(
        "markdown", "Print the headline metrics as a Markdown table (final and t90 per group, tests).")

    static func run(_ a: ParsedArguments) throws {
        let folder = a.string(from)!
        func load(_ r: Run, _ name: String) throws -> ComparedRun { try ComparedRun.load(r, name: name, from: folder) }
        func suiteRuns(_ s: Suite) throws -> [ComparedRun] {
            let runs = try s.runs(warn: { log("compare: warning: \($0)") })
            guard !runs.isEmpty else { throw EmbryoError.runtime("the suite \(s.root.path) has no run yet") }
            return try runs.map { try load($0.run, "\(s.root.lastPathComponent)/\($0.run.name)") }
        }
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
                    runs.append(try load(r, r.name))
                }
            }
            groups.append(ComparisonGroup(name: String(spec[..<eq]), runs: runs))
        }
        for p in a.arguments {
            let r = try Run.open(p)
            groups.append(ComparisonGroup(name: r.name, runs: [try load(r, r.name)]))
        }
        guard !groups.isEmpty else { throw EmbryoError.usage("nothing to compare: give runs, --suite or --group") }
        if let dup = groups.map(\.name).first(where: { n in groups.filter { $0.name == n }.count > 1 }) {
            throw EmbryoError.usage("two groups are called '\(dup)'; name them with --group NAME=...")
        }
        if let cut = Comparison.atCommonStep(&groups) { log("compare: \(cut)") }
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
        let escapes = try c.groups.map(EscapeComparison.summary)
        try CompareReport.write(c, escapes: escapes, to: out)
        if a.flag(markdown) {
            print(CompareReport.markdown(c), terminator: "")
            if escapes.contains(where: { $0.measured > 0 }) {
                print("\n" + EscapeComparison.markdown(escapes, EscapeComparison.tests(escapes)), terminator: "")
            }
            let milestones = try c.groups.map(MilestoneComparison.summary)
            // printed when a probe-based milestone was found (the escape alone is in the table above)
            let fromProbes: Set<String> = ["structure_onset", "capabilities_onset", "collapse_release"]
            if milestones.contains(where: { $0.rows.contains { fromProbes.contains($0.name) && $0.found > 0 } }) {
                print("\nMilestones per group:\n\n" + MilestoneComparison.markdown(milestones), terminator: "")
            }
            let variance = SeedVariance.markdown(
                SeedVariance.all(c, metrics: CompareReport.headlineMetrics(c), escapes: escapes))
            if !variance.isEmpty {
                print("\nShare of the spread from each seed (factorial groups):\n\n" + variance, terminator: "")
            }
        } else {
            for line in CompareReport.headlines(c) { print(line) }
        }
        print(out.appendingPathComponent("report.html").path)
    }
}

// `embryo pretrain --seeds`: the same recipe once per seed, into <suite>/seed-N/. Each run is an embryo
// pretrain process of its own (so a suite run is, run by run, the single run of that seed), started from
// the recipe in suite.json; --jobs K runs K at once with the threads divided. Interrupting stops every
// run at a saved step; --resume SUITE continues the started runs and starts the rest.

import EmbryoCore
import EmbryoLab
import EmbryoRun
import Foundation

enum PretrainSuite {
    static let seeds = OptionSpec.option(
        "seeds", "k|a-b|list", "Run the recipe once per seed: k seeds from --seed, a range (1-5) or a list (1,4,9).",
        default: nil)
    static let vary = OptionSpec.option(
        "vary", "both|init|data",
        "With --seeds: the seeds each member's seed sets; init or data holds the other at --data-seed or "
            + "--init-seed (default: --seed).", default: "both")
    static let prepare = OptionSpec.flag(
        "prepare", "With --seeds: write the suite's suite.json and train nothing (for a job array of --member runs).")
    static let memberSeed = OptionSpec.option(
        "member", "seed",
        "With --resume SUITE: train (or continue) that seed's run of the suite only, as one task of a job array.",
        default: nil)
    static let jobs = OptionSpec.option(
        "jobs", "k", "With --seeds: runs trained at the same time, the threads divided among them.", default: "1")
    /// How a suite starts each of its runs: the recipe comes from this suite's suite.json.
    static let member: OptionSpec = {
        var o = OptionSpec.option("suite-recipe", "dir", "Internal: take the recipe from DIR/suite.json.")
        o.hidden = true
        return o
    }()

    /// Starts (or, with `resume`, continues) the suite at `out` for `recipe` over `seedList`.
    static func run(
        out: URL, recipe: PretrainConfig?, seedList: [Int], jobs: Int, totalThreads: Int, resume: Bool, force: Bool,
        vary: String = "both", prepareOnly: Bool = false
    ) throws {
        let suite = Suite(out)
        let lock = try DirectoryLock(out, purpose: "a pretraining suite")
        defer { withExtendedLifetime(lock) {} }
        var manifest: SuiteManifest
        if resume {
            manifest = try suite.manifest()
            // the recipe's files are read again only by members that start now
            if manifest.seeds.contains(where: { suite.progress(seed: $0, steps: manifest.recipe.steps) == .notStarted })
            {
                try RecordedFile.checkUnchanged(manifest.files ?? [], owner: "the suite \(out.path)")
            }
        } else {
            guard let recipe else { throw EmbryoError.usage("--seeds needs a recipe") }
            let fm = FileManager.default
            if fm.fileExists(atPath: out.appendingPathComponent("run.json").path) {
                throw EmbryoError.runtime("\(out.path) holds a single run; give the suite another --out")
            }
            if Suite.isSuite(out) {
                guard force else {
                    throw EmbryoError.runtime(
                        "\(out.path) already holds a suite; use --resume to continue it or --force to start over")
                }
                // every member folder, also when suite.json is damaged, unless the new recipe reads from one
                let members = ((try? fm.contentsOfDirectory(atPath: out.path)) ?? []).filter { $0.hasPrefix("seed-") }
                    .map { out.appendingPathComponent($0) }
                try Pretrainer.refuseRemoving(
                    members, readFrom: recipe.inputPaths.map { URL(fileURLWithPath: $0) }, out: out)
                for m in members { try? fm.removeItem(at: m) }
            }
            guard (1...1024).contains(jobs), (1...1024).contains(max(1, totalThreads / jobs)) else {
                throw EmbryoError.usage("--jobs and the threads per run must be between 1 and 1024")
            }
            var r = try SuiteManifest.recipe(recipe, vary: vary)
            r.threads = max(1, totalThreads / jobs)
            manifest = SuiteManifest(
                seeds: seedList, recipe: r, jobs: jobs, threadsPerRun: r.threads, vary: vary == "both" ? nil : vary)
            manifest.files = try r.recordNamedFiles()
            try suite.write(manifest)
        }
        if prepareOnly {
            log(
                "pretrain: suite of \(manifest.seeds.count) seeds prepared in \(out.path); train each with "
                    + "'embryo pretrain --resume \(out.path) --member SEED'")
            print(out.path)
            return
        }
        let steps = manifest.recipe.steps
        let todo = manifest.seeds.filter { suite.progress(seed: $0, steps: steps) != .complete }
        log(
            "pretrain: suite of \(manifest.seeds.count) \(manifest.vary.map { "\($0) " } ?? "")seeds (\(manifest.seeds.map(String.init).joined(separator: ", "))) "
                + "-> \(out.path); \(todo.count) to train, \(manifest.jobs) at a time with \(manifest.threadsPerRun) "
                + "thread(s) each")
        installStopHandlers()
        let failures = try schedule(todo, suite: suite, manifest: manifest)
        if stopRequested != 0 {
            log(
                "interrupted: every run saved its state. Resume the suite with:\n  embryo pretrain --resume \(out.path)"
            )
            exit(130)
        }
        if !failures.isEmpty {
            throw EmbryoError.runtime(
                "suite \(out.path): "
                    + failures.map { "seed \($0.seed) failed (exit \($0.code))" }.joined(separator: ", ")
                    + "; see the lines above. The other runs are kept; fix the cause and resume with "
                    + "'embryo pretrain --resume \(out.path)'")
        }
        // a member stopped on its own (a signal to that process alone) saved and exited 130: the suite is not done
        if let text = try suite.incompleteMembers() { throw EmbryoError.runtime(text) }
        log("pretrain: suite done: \(manifest.seeds.count) runs in \(out.path)")
        print(out.path)
    }

    /// One seed's run of a suite, as one task of a job array: started from the suite's recipe or continued,
    /// with the suite's threads per run unless `threads` is given. Takes no suite lock (the tasks run at once);
    /// the run's own lock keeps one writer per run.
    static func runMember(_ suite: Suite, seed: Int, threads: Int?) throws {
        var m = try suite.manifest()
        guard m.seeds.contains(seed) else {
            throw EmbryoError.usage(
                "--member \(seed): the suite \(suite.root.path) has seeds \(m.seeds.map(String.init).joined(separator: ", "))"
            )
        }
        if let t = threads { m.threadsPerRun = t }
        installStopHandlers()
        switch suite.progress(seed: seed, steps: m.recipe.steps) {
        case .complete:
            log("pretrain: seed \(seed) of \(suite.root.path) is complete")
        case .notStarted:
            try RecordedFile.checkUnchanged(m.files ?? [], owner: "the suite \(suite.root.path)")
            fallthrough
        default:
            m.jobs = 1
            let failures = try schedule([seed], suite: suite, manifest: m)
            if stopRequested != 0 { exit(130) }
            if let f = failures.first {
                throw EmbryoError.runtime("seed \(f.seed) of \(suite.root.path) failed (exit \(f.code))")
            }
            guard suite.progress(seed: seed, steps: m.recipe.steps) == .complete else {
                throw EmbryoError.runtime(
                    "seed \(seed) of \(suite.root.path) stopped before its last step; continue it with "
                        + "'embryo pretrain --resume \(suite.root.path) --member \(seed)'")
            }
        }
        print(suite.run(seed: seed).root.path)
    }

    /// Runs the seeds' processes, `manifest.jobs` at once; returns the ones that failed.
    static func schedule(_ todo: [Int], suite: Suite, manifest: SuiteManifest) throws -> [(seed: Int, code: Int32)] {
        var queue = todo[...]
        var running: [(seed: Int, process: Process, relay: LineRelay)] = []
        var failures: [(seed: Int, code: Int32)] = []
        var forwarded = false
        while !queue.isEmpty || !running.isEmpty {
            while running.count < manifest.jobs, let seed = queue.first, stopRequested == 0, failures.isEmpty {
                queue.removeFirst()
                let (p, relay) = try start(seed: seed, suite: suite, manifest: manifest)
                running.append((seed, p, relay))
            }
            if stopRequested != 0 && !forwarded {
                // a Ctrl-C reaches the children from the terminal; a signal sent to this process alone is passed on
                for r in running where r.process.isRunning { kill(r.process.processIdentifier, SIGINT) }
                forwarded = true
            }
            usleep(100_000)
            for r in running where !r.process.isRunning {
                r.relay.finish()
                let code = r.process.terminationStatus
                if code != 0 && code != 130 { failures.append((r.seed, code)) }
            }
            running.removeAll { !$0.process.isRunning }
            if stopRequested != 0 || !failures.isEmpty { queue.removeAll() }
        }
        return failures
    }

    /// One seed's `embryo pretrain` process: a new run from the suite's recipe, or the started one resumed.
    static func start(seed: Int, suite: Suite, manifest: SuiteManifest) throws -> (Process, LineRelay) {
        let dir = suite.run(seed: seed).root
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let threads = ["--threads", String(manifest.threadsPerRun)]
        if suite.progress(seed: seed, steps: manifest.recipe.steps) == .started {
            p.arguments = ["pretrain", "--resume", dir.path] + threads
        } else {
            p.arguments =
                ["pretrain", "--suite-recipe", suite.root.path, "--seed", String(seed), "--out", dir.path, "--force"]
                + threads
        }
        p.standardOutput = FileHandle.nullDevice
        let relay = LineRelay(prefix: "seed \(seed): ")
        p.standardError = relay.pipe
        do { try p.run() } catch {
            throw EmbryoError.runtime("cannot start the run of seed \(seed): \(error.localizedDescription)")
        }
        return (p, relay)
    }
}

/// Passes a child's stderr on, line by line, with a prefix naming the child.
final class LineRelay: @unchecked Sendable {
    let pipe = Pipe()
    let prefix: String
    private var pending = Data()
    private let lock = NSLock()

    init(prefix: String) {
        self.prefix = prefix
        pipe.fileHandleForReading.readabilityHandler = { [weak self] h in self?.take(h.availableData) }
    }

    private func take(_ d: Data) {
        lock.lock()
        defer { lock.unlock() }
        pending.append(d)
        while let nl = pending.firstIndex(where: { $0 == 10 || $0 == 13 }) {
            let line = String(decoding: pending[pending.startIndex..<nl], as: UTF8.self)
            pending.removeSubrange(pending.startIndex...nl)
            if !line.trimmingCharacters(in: .whitespaces).isEmpty { log(prefix + line) }
        }
    }

    /// Reads what is left once the child has ended.
    func finish() {
        pipe.fileHandleForReading.readabilityHandler = nil
        take(pipe.fileHandleForReading.readDataToEndOfFile())
        lock.lock()
        if !pending.isEmpty { log(prefix + String(decoding: pending, as: UTF8.self)) }
        pending.removeAll()
        lock.unlock()
    }
}

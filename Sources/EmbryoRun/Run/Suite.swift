// A suite: the same pretraining recipe once per seed, each seed a normal run directory seed-N/ inside the
// suite's folder, described by suite.json (the seeds, the recipe without its seed, how the runs were
// scheduled). Probing, fine-tuning and comparing take the suite and go through its runs.

import EmbryoCore
import Foundation

public struct SuiteManifest: Codable, Sendable, Equatable {
    public var seeds: [Int]
    /// The recipe every run shares (its `seed` field is the first seed's; each run's run.json has its own).
    public var recipe: PretrainConfig
    /// Runs trained at the same time, and the threads each had.
    public var jobs: Int
    public var threadsPerRun: Int
    public var embryoVersion = "0.1.0"
    /// Which seeds the suite's seed sets: "both" (initialisation and data; nil in suites made before the
    /// option), "init" (the data seed held at the recipe's data_seed) or "data" (the initialisation held at
    /// the recipe's init_seed).
    public var vary: String? = nil
    /// The vocabulary and config files the recipe names, hashed when the suite was made (nil in suites made
    /// before they were recorded): every run started later must find the same contents.
    public var files: [RecordedFile]? = nil

    public init(seeds: [Int], recipe: PretrainConfig, jobs: Int, threadsPerRun: Int, vary: String? = nil) {
        (self.seeds, self.recipe, self.jobs, self.threadsPerRun) = (seeds, recipe, jobs, threadsPerRun)
        self.vary = vary
    }

    enum CodingKeys: String, CodingKey {
        case seeds, recipe, jobs, threadsPerRun = "threads_per_run", embryoVersion = "embryo_version", vary, files
    }

    /// The seeds a suite may vary.
    public static let varyChoices = ["both", "init", "data"]

    /// The recipe of a suite varying `vary`: the seed it holds is fixed in the recipe (at the one given, or
    /// at --seed), so that each member's --seed moves only the other. A seed given for the side that
    /// varies would be overridden by nothing and silently hold it too: that is an error.
    public static func recipe(_ r: PretrainConfig, vary: String) throws -> PretrainConfig {
        var r = r
        switch vary {
        case "init":
            if r.initSeed != nil { throw EmbryoError.usage("--vary init varies the initialisation: drop --init-seed") }
            r.dataSeed = r.dataSeed ?? r.seed
        case "data":
            if r.dataSeed != nil { throw EmbryoError.usage("--vary data varies the data order: drop --data-seed") }
            r.initSeed = r.initSeed ?? r.seed
        default:
            if r.initSeed != nil || r.dataSeed != nil {
                throw EmbryoError.usage(
                    "--seeds varies both seeds: with --init-seed use --vary data, with --data-seed --vary init")
            }
        }
        return r
    }
}

public struct Suite: Sendable {
    public let root: URL
    public var manifestURL: URL { root.appendingPathComponent("suite.json") }

    public init(_ root: URL) { self.root = root.standardizedFileURL }

    public static func runName(seed: Int) -> String { "seed-\(seed)" }

    public func run(seed: Int) -> Run { Run(root.appendingPathComponent(Suite.runName(seed: seed))) }

    public static func isSuite(_ url: URL) -> Bool {
        FileManager.default.fileExists(atPath: url.appendingPathComponent("suite.json").path)
    }

    /// Opens the suite at `path`; a folder without suite.json is an error that says what it is instead.
    public static func open(_ path: String) throws -> Suite {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        guard FileManager.default.fileExists(atPath: url.path) else { throw EmbryoError.io(path, "no such directory") }
        guard isSuite(url) else {
            let hint =
                FileManager.default.fileExists(atPath: url.appendingPathComponent("run.json").path)
                ? "; it is a single run: use --run" : ""
            throw EmbryoError.io(path, "not a suite (no suite.json: made by 'embryo pretrain --seeds')\(hint)")
        }
        return Suite(url)
    }

    public func manifest() throws -> SuiteManifest {
        let data = try readFile(manifestURL)
        let m: SuiteManifest
        do { m = try JSONDecoder().decode(SuiteManifest.self, from: data) } catch {
            throw EmbryoError.format(manifestURL.path, "not a suite manifest: \(describe(error))")
        }
        // what was written by hand or damaged must not reach the scheduler: a seed twice would train one
        // folder from two processes, no jobs would wait forever
        func bad(_ why: String) -> EmbryoError { .format(manifestURL.path, why) }
        guard !m.seeds.isEmpty, m.seeds.count <= 10_000 else { throw bad("'seeds' must list 1 to 10,000 seeds") }
        guard m.seeds.allSatisfy({ $0 >= 0 }) else { throw bad("'seeds' must be at least 0") }
        guard Set(m.seeds).count == m.seeds.count else { throw bad("'seeds' names a seed twice") }
        guard (1...1024).contains(m.jobs) else { throw bad("'jobs' must be between 1 and 1024, not \(m.jobs)") }
        guard (1...1024).contains(m.threadsPerRun) else {
            throw bad("'threads_per_run' must be between 1 and 1024, not \(m.threadsPerRun)")
        }
        if let v = m.vary, !SuiteManifest.varyChoices.contains(v) { throw bad("'vary' must be init, data or both") }
        do { try m.recipe.validate() } catch let e as EmbryoError {
            throw bad("its recipe is not valid: \(e)")
        }
        return m
    }

    public func write(_ m: SuiteManifest) throws {
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try writeAtomically(try enc.encode(m) + Data("\n".utf8), to: manifestURL)
    }

    /// The suite's runs in seed order, with their seeds; seeds whose run has not started yet are left out.
    public func runs() throws -> [(seed: Int, run: Run)] {
        try manifest().seeds.map { ($0, run(seed: $0)) }.filter {
            FileManager.default.fileExists(atPath: $0.run.runJSON.path)
        }
    }

    /// The suite's runs in seed order, as `runs()`, after saying through `warn` which members are
    /// unfinished or not started (they are left out or used as they stand, never silently).
    public func runs(warn: (String) -> Void) throws -> [(seed: Int, run: Run)] {
        if let text = try incompleteMembers() { warn(text) }
        return try runs()
    }

    /// One sentence on the members that have not reached the recipe's last step ("seed 1 stopped at step
    /// 182 of 1000; seed 3 not started"), nil when every member is complete.
    public func incompleteMembers() throws -> String? {
        let m = try manifest()
        let steps = m.recipe.steps
        let parts = m.seeds.compactMap { seed -> String? in
            switch progress(seed: seed, steps: steps) {
            case .complete: return nil
            case .notStarted: return "seed \(seed) not started"
            case .started:
                let last = (try? run(seed: seed).snapshots().last?.step) ?? nil
                return "seed \(seed) stopped at step \(last.map(String.init) ?? "?") of \(steps)"
            }
        }
        guard !parts.isEmpty else { return nil }
        return "the suite \(root.path) is not complete: " + parts.joined(separator: "; ")
            + " (continue it with 'embryo pretrain --resume \(root.path)')"
    }

    /// Where a seed's run stands: not started, started (resumable), or complete.
    public enum Progress: Equatable, Sendable { case notStarted, started, complete }

    public func progress(seed: Int, steps: Int) -> Progress {
        let r = run(seed: seed)
        let fm = FileManager.default
        guard fm.fileExists(atPath: r.runJSON.path) else { return .notStarted }
        let last = r.checkpoint(steps).appendingPathComponent("trainer_state.json")
        guard let data = try? readFile(last),
            let o = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any], o["interrupted"] == nil
        else { return .started }
        return .complete
    }
}

/// Seeds from the command line: "1-5" (a range), "1,4,9" (a list), or "k" (k seeds from `first`).
public func parseSeeds(_ text: String, first: Int) throws -> [Int] {
    let bad = EmbryoError.usage("--seeds: expected a count (5), a range (1-5) or a list (1,4,9), got '\(text)'")
    let t = text.trimmingCharacters(in: .whitespaces)
    var seeds: [Int]
    if t.contains(",") {
        seeds = try t.split(separator: ",", omittingEmptySubsequences: false).map {
            guard let s = Int($0.trimmingCharacters(in: .whitespaces)) else { throw bad }
            return s
        }
    } else if let dash = t.dropFirst().firstIndex(of: "-") {
        guard let lo = Int(t[..<dash]), let hi = Int(t[t.index(after: dash)...]), lo <= hi, hi - lo < 10_000 else {
            throw bad
        }
        seeds = Array(lo...hi)
    } else {
        guard let k = Int(t), k >= 1, k <= 10_000 else { throw bad }
        seeds = Array(first..<(first + k))
    }
    guard seeds.allSatisfy({ $0 >= 0 }) else { throw EmbryoError.usage("--seeds: seeds must be at least 0") }
    guard Set(seeds).count == seeds.count else { throw EmbryoError.usage("--seeds: '\(text)' names a seed twice") }
    return seeds
}

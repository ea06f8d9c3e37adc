// A run: a folder of snapshots, usually one that `embryo pretrain` wrote (run.json, checkpoints/, the
// world, the tokenizer), and the folders where measurements on its snapshots go. Every command that reads
// snapshots opens the run here, whatever path the user gave: the run directory, its checkpoints/ folder,
// one snapshot, or a folder of checkpoints that another trainer wrote.

import EmbryoCore
import Foundation

public struct Run: Sendable {
    /// The run directory; for a folder of checkpoints from elsewhere, that folder (or its parent when it
    /// is called checkpoints/).
    public let root: URL
    /// The folder that holds the snapshots.
    public let checkpoints: URL
    /// Set when the run was opened at one snapshot: `snapshots()` then lists only that one.
    public let only: URL?

    /// The run directory `root` as pretraining lays it out (it need not exist yet).
    public init(_ root: URL) {
        self.root = root
        checkpoints = root.appendingPathComponent("checkpoints")
        only = nil
    }

    init(root: URL, checkpoints: URL, only: URL?) {
        self.root = root
        self.checkpoints = checkpoints
        self.only = only
    }

    // MARK: files of the run

    public var state: URL { root.appendingPathComponent("state") }
    public var log: URL { root.appendingPathComponent("train_log.jsonl") }
    public var runJSON: URL { root.appendingPathComponent("run.json") }
    public var tokenizerDir: URL { root.appendingPathComponent("tokenizer") }
    public var worldDir: URL { root.appendingPathComponent("world") }
    /// Tokenized corpora, shared by the runs beside this one (keyed by corpus and vocabulary hashes).
    public var tokenCacheDir: URL { root.deletingLastPathComponent().appendingPathComponent(".cache") }

    // MARK: where measurements go

    public var probes: URL { root.appendingPathComponent("probes") }
    public var exposure: URL { root.appendingPathComponent("exposure") }
    public var report: URL { probes.appendingPathComponent("report.html") }
    public func finetune(task: String) -> URL { root.appendingPathComponent("finetune").appendingPathComponent(task) }
    public func reinit(task: String, scheme: String) -> URL {
        root.appendingPathComponent("reinit").appendingPathComponent("\(task)-\(scheme)")
    }
    /// Where fine-tuning one snapshot goes by default: <run>/finetune/<task>/<snapshot> for a run's snapshot,
    /// <snapshot>-finetune-<task> beside a lone checkpoint.
    public func finetuneOut(task: String, snapshot: URL) -> URL {
        if isRunDirectory { return finetune(task: task).appendingPathComponent(snapshot.lastPathComponent) }
        return checkpoints.appendingPathComponent("\(snapshot.lastPathComponent)-finetune-\(task)")
    }

    /// What `pretrain --force` removes besides the run itself: everything measured on its snapshots.
    public static let measurementFolders = ["probes", "finetune", "reinit", "activations", "crosscoder", "exposure"]

    /// The run's name (its folder's).
    public var name: String { root.lastPathComponent }

    public static func checkpointName(_ step: Int) -> String { "step-" + String(format: "%06d", step) }

    public func checkpoint(_ step: Int) -> URL { checkpoints.appendingPathComponent(Run.checkpointName(step)) }

    // MARK: opening

    /// Opens what `path` names: a run directory (with run.json or checkpoints/), a folder of snapshots, or
    /// one snapshot (a folder with config.json and model.safetensors).
    public static func open(_ path: String) throws -> Run {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: url.path, isDirectory: &isDir) else {
            throw EmbryoError.io(path, "no such directory")
        }
        guard isDir.boolValue else { throw EmbryoError.io(path, "not a directory") }
        func has(_ u: URL, _ name: String) -> Bool { fm.fileExists(atPath: u.appendingPathComponent(name).path) }
        if has(url, "run.json") || (has(url, "checkpoints") && !Snapshot.isSnapshot(url)) { return Run(url) }
        if Snapshot.isSnapshot(url) {
            let folder = url.deletingLastPathComponent()
            return Run(root: Run.rootOf(folder), checkpoints: folder, only: url)
        }
        return Run(root: Run.rootOf(url), checkpoints: url, only: nil)
    }

    /// The run a folder of snapshots belongs to: its parent when the folder is a run's checkpoints/.
    static func rootOf(_ folder: URL) -> URL {
        let parent = folder.deletingLastPathComponent()
        let fm = FileManager.default
        if folder.lastPathComponent == "checkpoints"
            || fm.fileExists(atPath: parent.appendingPathComponent("run.json").path)
        {
            return parent
        }
        return folder
    }

    /// Whether the snapshots sit in a run directory (not a bare folder of checkpoints, which then has no
    /// folders of its own for measurements).
    public var isRunDirectory: Bool { root != checkpoints }

    /// Whether `pretrain` wrote this run (it has a run.json).
    public var hasManifest: Bool { FileManager.default.fileExists(atPath: runJSON.path) }

    /// The run's manifest; an error when there is none or it cannot be read.
    public func manifest() throws -> RunManifest {
        guard hasManifest else { throw EmbryoError.runtime("\(root.path) holds no run (no run.json)") }
        return try RunManifest.read(runJSON)
    }

    /// The snapshot steps run.json plans (read on their own, so a run being written can be watched).
    public var plannedSteps: [Int]? {
        struct Planned: Decodable { var checkpoint_steps: [Int] }
        return (try? JSONDecoder().decode(Planned.self, from: readFile(runJSON)))?.checkpoint_steps
    }

    /// The world folder, when this is a run on the built-in world whose probe set is still there.
    public var world: URL? {
        guard let m = try? manifest(), m.world != nil,
            FileManager.default.fileExists(atPath: worldDir.appendingPathComponent("probe.conllu").path)
        else { return nil }
        return worldDir
    }

    // MARK: snapshots

    /// The complete snapshots in step order. Folders named like snapshots but incomplete (being written, or
    /// broken) are skipped with a warning; a folder with no snapshot at all is an error that lists what is there.
    public func snapshots(warn: (String) -> Void = { _ in }) throws -> [Snapshot] {
        if let only {
            let missing = Snapshot.missingFiles(only)
            guard missing.isEmpty else {
                throw EmbryoError.io(only.path, "not a complete checkpoint: no \(missing.joined(separator: ", "))")
            }
            return [Snapshot(dir: only, step: Snapshot.step(of: only) ?? 0)]
        }
        let fm = FileManager.default
        guard fm.fileExists(atPath: checkpoints.path) else {
            throw EmbryoError.io(checkpoints.path, "no such directory")
        }
        var found: [Snapshot] = []
        for n in try fm.contentsOfDirectory(atPath: checkpoints.path).sorted() {
            let d = checkpoints.appendingPathComponent(n)
            guard Snapshot.stepInName(n) != nil, let step = Snapshot.step(of: d) else { continue }
            try Albert.requireSafetensors(d)
            let missing = Snapshot.missingFiles(d)
            if !missing.isEmpty {
                warn("skipping \(d.path): no \(missing.joined(separator: ", ")) (empty or half-written)")
                continue
            }
            found.append(Snapshot(dir: d, step: step))
        }
        return found.sorted { ($0.step, $0.dir.path) < ($1.step, $1.dir.path) }
    }

    /// Like `snapshots()`, but an empty result is an error naming what the folder holds instead.
    public func requireSnapshots(warn: (String) -> Void = { _ in }) throws -> [Snapshot] {
        let found = try snapshots(warn: warn)
        guard found.isEmpty else { return found }
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: checkpoints.path)) ?? [])
            .filter { !$0.hasPrefix(".") }.sorted()
        let shown = names.prefix(8).joined(separator: ", ") + (names.count > 8 ? ", ..." : "")
        throw EmbryoError.io(
            checkpoints.path,
            "holds no complete step-N checkpoint directories (expected folders named step-N, stepN or "
                + "checkpoint-N with config.json, model.safetensors and vocab.txt; found "
                + (names.isEmpty ? "nothing" : shown) + ")")
    }

    /// The snapshots of the given steps, in step order; an unknown step is a usage error listing the steps.
    public func snapshots(steps: [Int], warn: (String) -> Void = { _ in }) throws -> [Snapshot] {
        let all = try requireSnapshots(warn: warn)
        return try Set(steps).sorted().map { s in
            guard let snap = all.first(where: { $0.step == s }) else {
                throw EmbryoError.usage(
                    "--steps: no checkpoint for step \(s) in \(checkpoints.path) (have "
                        + all.map { String($0.step) }.joined(separator: ", ") + ")")
            }
            return snap
        }
    }
}

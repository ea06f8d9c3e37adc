// What pretraining writes into a run: checkpoints/step-NNNNNN/ (HF format plus trainer_state.json), state/
// (what resuming needs: optimizer moments and the step they belong to) and train_log.jsonl. Every file is
// written atomically, and a checkpoint directory appears under its final name only when complete.

import EmbryoCore
import EmbryoText
import Foundation

extension Run {
    /// Writes a complete checkpoint: model, tokenizer files and trainer_state.json, into a temporary
    /// directory renamed into place (an existing one for the same step is replaced).
    public func writeCheckpoint(step: Int, model: Albert, tokenizer: WordPieceTokenizer, trainerState: [String: Any])
        throws
    {
        let fm = FileManager.default
        try fm.createDirectory(at: checkpoints, withIntermediateDirectories: true)
        let final = checkpoint(step)
        let tmp = checkpoints.appendingPathComponent(".\(Run.checkpointName(step)).tmp")
        try? fm.removeItem(at: tmp)
        try model.save(to: tmp, metadata: ["step": String(step)])
        try tokenizer.save(to: tmp)
        let data = try JSONSerialization.data(withJSONObject: trainerState, options: [.prettyPrinted, .sortedKeys])
        try writeAtomically(data + Data("\n".utf8), to: tmp.appendingPathComponent("trainer_state.json"))
        if fm.fileExists(atPath: final.path) { try fm.removeItem(at: final) }
        do { try fm.moveItem(at: tmp, to: final) } catch {
            throw EmbryoError.io(final.path, "cannot move the checkpoint into place: \(error.localizedDescription)")
        }
        fsyncDirectory(checkpoints)
    }

    /// Copies another run's snapshot in as this run's snapshot of `step` (a branch's first snapshot).
    public func copyCheckpoint(_ source: URL, step: Int) throws {
        let fm = FileManager.default
        try fm.createDirectory(at: checkpoints, withIntermediateDirectories: true)
        let tmp = checkpoints.appendingPathComponent(".\(Run.checkpointName(step)).tmp")
        try? fm.removeItem(at: tmp)
        do {
            try fm.copyItem(at: source, to: tmp)
            if fm.fileExists(atPath: checkpoint(step).path) { try fm.removeItem(at: checkpoint(step)) }
            try fm.moveItem(at: tmp, to: checkpoint(step))
        } catch {
            throw EmbryoError.io(
                source.path, "cannot copy the snapshot into \(checkpoints.path): \(error.localizedDescription)")
        }
        fsyncDirectory(checkpoints)
    }

    /// Optimizer moments and the step, for resuming. state.json is written last and names the file. With
    /// `keepAll`, the state of every snapshot stays (state-step-N.json beside its optimizer file), so that a
    /// run can be branched from any of them; otherwise only the latest is kept.
    public func writeState(step: Int, tokensSeen: Int, optimizer: Optimizer, elapsed: Double, keepAll: Bool = false)
        throws
    {
        let fm = FileManager.default
        try fm.createDirectory(at: state, withIntermediateDirectories: true)
        let name = "optimizer-\(Run.checkpointName(step)).safetensors"
        var tensors: [(name: String, shape: [Int], data: UnsafePointer<Float>)] = []
        for t in optimizer.layout.tensors {
            tensors.append(("m." + t.name, t.shape, UnsafePointer(optimizer.m.pointer + t.offset)))
            tensors.append(("v." + t.name, t.shape, UnsafePointer(optimizer.v.pointer + t.offset)))
        }
        try writeSafetensors(tensors, metadata: ["step": String(step)], to: state.appendingPathComponent(name))
        let json: [String: Any] = [
            "step": step, "tokens_seen": tokensSeen, "optimizer_steps": optimizer.stepCount,
            "optimizer_file": name, "checkpoint": Run.checkpointName(step),
            "elapsed_s": elapsed,
        ]
        let data = try JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys])
        if keepAll {
            try writeAtomically(data + Data("\n".utf8), to: state.appendingPathComponent(Run.stateName(step)))
        }
        try writeAtomically(data + Data("\n".utf8), to: state.appendingPathComponent("state.json"))
        if keepAll { return }
        // only the latest state is kept
        for f in (try? fm.contentsOfDirectory(atPath: state.path)) ?? [] where f.hasPrefix("optimizer-") && f != name {
            try? fm.removeItem(at: state.appendingPathComponent(f))
        }
    }

    static func stateName(_ step: Int) -> String { "state-\(checkpointName(step)).json" }

    /// Why a branch cannot start at `step`: the run kept no optimizer state for it (the steps it has, and the
    /// option that keeps them all).
    public func missingState(_ step: Int) -> String {
        let kept = keptStateSteps()
        return "\(root.path) kept no optimizer state for step \(step) (only for step\(kept.count == 1 ? "" : "s") "
            + "\(kept.map(String.init).joined(separator: ", "))); branch from one of those, or pretrain the parent "
            + "with --keep-state all to keep the state of every snapshot"
    }

    /// The steps whose optimizer state the run has kept.
    public func keptStateSteps() -> [Int] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: state.path)) ?? []
        var steps = Set(
            names.compactMap { n -> Int? in
                guard n.hasPrefix("state-step-"), n.hasSuffix(".json") else { return nil }
                return Int(n.dropFirst("state-step-".count).dropLast(".json".count))
            })
        if let o = (try? JSONSerialization.jsonObject(with: readFile(state.appendingPathComponent("state.json"))))
            as? [String: Any], let s = o["step"] as? Int
        {
            steps.insert(s)
        }
        return steps.sorted()
    }

    public struct SavedState {
        public var step: Int
        public var tokensSeen: Int
        public var elapsed: Double
    }

    /// Restores the optimizer from state/ (the latest state, or that of snapshot `step` when the run kept
    /// it) and returns the step it belongs to.
    public func readState(into optimizer: Optimizer, step wanted: Int? = nil) throws -> SavedState {
        var url = state.appendingPathComponent("state.json")
        if let w = wanted, FileManager.default.fileExists(atPath: state.appendingPathComponent(Run.stateName(w)).path) {
            url = state.appendingPathComponent(Run.stateName(w))
        }
        guard let obj = (try? JSONSerialization.jsonObject(with: readFile(url))) as? [String: Any],
            let step = obj["step"] as? Int, let file = obj["optimizer_file"] as? String
        else { throw EmbryoError.format(url.path, "missing or unreadable resume state") }
        if let w = wanted, w != step { throw EmbryoError.runtime(missingState(w)) }
        let st = try SafetensorsFile(url: state.appendingPathComponent(file))
        for t in optimizer.layout.tensors {
            try st.read("m." + t.name, into: optimizer.m.pointer + t.offset, expectShape: t.shape)
            try st.read("v." + t.name, into: optimizer.v.pointer + t.offset, expectShape: t.shape)
        }
        optimizer.stepCount = obj["optimizer_steps"] as? Int ?? step
        return SavedState(
            step: step, tokensSeen: obj["tokens_seen"] as? Int ?? 0, elapsed: obj["elapsed_s"] as? Double ?? 0)
    }

    /// Keeps only log lines up to `step` (a resumed run rewrites what came after).
    public func truncateLog(after step: Int) throws {
        guard FileManager.default.fileExists(atPath: log.path) else { return }
        let lines = textLines(String(decoding: try readFile(log), as: UTF8.self)).filter { line in
            guard !line.isEmpty, let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let s = o["step"] as? Int
            else { return false }
            return s <= step
        }
        try writeAtomically(Data(lines.map { $0 + "\n" }.joined().utf8), to: log)
    }
}

/// Flushes a directory entry (after a rename) so the new name survives a crash.
public func fsyncDirectory(_ url: URL) {
    let fd = open(url.path, O_RDONLY)
    if fd >= 0 {
        fsync(fd)
        close(fd)
    }
}

/// Appends lines to a file, flushing each write.
public final class LogWriter {
    private let handle: FileHandle

    public init(_ url: URL) throws {
        if !FileManager.default.fileExists(atPath: url.path) {
            guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
                throw EmbryoError.io(url.path, "cannot create")
            }
        }
        guard let h = FileHandle(forWritingAtPath: url.path) else {
            throw EmbryoError.io(url.path, "cannot open for writing")
        }
        h.seekToEndOfFile()
        handle = h
    }

    public func write(_ line: String) throws {
        do { try handle.write(contentsOf: Data((line + "\n").utf8)) } catch {
            throw EmbryoError.io("train_log.jsonl", "write failed (disk full?): \(systemReason(error))")
        }
    }

    deinit { try? handle.close() }
}

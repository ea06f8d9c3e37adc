// HF-format checkpoint directories for AlbertForPreTraining: config.json plus model.safetensors with
// the tensor names save_pretrained writes (the decoder weight and bias are tied and not stored).
// Loading checks every tensor's presence, dtype and shape against the config.

import Foundation

extension Albert {
    /// Writes config.json and model.safetensors into `dir` (created if needed), each file atomically.
    public func save(to dir: URL, metadata: [String: String] = [:]) throws {
        do { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
            throw EmbryoError.io(dir.path, "cannot create directory: \(error.localizedDescription)")
        }
        let list = layout.tensors.map {
            (name: $0.name, shape: $0.shape, data: UnsafePointer(params.pointer + $0.offset))
        }
        var meta = metadata
        meta["format"] = "pt"
        try writeSafetensors(list, metadata: meta, to: dir.appendingPathComponent("model.safetensors"))
        try config.save(dir.appendingPathComponent("config.json"))
    }

    /// Loads a checkpoint directory written by embryo or by transformers' save_pretrained. The file is
    /// checked against the config before anything is allocated, so a config asking for absurd sizes fails
    /// with a message instead of exhausting memory.
    public static func load(from dir: URL) throws -> Albert {
        try requireSafetensors(dir)
        let config = try AlbertConfig.load(dir.appendingPathComponent("config.json"))
        let file = try SafetensorsFile(url: dir.appendingPathComponent("model.safetensors"))
        try check(file, against: ParameterLayout(config: config))
        let model = try Albert(config: config)
        try model.loadWeights(file)
        return model
    }

    /// A checkpoint saved as PyTorch's pickle (pytorch_model.bin) and not as safetensors is an error that
    /// says how to convert it; embryo never unpickles.
    public static func requireSafetensors(_ dir: URL) throws {
        let fm = FileManager.default
        guard !fm.fileExists(atPath: dir.appendingPathComponent("model.safetensors").path) else { return }
        for pickle in ["pytorch_model.bin", "pytorch_model.bin.index.json"]
        where fm.fileExists(atPath: dir.appendingPathComponent(pickle).path) {
            throw EmbryoError.format(
                dir.appendingPathComponent(pickle).path,
                "PyTorch pickle weights, which embryo does not read; convert the folder to safetensors once with "
                    + "python -c \"from transformers import AutoModelForPreTraining as M; "
                    + "M.from_pretrained('\(dir.path)').save_pretrained('\(dir.path)', safe_serialization=True)\" "
                    + "(pip install torch transformers)")
        }
    }

    /// Every layout tensor present as F32 with its shape; nothing else but HF's tied decoder copies.
    static func check(_ file: SafetensorsFile, against layout: ParameterLayout) throws {
        for t in layout.tensors {
            guard let e = file.entries[t.name] else {
                throw EmbryoError.format(file.path, "missing tensor '\(t.name)'")
            }
            guard e.dtype == "F32" else {
                throw EmbryoError.format(file.path, "tensor '\(t.name)' has dtype \(e.dtype), expected F32")
            }
            guard e.shape == t.shape else {
                throw EmbryoError.format(file.path, "tensor '\(t.name)' has shape \(e.shape), expected \(t.shape)")
            }
        }
        let tied = ["predictions.decoder.weight", "predictions.decoder.bias"]
        let known = Set(layout.tensors.map(\.name)).union(tied)
        if let extra = file.names.first(where: { !known.contains($0) && !$0.hasSuffix("position_ids") }) {
            throw EmbryoError.format(
                file.path, "unexpected tensor '\(extra)' for this config (wrong num_hidden_groups?)")
        }
    }

    /// Copies every layout tensor from a safetensors file (checked first, so nothing is half-loaded).
    public func loadWeights(_ file: SafetensorsFile) throws {
        try Self.check(file, against: layout)
        for t in layout.tensors {
            try file.read(t.name, into: params.pointer + t.offset, expectShape: t.shape)
        }
    }
}

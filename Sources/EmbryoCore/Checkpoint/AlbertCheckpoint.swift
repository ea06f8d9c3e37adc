// HF-format checkpoint directories for AlbertForPreTraining and BertForPreTraining: config.json plus
// model.safetensors with the tensor names save_pretrained writes (the decoder weight and bias are tied and
// not stored). Loading checks every tensor's presence, dtype and shape against the config. It also reads
// what transformers' other classes save: the bare encoder (AlbertModel/BertModel, names without the
// "albert."/"bert." prefix, no heads), *ForMaskedLM (no pooler or sentence head), *ForSequenceClassification
// (when the caller accepts its classifier), and LayerNorm gamma/beta from TensorFlow-converted BERTs.

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
    /// with a message instead of exhausting memory. Heads the file lacks keep HF's init drawn from `seed` and
    /// are listed in `absentParts`; `extra` accepts other tensors (such as a classifier's) without error.
    public static func load(from dir: URL, seed: UInt64 = 0, extra: (String) -> Bool = { _ in false }) throws -> Albert
    {
        try loadCheckpoint(from: dir, seed: seed, extra: extra).model
    }

    /// `load(from:seed:extra:)`, also returning the open file (for the caller's extra tensors).
    public static func loadCheckpoint(from dir: URL, seed: UInt64 = 0, extra: (String) -> Bool = { _ in false }) throws
        -> (
            model: Albert, file: SafetensorsFile
        )
    {
        try requireSafetensors(dir)
        let config = try AlbertConfig.load(dir.appendingPathComponent("config.json"))
        let file = try SafetensorsFile(url: dir.appendingPathComponent("model.safetensors"))
        let match = try TensorMatch(file, layout: ParameterLayout(config: config), extra: extra)
        let model = try Albert(config: config)
        model.initializeParts(match.absent, seed: seed)
        try model.read(file, match)
        model.absentParts = match.absent
        return (model, file)
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

    /// Copies every layout tensor from a safetensors file (checked first, so nothing is half-loaded); the file
    /// must hold all of them.
    public func loadWeights(_ file: SafetensorsFile) throws {
        let match = try TensorMatch(file, layout: layout)
        if let t = layout.tensors.first(where: { match.absent.contains($0.part) }) {
            throw EmbryoError.format(file.path, "missing tensor '\(t.name)'")
        }
        try read(file, match)
    }

    func read(_ file: SafetensorsFile, _ match: TensorMatch) throws {
        for t in layout.tensors {
            guard let name = match.fileName[t.name] else { continue }
            try file.read(name, into: params.pointer + t.offset, expectShape: t.shape)
        }
    }
}

/// Which tensor of a checkpoint file holds each layout tensor, and which heads the file lacks.
struct TensorMatch {
    var fileName: [String: String] = [:]
    var absent: Set<ParameterPart> = []

    /// Each layout tensor under its own name, without the encoder prefix (bare AlbertModel/BertModel), or
    /// with LayerNorm's TensorFlow names (gamma, beta). A head may be absent as a whole; any other missing
    /// tensor, a wrong dtype or shape, or a tensor the layout does not know is an error.
    init(_ file: SafetensorsFile, layout: ParameterLayout, extra: (String) -> Bool = { _ in false }) throws {
        func candidates(_ t: ParameterTensor) -> [String] {
            let name = t.name
            var names = [name]
            if name.hasPrefix(layout.encoderPrefix) { names.append(String(name.dropFirst(layout.encoderPrefix.count))) }
            for n in names where n.contains("LayerNorm.") {
                if n.hasSuffix(".weight") { names.append(n.dropLast(6) + "gamma") }
                if n.hasSuffix(".bias") { names.append(n.dropLast(4) + "beta") }
            }
            // the MLM bias is tied to the decoder's, which some files store instead
            if t.offset == layout.mlmBias { names.append(layout.tiedDecoderNames[1]) }
            return names
        }
        var missing: [ParameterPart: String] = [:]
        var present: Set<ParameterPart> = []
        for t in layout.tensors {
            guard let name = candidates(t).first(where: { file.entries[$0] != nil }), let e = file.entries[name]
            else {
                if missing[t.part] == nil { missing[t.part] = t.name }
                continue
            }
            guard e.dtype == "F32" else {
                throw EmbryoError.format(file.path, "tensor '\(name)' has dtype \(e.dtype), expected F32")
            }
            guard e.shape == t.shape else {
                throw EmbryoError.format(file.path, "tensor '\(name)' has shape \(e.shape), expected \(t.shape)")
            }
            fileName[t.name] = name
            present.insert(t.part)
        }
        // a part is either whole or (for a head) wholly absent
        for t in layout.tensors {
            guard let name = missing[t.part] else { continue }
            guard t.part.isHead, !present.contains(t.part) else {
                throw EmbryoError.format(file.path, "missing tensor '\(name)'")
            }
            absent.insert(t.part)
        }
        let known = Set(fileName.values).union(layout.tiedDecoderNames)
        if let unexpected = file.names.first(where: {
            !known.contains($0) && !$0.hasSuffix("position_ids") && !extra($0)
        }) {
            throw EmbryoError.format(
                file.path,
                "unexpected tensor '\(unexpected)' for this config (wrong num_hidden_groups or model_type?)")
        }
    }
}

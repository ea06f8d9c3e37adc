// Partial re-initialisation (Tamkin et al. 2020, "Investigating Transferability in Pretrained Language
// Models"): which pretrained layers matter for a downstream task. A shared ALBERT is first untied into L
// identical layers so that every scheme applies layer by layer. Re-initialising layer l draws fresh
// attention query/key/value/output and FFN matrices from the model's own init (normal, initializer_range),
// zeroes their biases and resets its LayerNorms (1, 0) unless they are kept; embeddings, the projection and
// the pooler stay pretrained; the task head is always new.

import EmbryoCore
import EmbryoRun
import Foundation

public enum ReinitScheme: String, CaseIterable, Sendable {
    case progressive, block, inverseBlock = "inverse-block", single, scramble
}

public struct ReinitSetting: Sendable, Equatable {
    public var scheme: String  // a ReinitScheme, or "baseline"
    public var label: String
    public var reinit: [Int]  // layers re-initialised
    public var permutation: [Int]?  // layer i takes pretrained layer permutation[i]
    public var preserved: Int  // pretrained layers kept in place
    public var window: Int?  // first layer of the block (block, inverse-block) or the layer (single)

    public init(scheme: String, label: String, reinit: [Int], permutation: [Int]?, preserved: Int, window: Int?) {
        self.scheme = scheme
        self.label = label
        self.reinit = reinit
        self.permutation = permutation
        self.preserved = preserved
        self.window = window
    }
}

public enum Reinit {
    /// The settings a scheme runs on an L-layer model. Progressive includes the fully pretrained (k = L) and
    /// fully re-initialised (k = 0) models; the other schemes get those two as "baseline" settings, and
    /// scramble also the unscrambled order.
    public static func settings(_ scheme: ReinitScheme, layers L: Int, blockSize: Int, permutations: Int, seed: UInt64)
        throws -> [ReinitSetting]
    {
        let all = Array(0..<L)
        let pretrained = ReinitSetting(
            scheme: "baseline", label: "pretrained", reinit: [], permutation: nil, preserved: L, window: nil)
        let fresh = ReinitSetting(
            scheme: "baseline", label: "re-initialised", reinit: all, permutation: nil, preserved: 0, window: nil)
        switch scheme {
        case .progressive:
            return (0...L).reversed().map { k in
                ReinitSetting(
                    scheme: scheme.rawValue, label: "keep \(k)", reinit: Array(k..<L), permutation: nil, preserved: k,
                    window: nil)
            }
        case .block, .inverseBlock:
            guard blockSize >= 1 && blockSize <= L else {
                throw EmbryoError.usage("--block-size \(blockSize) is out of range for a \(L)-layer model (1...\(L))")
            }
            let windows = (0...(L - blockSize)).map { s -> ReinitSetting in
                let w = Array(s..<(s + blockSize))
                let block = scheme == .block
                return ReinitSetting(
                    scheme: scheme.rawValue, label: "\(block ? "reinit" : "keep only") \(s)-\(s + blockSize - 1)",
                    reinit: block ? w : all.filter { !w.contains($0) }, permutation: nil,
                    preserved: block ? L - blockSize : blockSize, window: s)
            }
            return [pretrained] + windows + [fresh]
        case .single:
            return [pretrained]
                + all.map {
                    ReinitSetting(
                        scheme: scheme.rawValue, label: "reinit \($0)", reinit: [$0], permutation: nil,
                        preserved: L - 1,
                        window: $0)
                } + [fresh]
        case .scramble:
            var rng = Rng(seed: 0x5C4A_3B1E &+ seed)
            var out = [pretrained]
            for p in 0..<permutations {
                var perm = all
                repeat {
                    for i in stride(from: L - 1, to: 0, by: -1) { perm.swapAt(i, rng.below(i + 1)) }
                } while perm == all && L > 1
                out.append(
                    ReinitSetting(
                        scheme: scheme.rawValue,
                        label: "permutation \(p + 1): " + perm.map(String.init).joined(separator: " "),
                        reinit: [], permutation: perm, preserved: zip(perm, all).filter { $0 == $1 }.count,
                        window: p + 1))
            }
            return out + [fresh]
        }
    }

    /// A copy of `model` with one layer group per layer, each a copy of the group that layer used:
    /// the same function, with layers that can be changed one by one.
    public static func untie(_ model: Albert) throws -> Albert {
        let c = model.config
        let u = try Albert(config: c.unshared())
        // every tensor outside the layers by name, then each layer's block from the group it applied
        for t in u.layout.tensors where !isLayer(t.part) {
            guard let from = model.parameter(t.name) else { throw EmbryoError.runtime("untie: no tensor \(t.name)") }
            (u.params.pointer + t.offset).update(from: from, count: t.count)
        }
        for l in 0..<c.numHiddenLayers {
            let src = model.layout.groupRanges[c.group(ofLayer: l)], dst = u.layout.groupRanges[l]
            (u.params.pointer + dst.lowerBound).update(from: model.params.pointer + src.lowerBound, count: src.count)
        }
        u.absentParts = model.absentParts
        return u
    }

    private static func isLayer(_ part: ParameterPart) -> Bool {
        if case .layerGroup = part { return true }
        return false
    }

    /// The parameter tensors of layer `l` of an untied model.
    public static func layerTensors(_ model: Albert, layer l: Int) -> [ParameterTensor] {
        model.layout.tensors(ofGroup: l)
    }

    /// Applies a setting to an untied model; returns the names of the tensors it re-drew or moved.
    @discardableResult
    public static func apply(_ s: ReinitSetting, to model: Albert, keepLayerNorm: Bool, seed: UInt64) throws -> [String]
    {
        let L = model.config.numHiddenLayers
        guard model.config.numHiddenGroups == L else {
            throw EmbryoError.runtime("re-initialisation needs an untied model (one layer group per layer)")
        }
        if let bad = (s.reinit + (s.permutation ?? [])).first(where: { $0 < 0 || $0 >= L }) {
            throw EmbryoError.usage("layer \(bad) is out of range; this model has layers 0...\(L - 1)")
        }
        var touched: [String] = []
        if let perm = s.permutation {
            guard perm.count == L, Set(perm).count == L else {
                throw EmbryoError.usage("a permutation of \(L) layers must name each of 0...\(L - 1) once")
            }
            let copy = model.params.array
            for i in 0..<L where perm[i] != i {
                for (dst, src) in zip(layerTensors(model, layer: i), layerTensors(model, layer: perm[i])) {
                    copy.withUnsafeBufferPointer {
                        (model.params.pointer + dst.offset).update(from: $0.baseAddress! + src.offset, count: dst.count)
                    }
                    touched.append(dst.name)
                }
            }
        }
        var rng = Rng(seed: 0x2E1A_17 &+ seed)
        for l in s.reinit.sorted() {
            for t in layerTensors(model, layer: l) {
                let isNorm = t.name.contains("LayerNorm") || t.name.contains("layer_norm")
                if isNorm && keepLayerNorm { continue }
                model.initialize(t, rng: &rng)
                touched.append(t.name)
            }
        }
        return touched
    }
}

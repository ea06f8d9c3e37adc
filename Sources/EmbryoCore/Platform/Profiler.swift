// Wall time per kernel class, for `embryo bench --profile`. Off unless a caller turns it on: a span then
// costs one branch. Spans are timed on the calling thread around whole kernels (their parallel regions
// included), so their sum is comparable with the step's wall time; what is left is time outside any
// kernel. Inside attention, the share of softmax is split off by thread time.

import Foundation

public enum KernelClass: Int, CaseIterable, Sendable {
    case embedding, embeddingLayerNorm, projection, qkv, attentionProducts, softmax, attentionDense, ffnIn, gelu
    case ffnOut, layerNorm, mlmGather, mlmDense, mlmHeadNorm, mlmDecoder, crossEntropy, sopHead, zeroGrad
    case clipping, optimizer

    public var label: String {
        switch self {
        case .embedding: "embedding lookup"
        case .embeddingLayerNorm: "embedding LayerNorm"
        case .projection: "gemm E->H projection"
        case .qkv: "gemm q|k|v"
        case .attentionProducts: "attention q.k and p.v"
        case .softmax: "attention softmax"
        case .attentionDense: "gemm attention output"
        case .ffnIn: "gemm FFN in"
        case .gelu: "GELU"
        case .ffnOut: "gemm FFN out"
        case .layerNorm: "layer LayerNorms"
        case .mlmGather: "MLM gather/scatter"
        case .mlmDense: "gemm MLM dense"
        case .mlmHeadNorm: "MLM GELU+LayerNorm"
        case .mlmDecoder: "gemm MLM decoder"
        case .crossEntropy: "softmax cross-entropy"
        case .sopHead: "pooler and SOP head"
        case .zeroGrad: "zero gradients"
        case .clipping: "gradient clipping"
        case .optimizer: "optimizer update"
        }
    }
}

public enum ProfilePhase: Int, CaseIterable, Sendable {
    case forward, backward, update
}

public enum Profiler {
    /// Whether spans are recorded. Set before work starts, never inside a parallel region.
    nonisolated(unsafe) public static var isOn = false
    /// The phase new spans are booked to.
    nonisolated(unsafe) public static var phase = ProfilePhase.forward

    static let width = KernelClass.allCases.count * ProfilePhase.allCases.count
    nonisolated(unsafe) static let nanos: UnsafeMutablePointer<UInt64> = {
        let p = UnsafeMutablePointer<UInt64>.allocate(capacity: width)
        p.initialize(repeating: 0, count: width)
        return p
    }()
    nonisolated(unsafe) static let flops: UnsafeMutablePointer<Double> = {
        let p = UnsafeMutablePointer<Double>.allocate(capacity: width)
        p.initialize(repeating: 0, count: width)
        return p
    }()
    // attention thread time per phase: (products, softmax), summed over threads under a lock
    nonisolated(unsafe) static var attentionThreadNanos = [(UInt64, UInt64)](
        repeating: (0, 0), count: ProfilePhase.allCases.count)
    static let lock = NSLock()

    @inline(__always)
    public static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// Runs `body`, booking its wall time (and `flops` floating-point operations) to `kernel` in the current phase.
    @inline(__always) @discardableResult
    public static func span<R>(_ kernel: KernelClass, flops f: Double = 0, _ body: () throws -> R) rethrows -> R {
        if !isOn { return try body() }
        let t0 = now()
        let r = try body()
        let slot = phase.rawValue * KernelClass.allCases.count + kernel.rawValue
        nanos[slot] &+= now() &- t0
        flops[slot] += f
        return r
    }

    /// Books one thread's time inside attention: `products` in the matrix products, `softmax` in the rows' softmax.
    static func addAttentionThreadTime(products: UInt64, softmax: UInt64) {
        lock.lock()
        attentionThreadNanos[phase.rawValue].0 &+= products
        attentionThreadNanos[phase.rawValue].1 &+= softmax
        lock.unlock()
    }

    public static func reset() {
        nanos.update(repeating: 0, count: width)
        flops.update(repeating: 0, count: width)
        for i in attentionThreadNanos.indices { attentionThreadNanos[i] = (0, 0) }
    }

    /// Seconds and FLOPs booked per (kernel, phase), with attention's wall time split into products and
    /// softmax by their shares of thread time.
    public static func snapshot() -> [KernelClass: [ProfilePhase: (seconds: Double, flops: Double)]] {
        var out: [KernelClass: [ProfilePhase: (seconds: Double, flops: Double)]] = [:]
        for k in KernelClass.allCases {
            for ph in ProfilePhase.allCases {
                let slot = ph.rawValue * KernelClass.allCases.count + k.rawValue
                out[k, default: [:]][ph] = (Double(nanos[slot]) / 1e9, flops[slot])
            }
        }
        for ph in ProfilePhase.allCases {
            let (pt, st) = attentionThreadNanos[ph.rawValue]
            let softShare = pt + st > 0 ? Double(st) / Double(pt + st) : 0
            let whole = out[.attentionProducts]![ph]!
            out[.attentionProducts]![ph] = (whole.seconds * (1 - softShare), whole.flops)
            out[.softmax]![ph] = (whole.seconds * softShare, 0)
        }
        return out
    }
}

/// Splits one thread's time inside a kernel between two kinds of work (when the profiler is on).
struct SplitClock {
    let on = Profiler.isOn
    var last: UInt64
    var first: UInt64 = 0
    var second: UInt64 = 0

    @inline(__always) init() { last = on ? Profiler.now() : 0 }

    /// Books the time since the last mark to the first kind of work.
    @inline(__always) mutating func markFirst() {
        if on {
            let t = Profiler.now()
            first &+= t &- last
            last = t
        }
    }

    /// Books the time since the last mark to the second kind of work.
    @inline(__always) mutating func markSecond() {
        if on {
            let t = Profiler.now()
            second &+= t &- last
            last = t
        }
    }

    @inline(__always) func bookAttention() {
        if on { Profiler.addAttentionThreadTime(products: first, softmax: second) }
    }
}

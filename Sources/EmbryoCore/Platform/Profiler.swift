// Wall time per kernel class, for `embryo bench --profile`. Off unless a caller turns it on: a span then
// costs one branch. Spans are timed on the calling thread around whole kernels (their parallel regions
// included), so their sum is comparable with the step's wall time; what is left is time outside any
// kernel. The shards of a data-parallel step run at the same time, each on its own lane: their mean
// thread time stands for the wall time. Inside attention, the share of softmax is split off by thread time.

import Foundation

public enum KernelClass: Int, CaseIterable, Sendable {
    case embedding, embeddingLayerNorm, projection, qkv, attentionProducts, softmax, attentionDense, ffnIn, gelu
    case ffnOut, layerNorm, mlmGather, mlmDense, mlmHeadNorm, mlmDecoder, crossEntropy, sopHead, zeroGrad
    case gradientReduce, clipping, optimizer, sgld

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
        case .sopHead: "pooler and sentence head"
        case .zeroGrad: "zero gradients"
        case .gradientReduce: "sum of shard gradients"
        case .clipping: "gradient clipping"
        case .optimizer: "optimizer update"
        case .sgld: "SGLD update and noise"
        }
    }
}

public enum ProfilePhase: Int, CaseIterable, Sendable {
    case forward, backward, update
}

public enum Profiler {
    /// Whether spans are recorded. Set before work starts, never inside a parallel region.
    nonisolated(unsafe) public static var isOn = false

    static let width = KernelClass.allCases.count * ProfilePhase.allCases.count
    /// Lane 0 is the main thread; lane s + 1 is shard s of a data-parallel step.
    static let lanes = 65
    static let laneKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()
    nonisolated(unsafe) static let nanos: UnsafeMutablePointer<UInt64> = {
        let p = UnsafeMutablePointer<UInt64>.allocate(capacity: width * lanes)
        p.initialize(repeating: 0, count: width * lanes)
        return p
    }()
    nonisolated(unsafe) static let flops: UnsafeMutablePointer<Double> = {
        let p = UnsafeMutablePointer<Double>.allocate(capacity: width * lanes)
        p.initialize(repeating: 0, count: width * lanes)
        return p
    }()
    nonisolated(unsafe) static let phases: UnsafeMutablePointer<ProfilePhase> = {
        let p = UnsafeMutablePointer<ProfilePhase>.allocate(capacity: lanes)
        p.initialize(repeating: .forward, count: lanes)
        return p
    }()
    /// Shards of the data-parallel steps profiled (0: none).
    nonisolated(unsafe) static var shards = 0

    @inline(__always) static var lane: Int { Int(bitPattern: pthread_getspecific(laneKey)) }

    /// The phase new spans of the calling thread's lane are booked to.
    public static var phase: ProfilePhase {
        get { phases[lane] }
        set { phases[lane] = newValue }
    }

    /// Runs body as shard `s` of `count` running at the same time: its spans go to the shard's own lane.
    public static func inShard<R>(_ s: Int, of count: Int, _ body: () throws -> R) rethrows -> R {
        precondition(s + 1 < lanes, "at most \(lanes - 1) shards are profiled")
        if isOn && s == 0 { shards = max(shards, count) }
        let previous = pthread_getspecific(laneKey)
        pthread_setspecific(laneKey, UnsafeRawPointer(bitPattern: s + 1))
        defer { pthread_setspecific(laneKey, previous) }
        return try body()
    }
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
        let l = lane
        let slot = l * width + phases[l].rawValue * KernelClass.allCases.count + kernel.rawValue
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
        nanos.update(repeating: 0, count: width * lanes)
        flops.update(repeating: 0, count: width * lanes)
        shards = 0
        for i in attentionThreadNanos.indices { attentionThreadNanos[i] = (0, 0) }
    }

    /// Seconds and FLOPs booked per (kernel, phase): the main lane's time plus the shards' mean time, and
    /// every lane's FLOPs; attention's time is split into products and softmax by their shares of thread time.
    public static func snapshot() -> [KernelClass: [ProfilePhase: (seconds: Double, flops: Double)]] {
        var out: [KernelClass: [ProfilePhase: (seconds: Double, flops: Double)]] = [:]
        for k in KernelClass.allCases {
            for ph in ProfilePhase.allCases {
                let slot = ph.rawValue * KernelClass.allCases.count + k.rawValue
                var seconds = Double(nanos[slot]) / 1e9, f = flops[slot]
                var shardSeconds = 0.0
                for s in 0..<shards {
                    shardSeconds += Double(nanos[(s + 1) * width + slot]) / 1e9
                    f += flops[(s + 1) * width + slot]
                }
                if shards > 0 { seconds += shardSeconds / Double(shards) }
                out[k, default: [:]][ph] = (seconds, f)
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

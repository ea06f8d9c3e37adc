// parallelFor: split a range into one fixed chunk per thread and run the chunks concurrently.
// Chunk boundaries depend only on (count, threads), never on timing, so results are reproducible
// for a given thread count. OpenBLAS itself is pinned to one thread; all parallelism lives here.

import CBLAS
import Dispatch
import Foundation

public enum Threads {
    nonisolated(unsafe) static var configured = 1
    // set on a thread that runs one shard of a data-parallel step: its kernels stay on that thread
    static let serialKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// Threads used by parallelFor and the gemm wrappers: the configured count, or 1 inside `serially`.
    public static var count: Int { pthread_getspecific(serialKey) == nil ? configured : 1 }

    /// The configured thread count, whatever the calling thread.
    public static var configuredCount: Int { configured }

    /// Pins OpenBLAS to one thread (parallelism is ours) and records the thread count for kernels.
    /// Set once before work starts.
    public static func configure(_ n: Int) {
        configured = max(1, n)
        openblas_set_num_threads(1)
    }

    /// Runs body with every kernel it calls on the calling thread.
    public static func serially<R>(_ body: () throws -> R) rethrows -> R {
        let previous = pthread_getspecific(serialKey)
        pthread_setspecific(serialKey, UnsafeRawPointer(bitPattern: 1))
        defer { pthread_setspecific(serialKey, previous) }
        return try body()
    }

    public static var available: Int { ProcessInfo.processInfo.activeProcessorCount }
}

/// Runs body(start, end) over `threads` contiguous chunks of 0..<count. Chunks are aligned to `grain`
/// rows so small problems stay on one thread.
@inline(__always)
public func parallelFor(_ count: Int, grain: Int = 1, threads: Int = Threads.count, _ body: (Int, Int) -> Void) {
    if count <= 0 { return }
    let maxChunks = max(1, count / max(grain, 1))
    let n = min(threads, maxChunks)
    if n <= 1 {
        body(0, count)
        return
    }
    withoutActuallyEscaping(body) { body in
        DispatchQueue.concurrentPerform(iterations: n) { chunk in
            let start = count * chunk / n
            let end = count * (chunk + 1) / n
            if start < end { body(start, end) }
        }
    }
}

// parallelFor: split a range into one fixed chunk per thread and run the chunks concurrently.
// Chunk boundaries depend only on (count, threads), never on timing, so results are reproducible
// for a given thread count. OpenBLAS itself is pinned to one thread; all parallelism lives here.

import CBLAS
import Dispatch
import Foundation

public enum Threads {
    /// Threads used by parallelFor and the gemm wrappers. Set once before work starts.
    nonisolated(unsafe) public static var count: Int = 1

    /// Pins OpenBLAS to one thread (parallelism is ours) and records the thread count for kernels.
    public static func configure(_ n: Int) {
        count = max(1, n)
        openblas_set_num_threads(1)
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

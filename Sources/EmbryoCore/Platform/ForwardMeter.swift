// Throughput of inference passes outside `embryo bench`: the probes book every forward pass here, so a
// probing run reports its positions per second on the same scale as the benchmark.

import Foundation

/// Padded positions run through the encoder by the probes, and the time spent in those forward passes:
/// the probes' throughput, comparable with `embryo bench`'s inference figure.
public final class ForwardMeter: @unchecked Sendable {
    public static let shared = ForwardMeter()
    public private(set) var tokens = 0
    public private(set) var seconds = 0.0
    let lock = NSLock()

    public func time<R>(tokens n: Int, _ body: () throws -> R) rethrows -> R {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let r = try body()
        let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        lock.lock()
        tokens += n
        seconds += dt
        lock.unlock()
        return r
    }

    public func reset() {
        lock.lock()
        tokens = 0
        seconds = 0
        lock.unlock()
    }
}

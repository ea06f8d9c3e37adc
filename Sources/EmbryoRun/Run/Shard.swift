// Job-array shards: `--shard i/n` gives job i (from 0) of n a fixed share of a run's snapshots, the ones at
// positions i, i+n, i+2n, ... in step order. Interleaving spreads early (cheap) and late snapshots over the
// jobs, and the shares of 0..<n cover every snapshot exactly once whatever their number.

import EmbryoCore

public struct Shard: Sendable, Equatable, CustomStringConvertible {
    public var index: Int
    public var count: Int

    public init(index: Int, count: Int) {
        precondition(count >= 1 && index >= 0 && index < count, "shard \(index)/\(count)")
        (self.index, self.count) = (index, count)
    }

    public var description: String { "\(index)/\(count)" }

    /// Parses "i/n" with 0 <= i < n (a Slurm array task: --shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT
    /// with --array=0-(n-1)).
    public static func parse(_ text: String, option: String = "--shard") throws -> Shard {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]) else {
            throw EmbryoError.usage("\(option): expected i/n, e.g. 0/4 for the first of 4 jobs, got '\(text)'")
        }
        guard n >= 1, n <= 1_000_000 else { throw EmbryoError.usage("\(option): n must be 1 to 1000000, got \(n)") }
        guard i >= 0, i < n else {
            throw EmbryoError.usage("\(option): i counts from 0 and must be below n, got \(i)/\(n)")
        }
        return Shard(index: i, count: n)
    }

    /// This shard's items: those at positions index, index+count, ...
    public func share<T>(_ items: [T]) -> [T] {
        stride(from: index, to: items.count, by: count).map { items[$0] }
    }
}

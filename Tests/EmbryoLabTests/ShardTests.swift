// Job-array shares: for any number of snapshots and jobs, every snapshot goes to exactly one job, and the
// shares differ in size by at most one; malformed --shard values are usage errors.

import EmbryoCore
import EmbryoLab
import EmbryoRun
import XCTest

final class ShardTests: XCTestCase {
    func testEverySnapshotExactlyOnceForAnyN() {
        for count in 0...60 {
            let items = Array(0..<count)
            for n in 1...25 {
                let shares = (0..<n).map { Shard(index: $0, count: n).share(items) }
                XCTAssertEqual(shares.flatMap { $0 }.sorted(), items, "\(count) snapshots over \(n) jobs")
                let sizes = shares.map(\.count)
                XCTAssertLessThanOrEqual(sizes.max()! - sizes.min()!, 1, "\(count) over \(n)")
                for s in shares { XCTAssertEqual(s, s.sorted(), "each share in step order") }
            }
        }
        XCTAssertEqual(Shard(index: 1, count: 3).share(Array(0..<8)), [1, 4, 7])
    }

    func testParse() throws {
        XCTAssertEqual(try Shard.parse("0/1"), Shard(index: 0, count: 1))
        XCTAssertEqual(try Shard.parse("3/4"), Shard(index: 3, count: 4))
        for (bad, message) in [
            ("4/4", "i counts from 0 and must be below n"), ("-1/4", "i counts from 0"), ("1/0", "n must be 1"),
            ("1", "expected i/n"), ("a/b", "expected i/n"), ("1/2/3", "expected i/n"), ("", "expected i/n"),
        ] {
            XCTAssertThrowsError(try Shard.parse(bad), bad) { e in
                XCTAssertTrue("\(e)".contains(message), "\(bad): \(e)")
                guard case .usage = e as? EmbryoError else { return XCTFail("\(bad): not a usage error: \(e)") }
            }
        }
    }
}

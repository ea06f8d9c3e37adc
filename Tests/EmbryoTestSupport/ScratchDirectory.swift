// What every test target shares: a test case with a fresh scratch folder per test (removed afterwards),
// the stop signal cleared around each test, and a micro model configuration for end-to-end runs.

import EmbryoCore
import Foundation
import XCTest

/// A test case with a scratch folder of its own: `dir` (also `tmp`), created before each test and removed
/// after it; the stop signal is cleared before and after.
open class ScratchDirectoryTestCase: XCTestCase {
    public var dir: URL!
    public var tmp: URL { dir }

    open override func setUpWithError() throws {
        dir = try scratchDirectory("embryo-test")
        stopRequested = 0
    }

    open override func tearDownWithError() throws {
        stopRequested = 0
        try? FileManager.default.removeItem(at: dir)
    }

    /// A path inside the scratch folder.
    public func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
}

/// A new, empty folder under the system's temporary directory.
public func scratchDirectory(_ prefix: String) throws -> URL {
    let d = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
    return d
}

/// A micro ALBERT (hidden 32, 2 layers, 2 heads) written as `micro.json` in `dir`; returns its path.
public func microConfig(_ dir: URL) throws -> String {
    let c = AlbertConfig(
        vocabSize: 100, embeddingSize: 16, hiddenSize: 32, numHiddenLayers: 2, numAttentionHeads: 2,
        intermediateSize: 64, maxPositionEmbeddings: 64)
    let url = dir.appendingPathComponent("micro.json")
    try c.save(url)
    return url.path
}

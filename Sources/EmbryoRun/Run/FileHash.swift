// The file hasher every part of the lab keys its caches and records with: FNV-1a 64 over the bytes,
// streamed a megabyte at a time.

import EmbryoCore
import Foundation

/// (byte count, FNV-1a 64 hex) of a file, streamed.
public func hashFile(_ path: String) throws -> (Int, String) {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue else {
        throw EmbryoError.io(path, "no such file")
    }
    guard let h = FileHandle(forReadingAtPath: path) else { throw EmbryoError.io(path, "cannot open for reading") }
    defer { try? h.close() }
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    var n = 0
    while let chunk = try h.read(upToCount: 1 << 20), !chunk.isEmpty {
        n += chunk.count
        chunk.withUnsafeBytes { raw in
            for b in raw.bindMemory(to: UInt8.self) {
                hash ^= UInt64(b)
                hash = hash &* 0x100_0000_01b3
            }
        }
    }
    return (n, String(hash, radix: 16))
}

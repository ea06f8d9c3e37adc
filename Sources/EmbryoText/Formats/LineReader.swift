// LineReader: streams a file (or standard input) as lines of raw bytes, split on "\n" (a "\r" before
// it stays in the line: BERT's cleaning treats it as whitespace). Memory stays at one read buffer plus
// the longest line.

import EmbryoCore
import Foundation

public final class LineReader {
    private let handle: FileHandle
    private let path: String
    private var buffer: [UInt8] = []
    private var start = 0
    private var eof = false
    private let chunk: Int
    /// Bytes handed out so far (for progress).
    public private(set) var bytesRead = 0

    public init(path: String, chunkSize: Int = 1 << 20) throws {
        self.path = path
        chunk = chunkSize
        if path == "-" {
            handle = FileHandle.standardInput
            return
        }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw EmbryoError.io(path, "no such file")
        }
        guard !isDir.boolValue else { throw EmbryoError.io(path, "is a directory, expected a file") }
        guard let h = FileHandle(forReadingAtPath: path) else { throw EmbryoError.io(path, "cannot open for reading") }
        handle = h
    }

    deinit { if path != "-" { try? handle.close() } }

    /// Calls body with each line's bytes (without the "\n"); stops early when body returns false.
    public func forEachLine(_ body: (UnsafeBufferPointer<UInt8>) throws -> Bool) throws {
        while true {
            if let nl = buffer[start...].firstIndex(of: 0x0A) {
                let keepGoing = try buffer.withUnsafeBufferPointer {
                    try body(UnsafeBufferPointer(rebasing: $0[start..<nl]))
                }
                bytesRead += nl - start + 1
                start = nl + 1
                if !keepGoing { return }
                continue
            }
            if eof {
                if start < buffer.count {
                    _ = try buffer.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[start...])) }
                    bytesRead += buffer.count - start
                }
                buffer.removeAll()
                start = 0
                return
            }
            // keep the partial line, read more
            buffer.removeSubrange(0..<start)
            start = 0
            let data: Data?
            do { data = try handle.read(upToCount: chunk) } catch {
                throw EmbryoError.io(path, "read failed: \(error.localizedDescription)")
            }
            if let data, !data.isEmpty { buffer.append(contentsOf: data) } else { eof = true }
        }
    }
}

/// Expands corpus paths: files as given, directories to their .txt files (recursively, sorted).
public func expandCorpusPaths(_ paths: [String], extensions: Set<String> = ["txt"]) throws -> [String] {
    var out: [String] = []
    for p in paths {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: p, isDirectory: &isDir) else {
            throw EmbryoError.io(p, "no such file or directory")
        }
        if !isDir.boolValue {
            out.append(p)
            continue
        }
        guard let e = FileManager.default.enumerator(atPath: p) else {
            throw EmbryoError.io(p, "cannot list directory")
        }
        var found: [String] = []
        while let f = e.nextObject() as? String {
            if extensions.contains((f as NSString).pathExtension.lowercased()) {
                found.append((p as NSString).appendingPathComponent(f))
            }
        }
        guard !found.isEmpty else {
            throw EmbryoError.io(
                p, "directory holds no \(extensions.sorted().map { "." + $0 }.joined(separator: "/")) files")
        }
        out += found.sorted()
    }
    return out
}

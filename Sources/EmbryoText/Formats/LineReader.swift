// LineReader: streams a file (or standard input) as lines of raw bytes, split on "\n" (a "\r" before
// it stays in the line: BERT's cleaning treats it as whitespace). A path ending in .gz is decompressed on
// the fly through the system's zlib. Memory stays at one read buffer plus the longest line, which is
// bounded; a NUL byte (binary data, or a stream of zeros) and a stop signal end the reading at once.

import CZlib
import EmbryoCore
import Foundation

public final class LineReader {
    private let handle: FileHandle?
    private let gz: gzFile?
    private let path: String
    private var buffer: [UInt8] = []
    private var start = 0
    private var eof = false
    private let chunk: Int
    /// Where the search for the next line end resumes (bytes before it hold none), so that a long line
    /// is scanned once, not once per chunk.
    private var scanned = 0
    private var lineNumber = 1
    /// The longest line accepted.
    public let maxLineBytes: Int
    /// Bytes handed out so far (for progress).
    public private(set) var bytesRead = 0

    public static let defaultMaxLineBytes = 64 << 20

    public init(path: String, chunkSize: Int = 1 << 20, maxLineBytes: Int = LineReader.defaultMaxLineBytes) throws {
        self.path = path
        chunk = chunkSize
        self.maxLineBytes = maxLineBytes
        if path == "-" {
            handle = FileHandle.standardInput
            gz = nil
            return
        }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw EmbryoError.io(path, "no such file")
        }
        guard !isDir.boolValue else { throw EmbryoError.io(path, "is a directory, expected a file") }
        if path.lowercased().hasSuffix(".gz") {
            guard let g = gzopen(path, "rb") else { throw EmbryoError.io(path, "cannot open for reading") }
            gzbuffer(g, 1 << 17)
            gz = g
            handle = nil
            return
        }
        guard let h = FileHandle(forReadingAtPath: path) else { throw EmbryoError.io(path, "cannot open for reading") }
        handle = h
        gz = nil
    }

    deinit {
        if let gz { gzclose(gz) }
        if path != "-" { try? handle?.close() }
    }

    /// The next chunk of (decompressed) bytes; empty at the end.
    private func readChunk() throws -> [UInt8] {
        if let gz {
            var out = [UInt8](repeating: 0, count: chunk)
            let n = out.withUnsafeMutableBytes { gzread(gz, $0.baseAddress, UInt32($0.count)) }
            var code: Int32 = 0
            let message = gzerror(gz, &code).map { String(cString: $0) } ?? ""
            // a truncated stream reads as a short end with Z_BUF_ERROR
            if n < 0 || (code != Z_OK && code != Z_STREAM_END) {
                throw EmbryoError.format(
                    path,
                    "not a valid gzip file (\(message.isEmpty ? "zlib error \(code)" : message)) after \(bytesRead) "
                        + "decompressed bytes")
            }
            // zlib reads a file without a gzip header as it is; a .gz name promises compression
            if bytesRead == 0 && n > 0 && gzdirect(gz) == 1 {
                throw EmbryoError.format(path, "not a gzip file (no gzip header), though its name ends in .gz")
            }
            out.removeSubrange(Int(n)...)
            return out
        }
        do { return [UInt8](try handle!.read(upToCount: chunk) ?? Data()) } catch {
            throw EmbryoError.io(path, "read failed: \(error.localizedDescription)")
        }
    }

    /// Calls body with each line's bytes (without the "\n"); stops early when body returns false.
    public func forEachLine(_ body: (UnsafeBufferPointer<UInt8>) throws -> Bool) throws {
        while true {
            if let nl = buffer[max(start, scanned)...].firstIndex(of: 0x0A) {
                let keepGoing = try buffer.withUnsafeBufferPointer {
                    try body(UnsafeBufferPointer(rebasing: $0[start..<nl]))
                }
                bytesRead += nl - start + 1
                start = nl + 1
                scanned = start
                lineNumber += 1
                if !keepGoing { return }
                continue
            }
            scanned = buffer.count
            if buffer.count - start > maxLineBytes {
                throw EmbryoError.format(
                    "\(path):\(lineNumber)",
                    "a line longer than \(maxLineBytes) bytes with no line end: not a text corpus")
            }
            if eof {
                if start < buffer.count {
                    _ = try buffer.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[start...])) }
                    bytesRead += buffer.count - start
                }
                buffer.removeAll()
                start = 0
                scanned = 0
                return
            }
            // keep the partial line, read more
            buffer.removeSubrange(0..<start)
            scanned -= start
            start = 0
            if stopRequested != 0 { throw EmbryoError.interrupted("stopped while reading \(path)") }
            let data = try readChunk()
            if let zero = data.firstIndex(of: 0) {
                let line = lineNumber + data[..<zero].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
                throw EmbryoError.format(
                    "\(path):\(line)", "contains NUL bytes: this looks like a binary file, not text")
            }
            if !data.isEmpty { buffer.append(contentsOf: data) } else { eof = true }
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

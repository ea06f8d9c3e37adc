// safetensors (huggingface/safetensors format): 8-byte little-endian header length N, N bytes of JSON
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}, then the raw
// little-endian data. Reading validates everything and reports the first problem with the file's path.

import Foundation

public struct SafetensorsEntry: Sendable, Equatable {
    public let name: String
    public let dtype: String
    public let shape: [Int]
    public let begin: Int  // byte offsets into the data section
    public let end: Int
    public var count: Int { shape.reduce(1, *) }
}

public final class SafetensorsFile {
    public let path: String
    public let entries: [String: SafetensorsEntry]
    public let metadata: [String: String]
    private let data: Data
    private let dataStart: Int

    static let dtypeSizes: [String: Int] = [
        "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1,
    ]

    public convenience init(url: URL) throws {
        try self.init(data: try readFile(url, mapped: true), path: url.path)
    }

    public init(data: Data, path: String) throws {
        self.path = path
        self.data = data
        func bad(_ s: String) -> EmbryoError { .format(path, "not a valid safetensors file: \(s)") }
        guard data.count >= 8 else { throw bad("file is \(data.count) bytes, shorter than the 8-byte header length") }
        var n: UInt64 = 0
        for i in 0..<8 { n |= UInt64(data[data.startIndex + i]) << (8 * UInt64(i)) }
        guard n <= UInt64(data.count - 8) else {
            throw bad("header length \(n) runs past the end of the \(data.count)-byte file")
        }
        guard n <= 100_000_000 else { throw bad("header length \(n) is implausibly large") }
        let headerBytes = data.subdata(in: (data.startIndex + 8)..<(data.startIndex + 8 + Int(n)))
        guard let json = try? JSONSerialization.jsonObject(with: headerBytes), let header = json as? [String: Any]
        else {
            throw bad("header is not a JSON object")
        }
        dataStart = 8 + Int(n)
        let dataLength = data.count - dataStart
        var entries: [String: SafetensorsEntry] = [:]
        var meta: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                guard let m = value as? [String: Any] else { throw bad("__metadata__ is not an object") }
                for (k, v) in m {
                    guard let s = v as? String else { throw bad("__metadata__ value for '\(k)' is not a string") }
                    meta[k] = s
                }
                continue
            }
            guard let info = value as? [String: Any] else { throw bad("entry '\(name)' is not an object") }
            guard let dtype = info["dtype"] as? String, let size = Self.dtypeSizes[dtype] else {
                throw bad("tensor '\(name)' has unknown dtype \(String(describing: info["dtype"]))")
            }
            guard let shapeAny = info["shape"] as? [Any], let shape = ints(shapeAny), shape.allSatisfy({ $0 >= 0 })
            else {
                throw bad("tensor '\(name)' has an invalid shape")
            }
            guard let offAny = info["data_offsets"] as? [Any], let off = ints(offAny), off.count == 2 else {
                throw bad("tensor '\(name)' has invalid data_offsets")
            }
            guard off[0] >= 0, off[0] <= off[1], off[1] <= dataLength else {
                throw bad("tensor '\(name)' data_offsets \(off) fall outside the \(dataLength)-byte data section")
            }
            var count = 1
            for d in shape {
                let (m, o) = count.multipliedReportingOverflow(by: d)
                guard !o else { throw bad("tensor '\(name)' shape \(shape) overflows") }
                count = m
            }
            guard off[1] - off[0] == count * size else {
                throw bad(
                    "tensor '\(name)' has \(off[1] - off[0]) bytes but shape \(shape) of \(dtype) needs \(count * size)"
                )
            }
            entries[name] = SafetensorsEntry(name: name, dtype: dtype, shape: shape, begin: off[0], end: off[1])
        }
        // tensors must not overlap
        let sorted = entries.values.filter { $0.end > $0.begin }.sorted { $0.begin < $1.begin }
        for (a, b) in zip(sorted, sorted.dropFirst()) where b.begin < a.end {
            throw bad("tensors '\(a.name)' and '\(b.name)' overlap")
        }
        self.entries = entries
        metadata = meta
    }

    public var names: [String] { entries.keys.sorted() }

    /// Copies tensor `name` as Float32 into `out` (F32 only: embryo does not silently convert precision).
    public func read(_ name: String, into out: UnsafeMutablePointer<Float>, expectShape: [Int]? = nil) throws {
        guard let e = entries[name] else { throw EmbryoError.format(path, "missing tensor '\(name)'") }
        guard e.dtype == "F32" else {
            throw EmbryoError.format(path, "tensor '\(name)' has dtype \(e.dtype), expected F32")
        }
        if let s = expectShape, s != e.shape {
            throw EmbryoError.format(path, "tensor '\(name)' has shape \(e.shape), expected \(s)")
        }
        data.withUnsafeBytes { raw in
            let src = raw.baseAddress! + dataStart + e.begin
            UnsafeMutableRawPointer(out).copyMemory(from: src, byteCount: e.end - e.begin)
        }
    }

    /// A tensor as [Float] (F32, or integer dtypes converted, for fixtures and labels).
    public func floats(_ name: String) throws -> [Float] {
        guard let e = entries[name] else { throw EmbryoError.format(path, "missing tensor '\(name)'") }
        var out = [Float](repeating: 0, count: e.count)
        try data.withUnsafeBytes { raw in
            let src = raw.baseAddress! + dataStart + e.begin
            for i in 0..<e.count {
                switch e.dtype {
                case "F32": out[i] = src.loadUnaligned(fromByteOffset: 4 * i, as: Float.self)
                case "F64": out[i] = Float(src.loadUnaligned(fromByteOffset: 8 * i, as: Double.self))
                case "I64": out[i] = Float(src.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))
                case "I32": out[i] = Float(src.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))
                default:
                    throw EmbryoError.format(path, "tensor '\(name)' has dtype \(e.dtype), not readable as numbers")
                }
            }
        }
        return out
    }
}

private func ints(_ a: [Any]) -> [Int]? {
    var out: [Int] = []
    for v in a {
        if let n = v as? NSNumber, n.doubleValue == n.doubleValue.rounded(), abs(n.doubleValue) < 9e15 {
            out.append(n.intValue)
        } else {
            return nil
        }
    }
    return out
}

/// Writes F32 tensors as a safetensors file, atomically. `tensors` are (name, shape, pointer) in file order.
public func writeSafetensors(
    _ tensors: [(name: String, shape: [Int], data: UnsafePointer<Float>)], metadata: [String: String], to url: URL
) throws {
    try writeSafetensors(
        tensors.map { t in
            (t.name, "F32", t.shape, Data(buffer: UnsafeBufferPointer(start: t.data, count: t.shape.reduce(1, *))))
        }, metadata: metadata, to: url)
}

/// Writes I64 tensors (token ids, labels) as a safetensors file, atomically.
public func writeSafetensors(
    int64 tensors: [(name: String, shape: [Int], values: [Int64])], metadata: [String: String], to url: URL
)
    throws
{
    try writeSafetensors(
        tensors.map { t in (t.name, "I64", t.shape, t.values.withUnsafeBufferPointer { Data(buffer: $0) }) },
        metadata: metadata, to: url)
}

/// The file layout shared by both writers: header length, JSON header padded to 8 bytes, then the raw
/// little-endian bytes of each tensor in order.
func writeSafetensors(
    _ tensors: [(name: String, dtype: String, shape: [Int], bytes: Data)], metadata: [String: String], to url: URL
) throws {
    var header = "{"
    var first = true
    if !metadata.isEmpty {
        let pairs = metadata.keys.sorted().map { "\(jsonEscaped($0)):\(jsonEscaped(metadata[$0]!))" }
        header += "\"__metadata__\":{" + pairs.joined(separator: ",") + "}"
        first = false
    }
    var offset = 0
    for t in tensors {
        let bytes = t.bytes.count
        header +=
            (first ? "" : ",")
            + "\(jsonEscaped(t.name)):{\"dtype\":\"\(t.dtype)\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],"
            + "\"data_offsets\":[\(offset),\(offset + bytes)]}"
        first = false
        offset += bytes
    }
    header += "}"
    var headerData = Data(header.utf8)
    while (8 + headerData.count) % 8 != 0 { headerData.append(0x20) }  // pad so the data section is 8-aligned
    var out = Data(capacity: 8 + headerData.count + offset)
    var n = UInt64(headerData.count).littleEndian
    withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
    out.append(headerData)
    for t in tensors { out.append(t.bytes) }
    try writeAtomically(out, to: url)
}

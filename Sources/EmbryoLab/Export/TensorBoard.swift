// TensorBoard event files, written by hand: the format is a sequence of records, each
//   uint64 length (little-endian), uint32 masked CRC-32C of those 8 bytes, the payload, uint32 masked CRC-32C
//   of the payload,
// where the mask is ((crc >> 15) | (crc << 17)) + 0xa282ead8, and each payload is a protobuf `Event`:
//   1: wall_time (double), 2: step (int64), 3: file_version (string, "brain.Event:2" in the first record),
//   5: summary (Summary { repeated Value value = 1 }, Value { 1: tag (string), 2: simple_value (float) }).
// Only scalars are written. The output is a pure function of the values given (no clock, no host name),
// so exporting the same run twice gives the same bytes.

import EmbryoCore
import EmbryoRun
import Foundation

public enum TensorBoard {
    /// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as TensorBoard's record framing uses.
    public static func crc32c(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            crc = crcTable[Int((crc ^ UInt32(b)) & 0xFF)] ^ (crc >> 8)
        }
        return crc ^ 0xFFFF_FFFF
    }

    static let crcTable: [UInt32] = (0..<256).map { i -> UInt32 in
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
        return c
    }

    public static func maskedCRC(_ bytes: some Sequence<UInt8>) -> UInt32 {
        let c = crc32c(bytes)
        return ((c >> 15) | (c << 17)) &+ 0xA282_EAD8
    }

    /// One framed record around `payload`.
    public static func record(_ payload: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(payload.count + 16)
        let length = withUnsafeBytes(of: UInt64(payload.count).littleEndian) { Array($0) }
        out += length
        out += withUnsafeBytes(of: maskedCRC(length).littleEndian) { Array($0) }
        out += payload
        out += withUnsafeBytes(of: maskedCRC(payload).littleEndian) { Array($0) }
        return out
    }

    // protobuf wire format: key = field << 3 | wire type; 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32
    static func varint(_ v: UInt64) -> [UInt8] {
        var v = v, out: [UInt8] = []
        while v >= 0x80 {
            out.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
        return out
    }

    static func bytesField(_ field: UInt64, _ bytes: [UInt8]) -> [UInt8] {
        varint(field << 3 | 2) + varint(UInt64(bytes.count)) + bytes
    }

    /// An Event with its wall time, step, and either the file version or one scalar summary.
    public static func event(wallTime: Double, step: Int64, fileVersion: String? = nil, scalar: (String, Float)? = nil)
        -> [UInt8]
    {
        var e = varint(1 << 3 | 1) + withUnsafeBytes(of: wallTime.bitPattern.littleEndian) { Array($0) }
        if step != 0 { e += varint(2 << 3 | 0) + varint(UInt64(bitPattern: step)) }
        if let v = fileVersion { e += bytesField(3, Array(v.utf8)) }
        if let (tag, value) = scalar {
            let val =
                bytesField(1, Array(tag.utf8)) + varint(2 << 3 | 5)
                + withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) }
            e += bytesField(5, bytesField(1, val))
        }
        return e
    }

    /// One scalar point.
    public struct Point: Sendable, Equatable {
        public var tag: String
        public var step: Int
        public var value: Double
        public var wallTime: Double

        public init(tag: String, step: Int, value: Double, wallTime: Double) {
            (self.tag, self.step, self.value, self.wallTime) = (tag, step, value, wallTime)
        }
    }

    /// The bytes of an event file holding `points` (in the order given) after the version record.
    public static func file(_ points: [Point]) -> [UInt8] {
        var out = record(event(wallTime: points.first?.wallTime ?? 0, step: 0, fileVersion: "brain.Event:2"))
        for p in points {
            out += record(event(wallTime: p.wallTime, step: Int64(p.step), scalar: (p.tag, Float(p.value))))
        }
        return out
    }

    /// The name TensorBoard looks for: events.out.tfevents.<time>.<host>; fixed parts keep exports identical.
    public static let fileName = "events.out.tfevents.0000000000.embryo"

    /// A run's scalars: every numeric field of train_log.jsonl as train/FIELD (eval lines as they are
    /// named, e.g. train/eval_mlm_loss), and every probe metric as PROBE/KEY, each at its step. Wall time
    /// is the training log's elapsed seconds at that step (for probes, at the nearest logged step at or
    /// before it), so TensorBoard's relative-time axis shows training time.
    public static func points(run: Run, probes: URL? = nil) throws -> [Point] {
        var points: [Point] = []
        var elapsed: [(step: Int, s: Double)] = []
        let log = run.root.appendingPathComponent("train_log.jsonl")
        if FileManager.default.fileExists(atPath: log.path) {
            for (i, line) in try readFile(log).split(separator: 0x0A).enumerated() {
                guard let o = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any] else {
                    throw EmbryoError.format("\(log.path):\(i + 1)", "not a JSON object")
                }
                guard let step = o["step"] as? Int else { continue }
                let t = (o["elapsed_s"] as? Double) ?? elapsed.last?.s ?? 0
                elapsed.append((step, t))
                for key in o.keys.sorted() where key != "step" && key != "elapsed_s" {
                    guard let v = o[key] as? Double else { continue }
                    points.append(Point(tag: "train/\(key)", step: step, value: v, wallTime: t))
                }
            }
        }
        let metrics = (probes ?? run.probes).appendingPathComponent("metrics.jsonl")
        if FileManager.default.fileExists(atPath: metrics.path) {
            elapsed.sort { $0.step < $1.step }
            func wall(_ step: Int) -> Double { elapsed.last { $0.step <= step }?.s ?? 0 }
            for (i, line) in try readFile(metrics).split(separator: 0x0A).enumerated() {
                guard let o = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any],
                    let step = o["step"] as? Int, let probe = o["probe"] as? String, let key = o["key"] as? String,
                    let value = o["value"] as? Double
                else {
                    throw EmbryoError.format("\(metrics.path):\(i + 1)", "expected step, probe, key and value")
                }
                points.append(Point(tag: "\(probe)/\(key)", step: step, value: value, wallTime: wall(step)))
            }
        }
        return points
    }
}

// TensorBoard export: CRC-32C against its published check value, the event file of a fixed list of points
// against the committed fixture (which Scripts/check-tensorboard.py reads back with the tensorboard package),
// and an exported run whose records all frame and checksum correctly.

import EmbryoCore
import EmbryoLab
import EmbryoRun
import Foundation
import XCTest

final class TensorBoardTests: XCTestCase {
    var fixtures: URL {
        Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("tensorboard")
    }

    func testCRC32CCheckValue() {
        // the CRC catalogue's check value of CRC-32/ISCSI (Castagnoli) over "123456789"
        XCTAssertEqual(TensorBoard.crc32c(Array("123456789".utf8)), 0xE306_9283)
        XCTAssertEqual(TensorBoard.crc32c([]), 0)
    }

    func fixturePoints() throws -> [TensorBoard.Point] {
        let data = try Data(contentsOf: fixtures.appendingPathComponent("points.json"))
        let list = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        return try list.map {
            TensorBoard.Point(
                tag: try XCTUnwrap($0["tag"] as? String), step: try XCTUnwrap($0["step"] as? Int),
                value: try XCTUnwrap($0["value"] as? Double), wallTime: try XCTUnwrap($0["wall_time"] as? Double))
        }
    }

    func testFixedPointsGiveTheCommittedEventFile() throws {
        let bytes = TensorBoard.file(try fixturePoints())
        let fixture = fixtures.appendingPathComponent(TensorBoard.fileName)
        if ProcessInfo.processInfo.environment["EMBRYO_UPDATE_FIXTURES"] == "1" {
            try Data(bytes).write(
                to: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                    .appendingPathComponent("Fixtures/tensorboard/\(TensorBoard.fileName)"))
        }
        XCTAssertEqual(bytes, Array(try Data(contentsOf: fixture)))
        XCTAssertEqual(try records(bytes).count, 8)
    }

    /// The payloads of an event file, checking each record's framing and both checksums.
    func records(_ bytes: [UInt8]) throws -> [[UInt8]] {
        var out: [[UInt8]] = [], i = 0
        func u32(_ at: Int) -> UInt32 { bytes[at..<at + 4].reversed().reduce(0) { $0 << 8 | UInt32($1) } }
        while i < bytes.count {
            XCTAssertLessThanOrEqual(i + 12, bytes.count)
            let n = Int(bytes[i..<i + 8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
            XCTAssertEqual(u32(i + 8), TensorBoard.maskedCRC(bytes[i..<i + 8]), "length checksum at \(i)")
            let payload = Array(bytes[(i + 12)..<(i + 12 + n)])
            XCTAssertEqual(u32(i + 12 + n), TensorBoard.maskedCRC(payload), "payload checksum at \(i)")
            out.append(payload)
            i += 16 + n
        }
        XCTAssertEqual(i, bytes.count)
        return out
    }

    func testExportedRunHasTrainingAndProbeScalars() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("tb-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: tmp) }
        let run = Run(tmp)
        try FileManager.default.createDirectory(at: run.probes, withIntermediateDirectories: true)
        try """
        {"step":10,"loss":6.5,"lr":0.001,"elapsed_s":2.0}
        {"step":20,"loss":6.0,"lr":0.002,"elapsed_s":4.0,"eval_mlm_loss":5.5}

        """.write(to: tmp.appendingPathComponent("train_log.jsonl"), atomically: true, encoding: .utf8)
        try """
        {"step":0,"probe":"loss","key":"mlm_loss","value":9.0,"count":10}
        {"step":15,"probe":"loss","key":"mlm_loss","value":7.0,"count":10}

        """.write(to: run.probes.appendingPathComponent("metrics.jsonl"), atomically: true, encoding: .utf8)
        let points = try TensorBoard.points(run: run)
        XCTAssertEqual(
            points,
            [
                .init(tag: "train/loss", step: 10, value: 6.5, wallTime: 2),
                .init(tag: "train/lr", step: 10, value: 0.001, wallTime: 2),
                .init(tag: "train/eval_mlm_loss", step: 20, value: 5.5, wallTime: 4),
                .init(tag: "train/loss", step: 20, value: 6, wallTime: 4),
                .init(tag: "train/lr", step: 20, value: 0.002, wallTime: 4),
                .init(tag: "loss/mlm_loss", step: 0, value: 9, wallTime: 0),
                .init(tag: "loss/mlm_loss", step: 15, value: 7, wallTime: 2),
            ])
        XCTAssertEqual(try records(TensorBoard.file(points)).count, points.count + 1)
        // a damaged metrics line names its file and line
        try "{\"step\":0}\n".write(
            to: run.probes.appendingPathComponent("metrics.jsonl"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try TensorBoard.points(run: run)) {
            XCTAssertTrue("\($0)".contains("metrics.jsonl:1: expected step, probe, key and value"), "\($0)")
        }
    }
}

// Every command's --help against a committed snapshot in Help/, so a change to an option (its name,
// placeholder, default or help text) shows up in review. After an intended change, regenerate with
//   EMBRYO_UPDATE_HELP=1 swift test -c release --filter HelpSnapshotTests
// and commit the new snapshots.

import Foundation
import XCTest

final class HelpSnapshotTests: XCTestCase {
    let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Help")

    /// The subcommands as the top-level help lists them.
    func subcommands() throws -> [String] {
        let top = try runEmbryo(["--help"]).out
        guard let start = top.range(of: "SUBCOMMANDS:\n") else { return [] }
        return top[start.upperBound...].split(separator: "\n").compactMap { line in
            guard line.hasPrefix("  "), !line.hasPrefix("   "), !line.contains("See 'embryo") else { return nil }
            return line.split(separator: " ").first.map(String.init)
        }
    }

    func testEveryCommandsHelpMatchesItsSnapshot() throws {
        let names = try subcommands()
        XCTAssertGreaterThanOrEqual(names.count, 16, "the top-level help lists the subcommands")
        let update = ProcessInfo.processInfo.environment["EMBRYO_UPDATE_HELP"] == "1"
        for name in [""] + names {
            let r = try runEmbryo(name.isEmpty ? ["--help"] : [name, "--help"])
            XCTAssertEqual(r.code, 0, name)
            let file = folder.appendingPathComponent((name.isEmpty ? "embryo" : name) + ".txt")
            if update {
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                try r.out.write(to: file, atomically: true, encoding: .utf8)
                continue
            }
            let want = try String(contentsOf: file, encoding: .utf8)
            XCTAssertEqual(r.out, want, "embryo \(name) --help differs from Help/\(file.lastPathComponent)")
        }
        // no snapshot of a command that no longer exists
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".txt") }
        XCTAssertEqual(Set(files), Set((["embryo"] + names).map { $0 + ".txt" }))
    }

    func testAnOptionIsOneThingEverywhere() throws {
        // the same option name takes a value in every command, or in none
        var takesValue: [String: (Bool, String)] = [:]
        for name in try subcommands() {
            let help = try runEmbryo([name, "--help"]).out
            guard let usage = help.split(separator: "\n").first(where: { $0.hasPrefix("USAGE:") }) else { continue }
            let text = String(usage)
            let pattern = try NSRegularExpression(pattern: "--([a-z0-9-]+)( <[^>]+>)?")
            for m in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                let option = (text as NSString).substring(with: m.range(at: 1))
                let valued = m.range(at: 2).location != NSNotFound
                if option == "help" { continue }
                if let (seen, first) = takesValue[option] {
                    XCTAssertEqual(
                        seen, valued, "--\(option) takes a value in \(first) but not in \(name), or the reverse")
                } else {
                    takesValue[option] = (valued, name)
                }
            }
        }
        XCTAssertEqual(takesValue["resume"]?.0, true)
        XCTAssertEqual(takesValue["threads"]?.0, true)
    }

    func testFormerSpellingsStillWorkWithANotice() throws {
        let missing = "/nonexistent/embryo-run"
        // --checkpoints is a synonym of --run: accepted silently
        let p = try runEmbryo(["probe", "--checkpoints", missing])
        XCTAssertEqual(p.code, 1, p.err)
        XCTAssertTrue(p.err.contains("\(missing): no such directory"), p.err)
        XCTAssertFalse(p.err.contains("notice"), p.err)
        // a renamed option: accepted with a notice naming the new one, errors quote the spelling used
        let b = try runEmbryo(["batches", "--run", missing, "--steps", "x", "--out", "/tmp/never.safetensors"])
        XCTAssertEqual(b.code, 64, b.err)
        XCTAssertTrue(b.err.contains("notice: --steps is now --range"), b.err)
        XCTAssertTrue(b.err.contains("'--steps <list>'"), b.err)
        let a = try runEmbryo(["activations", "--run", missing, "--steps", "0", "--layer", "1", "--out", "/tmp/x"])
        XCTAssertTrue(a.err.contains("notice: --steps is now --snapshots"), a.err)
        // crosscode --resume takes the directory, like pretrain's; the former bare flag still works
        let c = try runEmbryo(["crosscode", "--activations", missing, "--resume", "--out", "/tmp/cc"])
        XCTAssertEqual(c.code, 1, c.err)
        XCTAssertTrue(c.err.contains(missing), c.err)
        let d = try runEmbryo(["crosscode", "--activations", missing, "--resume", "/tmp/a", "--out", "/tmp/b"])
        XCTAssertEqual(d.code, 64, d.err)
        XCTAssertTrue(d.err.contains("name different crosscoders"), d.err)
    }
}

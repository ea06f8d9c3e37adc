// Edits of the built-in world, checked on the edited text itself: every statement of an edited fact is
// counted in train.txt before and after (through the fact's every trained phrasing, with the old and the
// new object), and every other line must be unchanged and in order.

import EmbryoCore
import EmbryoText
import Foundation
import XCTest

final class WorldEditTests: XCTestCase {
    func testEveryEditIsAppliedExactly() throws {
        var sizes = WorldSizes()
        sizes.tokens = 40000
        let world = World(seed: 5, sizes: sizes)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("embryo-edit-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try world.write(to: dir.appendingPathComponent("parent"))
        let kb = world.knowledge
        let text = String(decoding: try Data(contentsOf: dir.appendingPathComponent("parent/train.txt")), as: UTF8.self)
        let statements = FactStatements(world)
        let before = statements.counts(text, facts: kb.facts.count)
        // the most stated facts of born_in, so every edit has statements to act on
        let bornIn = kb.facts.indices.filter { worldRelations[kb.facts[$0].relation].name == "born_in" }
            .sorted { before[$0] > before[$1] }
        let (removed, moved, halved) = (bornIn[0], bornIn[1], bornIn[2])
        let newObject = kb.facts.first {
            $0.object != kb.facts[moved].object && $0.relation == kb.facts[moved].relation
        }!
        .object
        let specs = [
            "remove:born_in:\(kb.facts[removed].subject)", "object:born_in:\(kb.facts[moved].subject)=\(newObject)",
            "frequency:born_in:\(kb.facts[halved].subject)=0.5", "frequency:speaks=3", "swap:works_as:7",
        ]
        let edits = try WorldEdit.parse(specs, world: world)
        let (b, a) = try world.writeEdited(
            from: dir.appendingPathComponent("parent"), to: dir.appendingPathComponent("child"), edits: edits)
        XCTAssertEqual(b, before)
        let edited = String(
            decoding: try Data(contentsOf: dir.appendingPathComponent("child/train.txt")), as: UTF8.self)

        // the new objects, as the edited facts/ lists them
        var objects = kb.facts.map(\.object)
        for e in edits { if case .object(let o) = e.change { objects[e.fact] = o } }
        let afterNew = FactStatements(world, objects: objects).counts(edited, facts: kb.facts.count)
        let afterOld = statements.counts(edited, facts: kb.facts.count)
        XCTAssertEqual(afterNew, a)
        XCTAssertGreaterThan(before[removed], 0)
        XCTAssertEqual(afterOld[removed], 0)
        XCTAssertEqual(afterNew[moved], before[moved])
        XCTAssertEqual(afterOld[moved], 0, "no statement keeps the old object")
        XCTAssertEqual(afterNew[halved], before[halved] / 2)
        let swapped = edits.filter { $0.spec.hasPrefix("swap") }
        XCTAssertEqual(swapped.count, 7)
        for e in swapped {
            guard case .object(let o) = e.change else { return XCTFail("a swap is an object edit") }
            XCTAssertNotEqual(o, kb.facts[e.fact].object)
            XCTAssertEqual(afterNew[e.fact], before[e.fact])
            XCTAssertEqual(afterOld[e.fact], 0)
        }
        for f in kb.facts.indices where worldRelations[kb.facts[f].relation].name == "speaks" {
            XCTAssertEqual(afterNew[f], 3 * before[f])
        }
        // untouched facts and every other line: the same, in the same order
        let touched = Set(edits.map(\.fact))
        for f in kb.facts.indices where !touched.contains(f) { XCTAssertEqual(afterNew[f], before[f]) }
        func others(_ t: String, _ s: FactStatements) -> [Substring] {
            t.split(separator: "\n").filter { s.statement(String($0)).map { touched.contains($0.fact) } != true }
        }
        XCTAssertEqual(others(text, statements), others(edited, FactStatements(world, objects: objects)))
        // the edited facts/ lists the new objects and counts; the parent's facts are kept beside them
        let lines = try String(contentsOf: dir.appendingPathComponent("child/facts/born_in.jsonl"), encoding: .utf8)
        XCTAssertTrue(lines.contains("\"sub_label\":\"\(kb.facts[moved].subject)\",\"obj_label\":\"\(newObject)\""))
        XCTAssertTrue(
            FileManager.default.fileExists(
                atPath: dir.appendingPathComponent("child/facts-before-edit/born_in.jsonl").path)
        )
    }

    func testBadEditsAreUsageErrors() {
        var sizes = WorldSizes()
        sizes.tokens = 5000
        let world = World(seed: 5, sizes: sizes)
        for (spec, message) in [
            ("remove:born_in:Nobody", "no born_in fact has the subject 'Nobody'"),
            ("remove:bornin:X", "unknown relation 'bornin'"),
            ("frequency:born_in=-1", "the factor must be"),
            ("object:born_in:\(world.knowledge.facts.first { $0.relation == 0 }!.subject)=two words", "one word"),
            ("rename:born_in:X", "not an edit"),
        ] {
            XCTAssertThrowsError(try WorldEdit.parse([spec], world: world), spec) { e in
                XCTAssertTrue("\(e)".contains(message), "\(spec): \(e)")
            }
        }
    }
}

// Names read from data files (a relation, a paradigm, a task) often become file names: `<name>.jsonl`
// beside the file that named them. Such a name must stay a name: no separators, no "." or "..", no
// control characters, so that a data file can never make embryo read or write outside its folder.

import EmbryoCore
import Foundation

public enum ConfinedName {
    /// Why `name` cannot be a file name, or nil when it can.
    public static func problem(_ name: String) -> String? {
        if name.isEmpty { return "is empty" }
        if name == "." || name == ".." { return "is '\(name)', a folder, not a name" }
        if name.contains("/") || name.contains("\\") { return "contains a path separator" }
        if name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            return "contains a control character (a newline, a tab, a NUL...)"
        }
        if name.utf8.count > 200 { return "is longer than 200 bytes" }
        return nil
    }

    /// `name` when it can be a file name; otherwise an error naming `place` (file:line) and `what` it is.
    public static func check(_ name: String, at place: String, what: String) throws -> String {
        if let p = problem(name) {
            throw EmbryoError.format(place, "the \(what) \(String(reflecting: name)) \(p): a name cannot be a path")
        }
        return name
    }
}

// Tab-separated tables as GLUE ships them: one row per line, no quoting, optional header row. Every row
// must have the header's (or the first row's) number of columns; errors name the file and line.

import EmbryoCore
import Foundation

public struct TsvTable: Sendable {
    public var path: String
    public var header: [String]?
    public var rows: [[String]]
    /// 1-based file line of each row, for messages.
    public var lines: [Int]

    public func column(_ name: String) -> Int? { header?.firstIndex(of: name) }
}

public enum Tsv {
    public static func read(_ url: URL, header: Bool) throws -> TsvTable {
        let data = try readFile(url)
        guard let text = String(data: data, encoding: .utf8) else {
            throw EmbryoError.format(url.path, "not valid UTF-8")
        }
        var table = TsvTable(path: url.path, header: nil, rows: [], lines: [])
        var width: Int? = nil
        for (i, line) in textLines(text).enumerated() {
            if line.isEmpty { continue }
            let cols = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            if let w = width, cols.count != w {
                throw EmbryoError.format(
                    "\(url.path):\(i + 1)", "expected \(w) tab-separated columns, found \(cols.count)")
            }
            width = cols.count
            if header && table.header == nil {
                table.header = cols
            } else {
                table.rows.append(cols)
                table.lines.append(i + 1)
            }
        }
        guard table.header != nil || !table.rows.isEmpty else { throw EmbryoError.format(url.path, "empty table") }
        return table
    }
}

// Small JSON writers for the line-oriented files embryo emits (logs, jsonl, bench results): keys stay in
// the order given, floats print as shortest round-trip decimals, strings are escaped per RFC 8259.

import Foundation

/// A JSON string literal for s.
public func jsonEscaped(_ s: String) -> String {
    var r = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": r += "\\\""
        case "\\": r += "\\\\"
        case "\n": r += "\\n"
        case "\r": r += "\\r"
        case "\t": r += "\\t"
        default:
            if u.value < 0x20 { r += String(format: "\\u%04x", u.value) } else { r.unicodeScalars.append(u) }
        }
    }
    return r + "\""
}

/// One JSON object on one line, keys in the given order. Values: String, Int, Float, Double, Bool,
/// arrays of those; anything else (and non-finite numbers) becomes null.
public func jsonLine(_ pairs: [(String, Any)]) -> String {
    func enc(_ v: Any) -> String {
        switch v {
        case let s as String: return jsonEscaped(s)
        case let i as Int: return String(i)
        case let f as Float: return f.isFinite ? "\(f)" : "null"
        case let d as Double: return d.isFinite ? (d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : "\(d)") : "null"
        case let b as Bool: return b ? "true" : "false"
        case let o as [(String, Any)]: return jsonLine(o)
        case let a as [Any]: return "[" + a.map(enc).joined(separator: ",") + "]"
        default: return "null"
        }
    }
    return "{" + pairs.map { "\(jsonEscaped($0.0)):\(enc($0.1))" }.joined(separator: ",") + "}"
}

/// FNV-1a (64-bit) of the UTF-8 bytes: a stable seed offset or cache key, the same on every run and platform.
public func stableHash(_ s: String) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in s.utf8 {
        h ^= UInt64(b)
        h = h &* 0x100_0000_01b3
    }
    return h
}

/// The JSON objects of a JSON-lines text, one per line; blank lines and lines that are not objects are
/// skipped (a log cut short by a kill ends in a partial line).
public func jsonObjectLines(_ data: Data) -> [[String: Any]] {
    textLines(String(decoding: data, as: UTF8.self)).compactMap { line in
        line.isEmpty ? nil : (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
    }
}

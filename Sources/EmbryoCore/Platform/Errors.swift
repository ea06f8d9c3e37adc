// Errors embryo reports to users: each names the file (and what was expected) so the CLI can print
// one clear `Error:` line. Also: atomic file writes (temp file, fsync, rename) for everything we save.

import Foundation

public enum EmbryoError: Error, CustomStringConvertible, Equatable {
    case invalidConfig(String)
    case io(String, String)
    case format(String, String)
    case usage(String)
    case runtime(String)
    /// Stopped by Ctrl-C or SIGTERM before anything worth keeping was made (the CLI exits 130).
    case interrupted(String)

    public var description: String {
        switch self {
        case .invalidConfig(let s): return "invalid model config: \(s)"
        case .io(let path, let s): return "\(path): \(s)"
        case .format(let path, let s): return "\(path): \(s)"
        case .usage(let s): return s
        case .runtime(let s): return s
        case .interrupted(let s): return s
        }
    }
}

/// The operating system's words for a failed file operation ("No space left on device"), where Foundation
/// would say only that "the operation could not be completed".
public func systemReason(_ error: Error) -> String {
    let ns = error as NSError
    if let u = ns.userInfo[NSUnderlyingErrorKey] as? NSError, u.domain == NSPOSIXErrorDomain {
        return String(cString: strerror(Int32(u.code)))
    }
    if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
    return ns.localizedDescription
}

/// A short, readable rendering of a DecodingError (which field, what was wrong).
public func describe(_ error: Error) -> String {
    guard let e = error as? DecodingError else { return "\(error)" }
    func path(_ c: [CodingKey]) -> String {
        c.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
    switch e {
    case .typeMismatch(let t, let c): return "field '\(path(c.codingPath))' should be \(t)"
    case .valueNotFound(let t, let c): return "field '\(path(c.codingPath))' is missing a \(t) value"
    case .keyNotFound(let k, let c): return "missing field '\(path(c.codingPath + [k]))'"
    case .dataCorrupted(let c):
        return "invalid JSON\(c.codingPath.isEmpty ? "" : " at '\(path(c.codingPath))'"): \(c.debugDescription)"
    @unknown default: return "\(e)"
    }
}

/// Writes data to a temporary file beside `url`, flushes it to disk and renames it into place, so a
/// reader never sees a half-written file.
public func writeAtomically(_ data: Data, to url: URL) throws {
    let dir = url.deletingLastPathComponent()
    // unique per writer, also across machines sharing a file system (job-array shards writing one cache)
    let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(writerTag())")
    guard FileManager.default.createFile(atPath: tmp.path, contents: nil) else {
        throw EmbryoError.io(tmp.path, "cannot create file")
    }
    do {
        let h = try FileHandle(forWritingTo: tmp)
        try h.write(contentsOf: data)
        try h.synchronize()
        try h.close()
        if rename(tmp.path, url.path) != 0 {
            throw EmbryoError.io(url.path, "cannot rename into place: \(String(cString: strerror(errno)))")
        }
    } catch let e as EmbryoError {
        try? FileManager.default.removeItem(at: tmp)
        throw e
    } catch {
        try? FileManager.default.removeItem(at: tmp)
        throw EmbryoError.io(url.path, "write failed: \(systemReason(error))")
    }
}

/// Host name, process id and a random number: a temporary file name no other writer uses.
public func writerTag() -> String {
    var host = [CChar](repeating: 0, count: 256)
    let name = gethostname(&host, host.count - 1) == 0 ? String(cString: host) : "host"
    let safe = name.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" }
    return "\(String(safe))-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
}

/// Reads a whole file, with errors that say what is wrong with the path.
public func readFile(_ url: URL, mapped: Bool = false) throws -> Data {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else {
        throw EmbryoError.io(url.path, "no such file")
    }
    guard !isDir.boolValue else { throw EmbryoError.io(url.path, "is a directory, expected a file") }
    do { return try Data(contentsOf: url, options: mapped ? .mappedIfSafe : []) } catch {
        throw EmbryoError.io(url.path, "cannot read: \(error.localizedDescription)")
    }
}

/// Lines of a text split on "\n" with one trailing "\r" removed from each. Splits on Unicode scalars:
/// Swift's Character view treats "\r\n" as a single character, so String.split(separator: "\n") would
/// not split Windows line endings.
public func textLines(_ text: String) -> [String] {
    text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { slice in
        var s = String(String.UnicodeScalarView(slice))
        if s.unicodeScalars.last == "\r" { s.unicodeScalars.removeLast() }
        return s
    }
}

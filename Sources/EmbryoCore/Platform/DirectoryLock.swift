// An exclusive lock on a directory that a command writes into: flock(2) on `<dir>/.lock`, held while the
// object lives and released by the kernel when the process dies (even by kill -9), so a stale lock never
// blocks anyone. The holder's pid is written into the file for the error message of the next comer.

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

public final class DirectoryLock {
    public let url: URL
    private let fd: Int32

    /// Takes the lock, creating the directory if needed; throws at once when another process holds it.
    public init(_ dir: URL, purpose: String) throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        url = dir.appendingPathComponent(".lock")
        fd = open(url.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw EmbryoError.io(url.path, "cannot create the lock file: \(String(cString: strerror(errno)))")
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let busy = errno == EWOULDBLOCK
            let reason = String(cString: strerror(errno))
            var buf = [UInt8](repeating: 0, count: 64)
            let n = pread(fd, &buf, 63, 0)
            let holder =
                n > 0
                ? String(decoding: buf[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "?"
            close(fd)
            if busy {
                throw EmbryoError.runtime(
                    "\(dir.path) is in use by another embryo process (pid \(holder)); \(purpose) needs it to itself")
            }
            throw EmbryoError.io(url.path, "cannot lock: \(reason)")
        }
        let pid = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = pid.withCString { pwrite(fd, $0, strlen($0), 0) }
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}

/// Removes the temporary files and directories that an interrupted writer left in `dir` (hidden names
/// containing ".tmp", as writeAtomically and the checkpoint writers make them). Call it only while holding
/// the directory's lock, so no live writer's temporaries are touched.
public func removeStaleTemporaries(in dir: URL) {
    let fm = FileManager.default
    guard let names = try? fm.contentsOfDirectory(atPath: dir.path) else { return }
    for n in names where n.hasPrefix(".") && n.contains(".tmp") {
        try? fm.removeItem(at: dir.appendingPathComponent(n))
    }
}

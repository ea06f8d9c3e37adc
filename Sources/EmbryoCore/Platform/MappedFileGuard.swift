// A file mapped into memory that shrinks under the mapping (truncated or replaced by another process)
// raises SIGBUS at the next read of a lost page. The handler turns that into a message naming the file
// and an exit, instead of a crash report: the run's last saved snapshot and state stay resumable.

import Foundation

nonisolated(unsafe) private var guardMessage: UnsafeMutablePointer<CChar>? = nil
nonisolated(unsafe) private var guardMessageLength = 0

/// From now on a SIGBUS prints `message` (one line) to stderr and exits with status 1. Only writes and
/// _exit run inside the handler, which is what a signal handler may do.
public func installMappedFileGuard(_ message: String) {
    let line = "Error: " + message + "\n"
    let bytes = Array(line.utf8)
    let p = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count)
    for (i, b) in bytes.enumerated() { p[i] = CChar(bitPattern: b) }
    // a message once installed is never freed: the handler may be reading it
    guardMessage = nil
    guardMessageLength = bytes.count
    guardMessage = p
    signal(SIGBUS) { _ in
        if let m = guardMessage { _ = write(2, m, guardMessageLength) }
        _exit(1)
    }
}

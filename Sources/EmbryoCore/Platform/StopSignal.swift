// Ctrl-C and SIGTERM for long jobs (pretraining, probing with --watch, crosscoder training): the handler
// only raises a flag, and the job checks it between steps, saves what it has and exits 130.

import Foundation

/// Set by SIGINT/SIGTERM once `installStopHandlers()` ran; checked by long jobs between their steps.
nonisolated(unsafe) public var stopRequested: Int32 = 0

public func installStopHandlers() {
    signal(SIGINT) { _ in stopRequested = 1 }
    signal(SIGTERM) { _ in stopRequested = 1 }
}

// Progress reporting on stderr: a live, rewritten line on a terminal; plain lines at most every
// `interval` seconds otherwise (logs, CI). Results never go through here.

import Foundation

final class Progress {
    let label: String
    let total: Int
    let interval: Double
    private let start = Date()
    private var lastPrint = Date.distantPast
    private var finishedShown = false
    private var first: (time: Date, done: Int)? = nil
    private let isTerminal = isatty(STDERR_FILENO) == 1

    /// Seconds since the progress began.
    var elapsed: Double { Date().timeIntervalSince(start) }

    init(_ label: String, total: Int, interval: Double = 10) {
        self.label = label
        self.total = total
        self.interval = interval
    }

    /// Reports `done` of `total` with an optional detail ("loss 3.2, 18k tok/s") and an ETA.
    func update(_ done: Int, _ detail: String = "") {
        let now = Date()
        let elapsed = now.timeIntervalSince(start)
        let finished = done >= total
        if finished && finishedShown { return }
        guard finished || now.timeIntervalSince(lastPrint) >= (isTerminal ? 0.1 : interval) else { return }
        finishedShown = finished
        lastPrint = now
        // the rate since the first report, so set-up time before the loop does not inflate the ETA
        if first == nil { first = (now, done) }
        let rateSpan = now.timeIntervalSince(first!.time), rateDone = done - first!.done
        let eta =
            rateDone > 0 && !finished
            ? ", ETA \(formatDuration(rateSpan / Double(rateDone) * Double(total - done)))" : ""
        let line = "\(label) \(done)/\(total)\(detail.isEmpty ? "" : ", " + detail), \(formatDuration(elapsed))\(eta)"
        if isTerminal {
            writeStandardError("\r\u{1B}[K" + line + (finished ? "\n" : ""))
        } else {
            writeStandardError(line + "\n")
        }
    }
}

func formatDuration(_ s: Double) -> String {
    if s < 60 { return String(format: "%.1fs", s) }
    let m = Int(s) / 60
    return m < 60 ? "\(m)m\(String(format: "%02d", Int(s) % 60))s" : "\(m / 60)h\(String(format: "%02d", m % 60))m"
}

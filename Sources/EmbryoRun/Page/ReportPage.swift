// What a section of a run's report page is drawn from: the metrics of its probes folder (probes and
// downstream), the report's settings, the folder and the run. Every part of the lab that has a section
// takes one of these; RunReport assembles the page.

import EmbryoCore
import Foundation

/// The settings of a report: what was probed, on what.
public struct ReportInfo: Codable, Sendable {
    public var title: String
    public var checkpoints: String
    public var pos: String?
    public var posTrain: String?
    public var facts: String?
    public var heldOut: String
    public var maxSentences: Int
    public var trainLog: URL?

    public init(
        title: String, checkpoints: String, pos: String?, posTrain: String?, facts: String?, heldOut: String,
        maxSentences: Int, trainLog: URL?
    ) {
        self.title = title
        self.checkpoints = checkpoints
        self.pos = pos
        self.posTrain = posTrain
        self.facts = facts
        self.heldOut = heldOut
        self.maxSentences = maxSentences
        self.trainLog = trainLog
    }
}

public struct ReportPage {
    public var metrics: [ProbeMetric]
    public var info: ReportInfo
    public var folder: URL
    public var run: Run

    public init(metrics: [ProbeMetric], info: ReportInfo, folder: URL, run: Run) {
        self.metrics = metrics
        self.info = info
        self.folder = folder
        self.run = run
    }
}

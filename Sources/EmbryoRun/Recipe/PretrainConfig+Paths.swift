// The files a recipe names (corpus, vocabulary, a model config.json): made absolute when a run or a suite
// records them, so that they mean the same from any working directory, and hashed where a later command
// reads them again, so that a resume finds the same contents or says what changed.

import EmbryoCore
import Foundation

/// A file a recipe named, with its contents' hash when it was recorded.
public struct RecordedFile: Codable, Sendable, Equatable {
    public var path: String
    public var fnv1a64: String

    public init(path: String, fnv1a64: String) { (self.path, self.fnv1a64) = (path, fnv1a64) }

    /// Throws when a recorded file is gone or its contents changed, naming it and `owner` (the run or
    /// suite that recorded it).
    public static func checkUnchanged(_ files: [RecordedFile], owner: String) throws {
        for f in files {
            guard FileManager.default.fileExists(atPath: f.path) else {
                throw EmbryoError.runtime("\(owner) was made from \(f.path), which is gone; put it back to continue")
            }
            let (_, now) = try hashFile(f.path)
            guard now == f.fnv1a64 else {
                throw EmbryoError.runtime(
                    "\(owner) was made from \(f.path), which has changed since (fnv1a64 \(now) now, \(f.fnv1a64) "
                        + "when recorded); restore it to continue")
            }
        }
    }
}

extension PretrainConfig {
    /// True when `config` names a config.json rather than a preset.
    public var configIsFile: Bool { AlbertConfig.preset(config, vocabSize: 1) == nil }

    /// The same settings with the corpus, vocabulary and config paths absolute.
    public func withAbsolutePaths() -> PretrainConfig {
        func absolute(_ p: String) -> String { URL(fileURLWithPath: p).standardizedFileURL.path }
        var c = self
        c.corpus = corpus.map(absolute)
        c.vocab = vocab.map(absolute)
        if configIsFile { c.config = absolute(config) }
        return c
    }

    /// Every path the settings read from: corpus files, the vocabulary and a config file.
    public var inputPaths: [String] { corpus + [vocab].compactMap { $0 } + (configIsFile ? [config] : []) }

    /// The vocabulary and config files the settings name (the corpus has its own record), hashed now.
    public func recordNamedFiles() throws -> [RecordedFile] {
        try ([vocab].compactMap { $0 } + (configIsFile ? [config] : [])).map {
            RecordedFile(path: $0, fnv1a64: try hashFile($0).1)
        }
    }
}

import Logging
import RevenueCore

/// Receives progress of a long stage. The CLI renders it as a bar on a terminal and as periodic log
/// lines otherwise; tests and library callers can pass `NoProgress()`.
public protocol ProgressSink: Sendable {
  /// A new phase starts (`"transform invoices"`); `total` is the expected count when known.
  func begin(_ label: String, total: Int?)
  /// `count` more items are done.
  func advance(by count: Int)
  /// The phase is over.
  func end()
}

public struct NoProgress: ProgressSink {
  public init() {}
  public func begin(_ label: String, total: Int?) {}
  public func advance(by count: Int) {}
  public func end() {}
}

/// Everything a stage needs: the pipeline file, the environment, the run folder, a logger and a
/// progress sink. Stages get no other global state, so each can be driven from tests and files alone.
public struct StageContext: Sendable {
  public let pipeline: PipelineFile
  public let environment: Environment
  public let area: StagingArea
  public let run: RunFolder
  public let logger: Logger
  public let progress: any ProgressSink

  public init(
    pipeline: PipelineFile, environment: Environment, area: StagingArea, run: RunFolder, logger: Logger,
    progress: any ProgressSink = NoProgress()
  ) {
    self.pipeline = pipeline
    self.environment = environment
    self.area = area
    self.run = run
    self.logger = logger
    self.progress = progress
  }
}

/// What a finished stage reports back for the one-screen summary, `run.json` and the exit code.
public struct StageResult: Sendable {
  public var stage: String
  public var accounting: Accounting
  /// Extra summary lines (`out: customers 8,204 plans 6 …`, `rejects: unmapped_plan 73 …`).
  public var lines: [String]
  /// Machine-readable details for `run.json` / `status --json` (figures, merges, load stats …).
  public var details: JSONObject
  /// Did the stage leave records failed or rejected (exit code 1)?
  public var hasFailures: Bool { accounting.failed > 0 || accounting.rejected > 0 }

  public init(stage: String, accounting: Accounting, lines: [String] = [], details: JSONObject = JSONObject()) {
    self.stage = stage
    self.accounting = accounting
    self.lines = lines
    self.details = details
  }
}

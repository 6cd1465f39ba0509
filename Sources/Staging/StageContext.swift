import Logging
import RevenueCore

/// Everything a stage needs: the parsed configuration (pipeline file + environment), the run folder,
/// a logger and a progress sink. Stages get no other global state, so each can be driven from tests
/// and files alone.
public struct StageContext: Sendable {
  /// The pipeline file parsed once; stages read their section with `configuration.section(_:)`.
  public let configuration: PipelineConfiguration
  public var pipeline: PipelineFile { configuration.pipeline }
  public var environment: Environment { configuration.environment }
  public let area: StagingArea
  public let run: RunFolder
  public let logger: Logger
  public let progress: any ProgressSink

  public init(
    configuration: PipelineConfiguration, area: StagingArea, run: RunFolder, logger: Logger,
    progress: any ProgressSink = NoProgress()
  ) {
    self.configuration = configuration
    self.area = area
    self.run = run
    self.logger = logger
    self.progress = progress
  }

  /// A context with its own configuration value (tests and single-stage callers).
  public init(
    pipeline: PipelineFile, environment: Environment, area: StagingArea, run: RunFolder, logger: Logger,
    progress: any ProgressSink = NoProgress()
  ) {
    self.init(
      configuration: PipelineConfiguration(pipeline: pipeline, environment: environment), area: area, run: run,
      logger: logger, progress: progress)
  }
}

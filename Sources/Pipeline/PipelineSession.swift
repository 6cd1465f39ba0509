import Extract
import Foundation
import Load
import Logging
import RevenueCore
import Staging
import Transform
import Validate

/// A pipeline file opened for one command: parsed and checked once into a `PipelineConfiguration`
/// and, for the demo, pointed at a ChartMogul stand-in the caller started.
///
/// Every section is checked up front so a typo fails before any work starts (README "Pipeline
/// file"): sources, transform and destination always; the destination's environment variables only
/// when a command talks to ChartMogul.
public final class PipelineSession: Sendable {
  public let configuration: PipelineConfiguration
  public var pipeline: PipelineFile { configuration.pipeline }
  public var environment: Environment { configuration.environment }
  public let area: StagingArea
  public let logger: Logger
  public let progress: any ProgressSink
  /// The ChartMogul stand-in (demo sandbox) this session talks to, stopped by `close()`.
  public let standIn: (any ChartMogulStandIn)?

  /// Keys of the `destination` section; `chartmogul` belongs to Load, `sandbox` to `DemoSandboxSettings`.
  static let destinationKeys = ["chartmogul", "sandbox"]

  init(
    configuration: PipelineConfiguration, area: StagingArea, logger: Logger, progress: any ProgressSink,
    standIn: (any ChartMogulStandIn)?
  ) {
    self.configuration = configuration
    self.area = area
    self.logger = logger
    self.progress = progress
    self.standIn = standIn
  }

  /// Opens a pipeline file and checks every section a command needs.
  /// - Parameters:
  ///   - needsDestination: the command talks to ChartMogul: check `destination` fully, and start the
  ///     demo sandbox when `destination.sandbox` is enabled.
  ///   - startSandbox: starts the demo sandbox from its settings (the CLI passes one); without it an
  ///     enabled `destination.sandbox` is a configuration error for commands that need a destination.
  public static func open(
    path: String, environment: Environment, logger: Logger, progress: any ProgressSink = NoProgress(),
    needsDestination: Bool,
    startSandbox: (@Sendable (DemoSandboxSettings) async throws -> any ChartMogulStandIn)? = nil
  ) async throws -> PipelineSession {
    var pipeline = try PipelineFile.load(path: path, environment: environment)
    var environment = environment
    _ = try StagingArea(stagingRoot: pipeline.stagingRoot, pipeline: pipeline.name)
    try ExtractStage.validateConfig(pipeline, environment: environment)
    _ = try TransformStage.validateConfig(pipeline)
    let sandbox = try DemoSandboxSettings.parse(pipeline)
    var standIn: (any ChartMogulStandIn)?
    if needsDestination, let sandbox {
      guard let startSandbox else {
        throw ConfigurationError(
          "\(path): destination.sandbox is enabled but this caller cannot start the demo sandbox; run it with the chartmogul-etl CLI or set enabled: false"
        )
      }
      if let stateFile = sandbox.stateFile {
        try FileSystem.makeDirectory((stateFile as NSString).deletingLastPathComponent)
      }
      let server = try await startSandbox(sandbox)
      standIn = server
      var values = environment.values
      values["CHARTMOGUL_API_URL"] = server.baseURL
      values["CHARTMOGUL_API_KEY"] = server.apiKey
      values["CHARTMOGUL_DATA_SOURCE_ID"] = server.dataSourceUUID
      environment = Environment(values)
      do {
        pipeline = try PipelineFile.load(path: path, environment: environment)
      } catch {
        await server.stop()
        throw error
      }
      logger.info("started the in-process ChartMogul sandbox at \(server.baseURL)")
    }
    let area = try StagingArea(stagingRoot: pipeline.stagingRoot, pipeline: pipeline.name)
    let session = PipelineSession(
      configuration: PipelineConfiguration(pipeline: pipeline, environment: environment), area: area,
      logger: logger, progress: progress, standIn: standIn)
    do {
      if needsDestination {
        try session.checkDestination()
      } else if pipeline.root.has("destination") {
        try session.lintDestination()
      }
    } catch {
      await session.close()
      throw error
    }
    return session
  }

  /// A command that does not talk to ChartMogul still refuses a destination with a typo, a wrong
  /// type or an out-of-range value; only environment variables it does not need may be unset.
  func lintDestination() throws {
    let checks: [() throws -> Void] = [
      { _ = try self.configuration.section(LoadConfig.self) },
      { _ = try self.configuration.section(ValidateConfig.self) },
    ]
    for check in checks {
      do {
        try check()
      } catch let error as ConfigError where error.missingEnvironment {
        logger.debug("destination not fully checked: \(error.description)")
      }
    }
  }

  /// Checks the ChartMogul destination settings (commands that load or validate). Each section is
  /// parsed once; later calls return the same value.
  public func checkDestination() throws {
    _ = try configuration.section(LoadConfig.self)
    _ = try configuration.section(ValidateConfig.self)
  }

  public func context(run: RunFolder) -> StageContext {
    StageContext(
      configuration: configuration, area: area, run: run,
      logger: logger.with(metadata: ["run.id": "\(run.id)", "pipeline": "\(pipeline.name)"]), progress: progress)
  }

  public func close() async {
    if let standIn { await standIn.stop() }
  }
}

extension Logger {
  /// A copy with extra metadata.
  public func with(metadata extra: Logger.Metadata) -> Logger {
    var copy = self
    for (k, v) in extra { copy[metadataKey: k] = v }
    return copy
  }
}

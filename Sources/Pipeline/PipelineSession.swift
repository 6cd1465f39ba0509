import Extract
import Foundation
import Load
import Logging
import Validate
import RevenueCore
import Sandbox
import Staging
import Transform

/// A pipeline file opened for one command: parsed, checked, and (for the demo) connected to an
/// in-process Sandbox.
///
/// Every section is checked up front so a typo fails before any work starts (DESIGN.md §4): sources,
/// transform and destination always; the destination's environment variables only when a command
/// talks to ChartMogul.
public final class PipelineSession: @unchecked Sendable {
  // Immutable after `open`, except `sandbox`, which only `open`/`close` touch on the calling task.
  public private(set) var pipeline: PipelineFile
  public private(set) var environment: Environment
  public let area: StagingArea
  public let logger: Logger
  public let progress: any ProgressSink
  /// The in-process ChartMogul stand-in when `destination.sandbox.enabled` is true.
  public private(set) var sandbox: SandboxServer?

  /// Keys of the `destination` section; `chartmogul` belongs to Load, `sandbox` to this file.
  static let destinationKeys = ["chartmogul", "sandbox"]
  static let sandboxKeys = [
    "enabled", "port", "api_key", "data_source_uuid", "state_file", "fx", "account_currency", "auto_churn_days",
  ]

  init(
    pipeline: PipelineFile, environment: Environment, area: StagingArea, logger: Logger, progress: any ProgressSink
  ) {
    self.pipeline = pipeline
    self.environment = environment
    self.area = area
    self.logger = logger
    self.progress = progress
  }

  /// Opens a pipeline file and checks every section a command needs.
  /// - Parameter needsDestination: start the sandbox (when configured) and check `destination`.
  public static func open(
    path: String, environment: Environment, logger: Logger, progress: any ProgressSink = NoProgress(),
    needsDestination: Bool
  ) async throws -> PipelineSession {
    let pipeline = try PipelineFile.load(path: path, environment: environment)
    let area = try StagingArea(stagingRoot: pipeline.stagingRoot, pipeline: pipeline.name)
    let session = PipelineSession(
      pipeline: pipeline, environment: environment, area: area, logger: logger, progress: progress)
    try ExtractStage.validateConfig(pipeline, environment: environment)
    _ = try TransformStage.validateConfig(pipeline)
    let destination = try pipeline.section("destination", allowed: destinationKeys)
    if needsDestination, let sandboxConfig = try destination?.mapping("sandbox", allowed: sandboxKeys),
      try sandboxConfig.bool("enabled", default: true)
    {
      try await session.startSandbox(sandboxConfig, path: path)
    }
    if !needsDestination, destination != nil { try session.lintDestination() }
    return session
  }

  /// A command that does not talk to ChartMogul still refuses a destination with a typo, a wrong
  /// type or an out-of-range value; only environment variables it does not need may be unset.
  func lintDestination() throws {
    let checks: [() throws -> Void] = [
      { _ = try LoadStage.validateConfig(self.pipeline, environment: self.environment) },
      { _ = try ValidateStage.validateConfig(self.pipeline, environment: self.environment) },
    ]
    for check in checks {
      do {
        try check()
      } catch let error as ConfigError where error.missingEnvironment {
        logger.debug("destination not fully checked: \(error.description)")
      }
    }
  }

  /// Starts the in-process Sandbox and re-reads the pipeline with `CHARTMOGUL_API_URL`,
  /// `CHARTMOGUL_API_KEY` and `CHARTMOGUL_DATA_SOURCE_ID` pointing at it.
  func startSandbox(_ config: ConfigMapping, path: String) async throws {
    let dataSourceUUID = try config.string("data_source_uuid") ?? "ds_sandbox-demo-0000-0000-000000000001"
    var fx: [String: Double] = [:]
    if let fxMap = try config.mapping("fx", allowed: nil) {
      for key in fxMap.keys {
        fx[key.uppercased()] = try fxMap.double(key, default: 0, range: 0.000_000_1...1_000_000)
      }
    }
    var options = SandboxOptions()
    options.port = try config.int("port", default: 0, range: 0...65535)
    options.apiKey = try config.string("api_key") ?? "sandbox-demo-key"
    options.dataSources = [(name: "chartmogul-etl \(pipeline.name)", uuid: dataSourceUUID)]
    options.stateFile = try config.string("state_file")
    if let stateFile = options.stateFile {
      try FileSystem.makeDirectory((stateFile as NSString).deletingLastPathComponent)
    }
    options.fx = fx
    options.accountCurrency = try config.string("account_currency") ?? "USD"
    options.autoChurnDays = try config.optionalInt("auto_churn_days", range: 1...90)
    let server = try await SandboxServer.start(options)
    sandbox = server
    var values = environment.values
    values["CHARTMOGUL_API_URL"] = server.baseURL
    values["CHARTMOGUL_API_KEY"] = server.apiKey
    values["CHARTMOGUL_DATA_SOURCE_ID"] = dataSourceUUID
    environment = Environment(values)
    pipeline = try PipelineFile.load(path: path, environment: environment)
    logger.info("started the in-process ChartMogul sandbox at \(server.baseURL)")
  }

  /// Checks the ChartMogul destination settings (commands that load or validate).
  public func checkDestination() throws {
    _ = try LoadStage.validateConfig(pipeline, environment: environment)
    _ = try ValidateStage.validateConfig(pipeline, environment: environment)
  }

  public func context(run: RunFolder) -> StageContext {
    StageContext(
      pipeline: pipeline, environment: environment, area: area, run: run,
      logger: logger.with(metadata: ["run.id": "\(run.id)", "pipeline": "\(pipeline.name)"]), progress: progress)
  }

  public func close() async {
    if let sandbox { await sandbox.stop() }
    sandbox = nil
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

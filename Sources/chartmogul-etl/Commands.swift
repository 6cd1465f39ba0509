import ArgumentParser
import Foundation
import Logging
import Pipeline
import RevenueCore
import Staging

/// Options every pipeline command shares.
struct PipelineOptions: ParsableArguments {
  @Option(name: .long, help: "Pipeline file (YAML), e.g. pipelines/nightly.yaml.")
  var pipeline: String

  @Option(name: .long, help: ArgumentHelp("Log level: trace, debug, info, notice, warning, error.", valueName: "level"))
  var logLevel: String = "info"

  @Flag(name: .long, help: "Log lines instead of a progress bar, even on a terminal.")
  var noProgress = false

  @Option(name: .long, help: ArgumentHelp("Log format: text, or json (one object per line).", valueName: "format"))
  var logFormat: String = "text"

  func makeLogger() throws -> Logger {
    guard let level = Logger.Level(rawValue: logLevel) else {
      throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error")
    }
    guard ["text", "json"].contains(logFormat) else { throw ValidationError("--log-format must be text or json") }
    let json = logFormat == "json"
    var logger = Logger(label: "chartmogul-etl") { label in
      json
        ? JSONLogHandler(logLevel: level, label: label) as LogHandler
        : RedactingLogHandler(logLevel: level, label: label)
    }
    logger.logLevel = level
    return logger
  }

  /// Every unset variable at once when opening stopped at the first one.
  func allMissing(_ error: Error, scope: PreflightScope?) -> Error? {
    guard let scope else { return nil }
    return MissingVariables.failure(
      for: error, path: pipeline, environment: Environment(ProcessInfo.processInfo.environment), scope: scope)
  }

  /// Opens the pipeline for a command; `destination` starts the sandbox when the pipeline asks for it.
  func open(destination: Bool) async throws -> PipelineSession {
    let logger = try makeLogger()
    return try await PipelineSession.open(
      path: pipeline, environment: Environment(ProcessInfo.processInfo.environment), logger: logger,
      progress: ProgressReporter.make(disabled: noProgress, logger: logger), needsDestination: destination,
      startSandbox: DemoSandbox.start)
  }
}

/// Runs a command body with the session closed afterwards and the outcome turned into an exit code.
/// `preflight` is checked first (nothing is staged when it fails).
func runStages(
  _ options: PipelineOptions, destination: Bool, preflight: PreflightScope?,
  _ body: (StageRunner) async throws -> CommandOutcome
) async throws {
  let session: PipelineSession
  do {
    session = try await options.open(destination: destination)
  } catch {
    throw options.allMissing(error, scope: preflight) ?? error
  }
  if let preflight {
    do {
      for line in try await Preflight.run(session, scope: preflight) { session.logger.info("preflight: \(line)") }
    } catch {
      await session.close()
      throw error
    }
  }
  let pipelineName = session.pipeline.name
  let runner = StageRunner(session: session) { result, seconds, run in
    SummaryPrinter.print(result, seconds: seconds, run: run, pipeline: pipelineName)
  }
  let outcome: CommandOutcome
  do {
    outcome = try await body(runner)
  } catch {
    await session.close()
    throw error
  }
  if let v = outcome.validation { writeOut(v.lines.joined(separator: "\n") + "\n") }
  if let id = outcome.runID {
    writeOut("\nrun folder: \(session.area.runsDirectory)/\(id)\n")
  }
  await session.close()
  if outcome.exitCode != 0 { throw ExitCode(outcome.exitCode) }
}

struct RunCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "run", abstract: "Extract → transform → load (→ validate when the pipeline enables it).")
  @OptionGroup var options: PipelineOptions
  @Option(name: .long, help: "Run id (default: a new UTC timestamp id).") var runId: String?
  @Flag(name: .long, help: "Also write report.html into the run folder.") var report = false
  @Option(
    name: .long, help: "Write the monitoring figures here (Prometheus text, for node_exporter's textfile collector).")
  var metricsFile: String?

  func run() async throws {
    defer { if let metricsFile { MetricsFile.write(options, to: metricsFile) } }
    var retention = false
    defer { if retention { PruneCommand.applyRetention(options) } }
    try await runStages(options, destination: true, preflight: .everything) { runner in
      let outcome = try await runner.run(runID: runId)
      if report || runner.session.pipeline.root.has("validate"), let id = outcome.runID {
        let path = try await ReportCommand.write(session: runner.session, runID: id)
        writeOut("report: \(path)\n")
      }
      if outcome.exitCode == 0 { retention = true }
      return outcome
    }
  }
}

struct ExtractCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "extract", abstract: "Extract every source (or one) into extract/ of a run.")
  @OptionGroup var options: PipelineOptions
  @Option(name: .long, help: "Run id (default: a new UTC timestamp id).") var runId: String?
  @Option(name: .long, help: "Only this source (postgres, stripe, paypal, cashier, files).") var source: String?

  func run() async throws {
    try await runStages(
      options, destination: false, preflight: PreflightScope(sources: true, onlySource: source, destination: false)
    ) {
      try await $0.extract(runID: runId, source: source)
    }
  }
}

struct TransformCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "transform", abstract: "Read extract/ of a run and write transform/.")
  @OptionGroup var options: PipelineOptions
  @Option(name: .long, help: "Run id (default: the latest run).") var runId: String?

  func run() async throws {
    try await runStages(
      options, destination: false, preflight: PreflightScope(sources: false, destination: false, reach: false)
    ) {
      try await $0.transform(runID: runId)
    }
  }
}

struct LoadCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "load", abstract: "Send transform/ of a run to ChartMogul and write load/.")
  @OptionGroup var options: PipelineOptions
  @Option(name: .long, help: "Run id (default: the latest run).") var runId: String?
  @Flag(name: .long, help: "Write load/requests.ndjson with the exact requests; send nothing.") var dryRun = false

  func run() async throws {
    try await runStages(
      options, destination: true, preflight: PreflightScope(sources: false, destination: true, reach: !dryRun)
    ) {
      try await $0.load(runID: runId, dryRun: dryRun)
    }
  }
}

struct ValidateCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "validate", abstract: "Compare MRR computed from transform/ with ChartMogul's.")
  @OptionGroup var options: PipelineOptions
  @Option(name: .long, help: "Run id (default: the latest run).") var runId: String?
  @Flag(name: .long, help: "Print the comparison as JSON on stdout.") var json = false

  func run() async throws {
    let session = try await options.open(destination: true)
    do {
      _ = try await Preflight.run(session, scope: PreflightScope(sources: false, destination: true))
    } catch {
      await session.close()
      throw error
    }
    let runner = StageRunner(session: session) { _, _, _ in }
    let outcome: CommandOutcome
    do {
      outcome = try await runner.validateOnly(runID: runId)
    } catch {
      await session.close()
      throw error
    }
    if let v = outcome.validation {
      writeOut(json ? JSONWriter.string(v.json) + "\n" : v.lines.joined(separator: "\n") + "\n")
    }
    await session.close()
    if outcome.exitCode != 0 { throw ExitCode(outcome.exitCode) }
  }
}

struct RetryCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "retry", abstract: "Re-send records that failed in earlier runs (bounded attempts).")
  @OptionGroup var options: PipelineOptions

  func run() async throws {
    try await runStages(options, destination: true, preflight: PreflightScope(sources: false, destination: true)) {
      try await $0.retry()
    }
  }
}

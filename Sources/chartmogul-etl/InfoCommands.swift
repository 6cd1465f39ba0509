import AppDatabase
import ArgumentParser
import Foundation
import Pipeline
import PostgresClient
import RevenueCore
import Sandbox
import Staging
import Validate

struct StatusCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "status", abstract: "Runs, stages, counts and failures of a pipeline.")
  @OptionGroup var options: PipelineOptions
  @Option(name: .long, help: "Only this run.") var runId: String?
  @Flag(name: .long, help: "Machine-readable JSON on stdout.") var json = false
  @Option(name: .long, help: "How many recent runs to show.") var limit = 10

  func run() async throws {
    let pipeline = try PipelineFile.load(
      path: options.pipeline, environment: Environment(ProcessInfo.processInfo.environment))
    let area = try StagingArea(stagingRoot: pipeline.stagingRoot, pipeline: pipeline.name)
    let status = try RunInspector(area: area).status(runID: runId, limit: limit)
    if json {
      writeOut(JSONWriter.string(status.json) + "\n")
      return
    }
    var out = "pipeline \(pipeline.name)  (staging: \(area.root))\n"
    if let holder = status.lock {
      out += "  locked by run \(holder.runID ?? "?") (pid \(holder.pid ?? "?"), `\(holder.command ?? "?")`)\n"
    }
    if status.runs.isEmpty { out += "  no runs yet\n" }
    for run in status.runs {
      out +=
        "\nrun \(run.runID)  \(run.outcome?.description ?? "unknown")  started \(run.startedAt ?? "-")  finished \(run.finishedAt ?? "-")\n"
      if let error = run.error { out += "  error: \(error)\n" }
      for name in ["extract", "transform", "load", "validate"] {
        guard let s = run.stages[name] else { continue }
        if s.complete == false && s.outcome == nil { continue }
        var line = "  \(name.padding(toLength: 10, withPad: " ", startingAt: 0))"
        line += s.outcome?.description ?? (s.complete == true ? "complete" : "incomplete")
        if let a = s.accounting { line += "  " + a.equation }
        if let d = s.duration { line += "  (\(d)s)" }
        if let e = s.error { line += "\n             error: \(e)" }
        out += line + "\n"
      }
    }
    writeOut(out)
  }
}

struct InspectCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "inspect", abstract: "Show staged records of a stage and what happened to them.")
  @OptionGroup var options: PipelineOptions
  @Option(name: .long, help: "Run id (default: the latest run).") var runId: String?
  @Argument(help: "Stage: extract, transform or load.") var stage: String
  @Option(name: .long, help: "A file of the stage, e.g. invoices.ndjson.") var file: String?
  @Option(name: .long, help: "Only records mentioning this id; without --file, traces it through every stage.")
  var externalId: String?
  @Option(name: .long, help: "At most this many records.") var limit = 50

  func validate() throws {
    guard RunFolder.stages.contains(stage) else {
      throw ValidationError("stage must be one of \(RunFolder.stages.joined(separator: ", "))")
    }
  }

  func run() async throws {
    let pipeline = try PipelineFile.load(
      path: options.pipeline, environment: Environment(ProcessInfo.processInfo.environment))
    let area = try StagingArea(stagingRoot: pipeline.stagingRoot, pipeline: pipeline.name)
    let inspector = RunInspector(area: area)
    let run = try area.resolveRun(runId)
    if let file {
      var n = 0
      try inspector.lines(run: run, stage: stage, file: file, externalID: externalId, limit: limit) { line, value in
        writeOut("\(stage)/\(file):\(line) \(JSONWriter.string(value))\n")
        n += 1
      }
      if n == 0 { writeOut("no matching records in \(stage)/\(file)\n") }
      return
    }
    if let externalId {
      let found = try inspector.trace(run: run, externalID: externalId)
      if found.isEmpty { writeOut("no record of '\(externalId)' in run \(run.id)\n") }
      for f in found { writeOut("\(f.stage)/\(f.file):\(f.line) \(JSONWriter.string(f.value))\n") }
      return
    }
    let (manifest, problems) = try inspector.listFiles(run: run, stage: stage)
    var out = "\(stage) of run \(run.id): \(manifest.accounting.equation)\n"
    for f in manifest.files {
      out +=
        "  \(f.name.padding(toLength: 28, withPad: " ", startingAt: 0)) \(f.lines.grouped) lines  sha256 \(f.sha256.prefix(12))…\n"
    }
    for (source, a) in manifest.bySource.sorted(by: { $0.key < $1.key }) {
      out += "  source \(source): \(a.equation)\n"
    }
    for p in problems { out += "  PROBLEM: \(p)\n" }
    writeOut(out)
    if !problems.isEmpty { throw ExitCode(1) }
  }
}

struct ReportCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "report", abstract: "Write report.html (funnel, MRR, rejects, monitoring) into the run folder.")
  @OptionGroup var options: PipelineOptions
  @Option(name: .long, help: "Run id (default: the latest run).") var runId: String?

  /// Writes the report under the pipeline lock (waiting for a running stage to finish).
  static func write(session: PipelineSession, runID: String?) async throws -> String {
    let run = try session.area.resolveRun(runID)
    let lock = try await RunLock.acquireWaiting(area: session.area, runID: run.id, command: "report") { held in
      session.logger.notice("waiting for the pipeline lock: \(held)")
    }
    defer { lock.release() }
    return try RunReport.write(run: run, configuration: session.configuration)
  }

  func run() async throws {
    let session = try await options.open(destination: false)
    let path = try await ReportCommand.write(session: session, runID: runId)
    writeOut("report: \(path)\n")
    await session.close()
  }
}

struct MigrateCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "migrate", abstract: "Add the sync-tracking columns and table to the app database (idempotent).")
  @Option(name: .long, help: "postgres:// or postgresql:// URL of the app database (default: $DATABASE_URL).")
  var databaseUrl: String?

  func run() async throws {
    guard let url = databaseUrl ?? ProcessInfo.processInfo.environment["DATABASE_URL"], !url.isEmpty else {
      throw ValidationError("give --database-url URL (or set DATABASE_URL)")
    }
    _ = Secret(url)
    let report = try Migrations.migrate(url: url)
    writeOut("\(report)\n")
  }
}

struct SandboxCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sandbox", abstract: "Serve the ChartMogul-compatible sandbox on 127.0.0.1.")
  @Option(name: .long, help: "Port (0 picks a free one).") var port = 0
  @Option(name: .long, help: "API key clients must send (default: $CHARTMOGUL_API_KEY, else a random key).")
  var apiKey: String?
  @Option(name: .long, help: "Persist the sandbox state to this JSON file.") var stateFile: String?
  @Option(name: .long, help: "Create a data source with this uuid at start.") var dataSourceUuid: String?
  @Option(
    name: .long,
    help:
      "Automatically cancel subscriptions past due or missing a renewal for N days (1…90); default: keep them Past Due in MRR until cancelled, as ChartMogul does."
  )
  var autoChurnDays: Int?

  func validate() throws {
    guard (0...65535).contains(port) else { throw ValidationError("--port must be 0…65535") }
    if let d = autoChurnDays, !(1...90).contains(d) { throw ValidationError("--auto-churn-days must be 1…90") }
  }

  func run() async throws {
    var options = SandboxOptions()
    options.port = port
    let key = apiKey ?? ProcessInfo.processInfo.environment["CHARTMOGUL_API_KEY"]
    options.apiKey = key
    options.stateFile = stateFile
    options.autoChurnDays = autoChurnDays
    if let dataSourceUuid { options.dataSources = [(name: "sandbox", uuid: dataSourceUuid)] }
    let server = try await SandboxServer.start(options)
    writeOut("ChartMogul sandbox listening on \(server.baseURL)\n")
    if key == nil { writeOut("API key (generated): \(server.apiKey)\n") }
    if let dataSourceUuid { writeOut("data source: \(dataSourceUuid)\n") }
    while !Task.isCancelled { try await Task.sleep(nanoseconds: 3_600_000_000_000) }
  }
}

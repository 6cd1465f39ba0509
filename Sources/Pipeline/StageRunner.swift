import Extract
import Foundation
import Load
import Logging
import RevenueCore
import Staging
import Transform
import Validate

/// Runs stages under the pipeline lock, keeps `run.json` current and commits incremental cursors
/// only after a confirmed load (anchors.md idea 2).
public struct StageRunner: Sendable {
  public let session: PipelineSession
  /// Called after each stage with its result (the CLI prints the one-screen summary).
  public let onStageFinished: @Sendable (StageResult, Double, RunFolder) -> Void

  public init(session: PipelineSession, onStageFinished: @escaping @Sendable (StageResult, Double, RunFolder) -> Void) {
    self.session = session
    self.onStageFinished = onStageFinished
  }

  var area: StagingArea { session.area }

  // MARK: - Commands

  /// `run`: extract → transform → load (→ validate when enabled).
  public func run(runID: String?) async throws -> CommandOutcome {
    try session.checkDestination()
    // The folder is made only once the lock is ours: a refused run leaves nothing behind.
    return try await locked(command: "run", lockID: runID ?? RunCatalog.proposedRunID(area: area)) {
      try area.createRun(id: runID)
    } body: { run, outcome in
      outcome.stages.append(try await stage("extract", run) { try await ExtractStage.run($0, only: nil) })
      outcome.stages.append(try await stage("transform", run) { try await TransformStage.run($0) })
      let load = try await stage("load", run) { try await LoadStage.run($0, dryRun: false) }
      outcome.stages.append(load)
      if load.accounting.failed == 0, !load.isNoOp { try commitCursors(run) }
      let config = try session.configuration.section(ValidateConfig.self)
      if config.enabled, !load.isNoOp {
        try checkInterruption()
        outcome.validation = try await validate(run)
      }
    }
  }

  /// `extract`: a new run (or the one named), all sources or one.
  public func extract(runID: String?, source: String?) async throws -> CommandOutcome {
    let area = self.area
    return try await locked(command: "extract", lockID: runID ?? RunCatalog.proposedRunID(area: area)) {
      try runID.map { id in
        FileSystem.isDirectory(area.runsDirectory + "/" + id)
          ? try area.existingRun(id) : try area.createRun(id: id)
      } ?? area.createRun(id: nil)
    } body: { run, outcome in
      outcome.stages.append(try await stage("extract", run) { try await ExtractStage.run($0, only: source) })
    }
  }

  public func transform(runID: String?) async throws -> CommandOutcome {
    let run = try area.resolveRun(runID)
    return try await locked(run: run, command: "transform") { run, outcome in
      outcome.stages.append(try await stage("transform", run) { try await TransformStage.run($0) })
    }
  }

  public func load(runID: String?, dryRun: Bool) async throws -> CommandOutcome {
    try session.checkDestination()
    let run = try area.resolveRun(runID)
    return try await locked(run: run, command: dryRun ? "load --dry-run" : "load") { run, outcome in
      let result = try await stage(dryRun ? "load-dry-run" : "load", run) {
        try await LoadStage.run($0, dryRun: dryRun)
      }
      outcome.stages.append(result)
      if !dryRun, result.accounting.failed == 0, !result.isNoOp { try commitCursors(run) }
    }
  }

  public func validateOnly(runID: String?) async throws -> CommandOutcome {
    try session.checkDestination()
    let run = try area.resolveRun(runID)
    // Under the lock (waiting for a running stage), so it never reads a run while a stage rewrites it.
    let lock = try await RunLock.acquireWaiting(area: area, runID: run.id, command: "validate") { held in
      session.logger.notice("waiting for the pipeline lock: \(held)")
    }
    defer { lock.release() }
    var outcome = CommandOutcome(runID: run.id)
    outcome.validation = try await validate(run)
    return outcome
  }

  public func retry() async throws -> CommandOutcome {
    try session.checkDestination()
    let lock = try RunLock.acquire(area: area, runID: "retry", command: "retry")
    defer { lock.release() }
    var outcome = CommandOutcome(runID: nil)
    let started = Date()
    let result = try await LoadStage.retry(
      configuration: session.configuration, area: area, logger: session.logger, progress: session.progress)
    if let run = try? area.resolveRun(nil) { onStageFinished(result, Date().timeIntervalSince(started), run) }
    outcome.stages.append(result)
    return outcome
  }

  // MARK: - Plumbing

  /// Takes the lock on an existing run (see `locked(command:lockID:open:body:)`).
  func locked(
    run: RunFolder, command: String, _ body: (RunFolder, inout CommandOutcome) async throws -> Void
  ) async throws -> CommandOutcome {
    try await locked(command: command, lockID: run.id, open: { run }, body: body)
  }

  /// Takes the lock, repairs records left by dead processes, opens (or creates) the run with `open`,
  /// records the command in `run.json`, runs `body`, records the outcome (`interrupted` after a
  /// SIGINT/SIGTERM, with the command that resumes it).
  func locked(
    command: String, lockID: String, open: () throws -> RunFolder,
    body: (RunFolder, inout CommandOutcome) async throws -> Void
  ) async throws -> CommandOutcome {
    try checkInterruption()
    let lock = try RunLock.acquire(area: area, runID: lockID, command: command)
    defer { lock.release() }
    if let previous = lock.previousHolder, let pid = previous["pid"]?.scalarText {
      session.logger.notice("took over a stale lock left by pid \(pid) (run \(previous["run_id"]?.scalarText ?? "?"))")
    }
    for line in RunRepair.repair(area: area) { session.logger.notice("\(line)") }
    let run = try open()
    let me = ProcessIdentity.current
    try RunRecord.update(run) { r in
      r["pid"] = .int(Int(me.pid))
      r["pid_started"] = .int(Int(me.started))
      r["pipeline_sha256"] = .string(session.pipeline.sha256)
      r["pipeline_file"] = .string(session.pipeline.path)
      if r["started_at"] == nil { r["started_at"] = .string(RunRecord.now()) }
      r["command"] = .string(command)
      r["outcome"] = .string(RunStatus.Outcome.running.description)
    }
    var outcome = CommandOutcome(runID: run.id)
    do {
      try await body(run, &outcome)
      try checkInterruption()
    } catch {
      if let signal = Interruption.shared.requestedSignal {
        let resume = "chartmogul-etl \(command) --pipeline \(session.pipeline.path) --run-id \(run.id)"
        try? RunRecord.update(run) { r in
          r["outcome"] = .string(RunRepair.interrupted)
          r["error"] = .string("interrupted by \(Interruption.name(signal)); rerun to resume: \(resume)")
          r["finished_at"] = .string(RunRecord.now())
        }
        session.logger.notice("interrupted by \(Interruption.name(signal)): in-flight work finished and was recorded")
        throw InterruptedError(signal: signal, resume: resume)
      }
      try? RunRecord.update(run) { r in
        r["outcome"] = .string(RunStatus.Outcome.failed.description)
        r["error"] = .string(Redactor.shared.redact("\(error)"))
        r["finished_at"] = .string(RunRecord.now())
      }
      await alert(
        .runFailed(pipeline: session.pipeline.name, runID: run.id, reason: Redactor.shared.redact("\(error)")))
      throw error
    }
    let config = try? session.configuration.section(ValidateConfig.self)
    let figures = try? Monitoring.figures(
      run: run, area: area, thresholds: config?.thresholds ?? MonitoringThresholds())
    try RunRecord.update(run) { r in
      r["outcome"] = .string((outcome.exitCode == 0 ? RunStatus.Outcome.succeeded : .completedWithFailures).description)
      r["finished_at"] = .string(RunRecord.now())
      r["error"] = nil
      if let figures { r["monitoring"] = .object(figures) }
    }
    if let figures,
      let a = Alert.thresholds(
        pipeline: session.pipeline.name, runID: run.id, breaches: Monitoring.breaches(in: figures))
    {
      await alert(a)
    }
    return outcome
  }

  /// After SIGINT/SIGTERM no new stage starts.
  func checkInterruption() throws {
    if let signal = Interruption.shared.requestedSignal { throw InterruptedError(signal: signal) }
  }

  /// Runs one stage, timing it and recording it in `run.json`.
  func stage(_ name: String, _ run: RunFolder, _ body: (StageContext) async throws -> StageResult) async throws
    -> StageResult
  {
    try checkInterruption()
    let started = Date()
    try RunRecord.updateStage(run, name) { s in
      s["started_at"] = .string(RunRecord.now())
      s["outcome"] = .string(RunStatus.Outcome.running.description)
      s["finished_at"] = nil
      s["error"] = nil
    }
    let result: StageResult
    do {
      result = try await body(session.context(run: run))
    } catch {
      let interrupted = Interruption.shared.isRequested
      try? RunRecord.updateStage(run, name) { s in
        s["outcome"] = .string(interrupted ? RunRepair.interrupted : RunStatus.Outcome.failed.description)
        s["error"] = .string(Redactor.shared.redact("\(error)"))
        s["finished_at"] = .string(RunRecord.now())
        s["duration_s"] = .number(String(format: "%.3f", Date().timeIntervalSince(started)))
      }
      throw error
    }
    let seconds = Date().timeIntervalSince(started)
    try RunRecord.updateStage(run, name) { s in
      s["outcome"] = .string((result.hasFailures ? RunStatus.Outcome.completedWithFailures : .succeeded).description)
      s["finished_at"] = .string(RunRecord.now())
      s["duration_s"] = .number(String(format: "%.3f", seconds))
      s["accounting"] = result.accounting.json
      s["details"] = .object(result.details)
    }
    onStageFinished(result, seconds, run)
    return result
  }

  func validate(_ run: RunFolder) async throws -> ValidationResult {
    let started = Date()
    let result = try await ValidateStage.run(session.context(run: run))
    try RunRecord.updateStage(run, "validate") { s in
      s["outcome"] = .string((result.passed ? RunStatus.Outcome.succeeded : .failed).description)
      s["finished_at"] = .string(RunRecord.now())
      s["duration_s"] = .number(String(format: "%.3f", Date().timeIntervalSince(started)))
      s["details"] = result.json
    }
    return result
  }

  /// Sends an alert when a webhook is configured; a failing webhook is logged, never fatal.
  func alert(_ a: Alert) async {
    guard let config = try? session.configuration.section(ValidateConfig.self), let url = config.webhookURL
    else { return }
    _ = await AlertSender(webhook: url, logger: session.logger).send(a)
  }

  /// Moves the cursors extract proposed into `state.json`: only after ChartMogul confirmed the load.
  func commitCursors(_ run: RunFolder) throws {
    guard let manifest = try run.manifest("extract") else { return }
    let cursors = manifest.proposedCursors
    guard !cursors.isEmpty else { return }
    try StateStore(area: area).commit(cursors)
    var committed = JSONObject()
    for (k, v) in cursors.sorted(by: { $0.key < $1.key }) { committed[k] = .object(v) }
    try RunRecord.update(run) { r in r["committed_cursors"] = .object(committed) }
    session.logger.info("advanced incremental cursors for \(cursors.keys.sorted().joined(separator: ", "))")
  }
}

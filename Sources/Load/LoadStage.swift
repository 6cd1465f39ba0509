import Foundation
import Logging
import RevenueCore
import Staging
import Transport

/// The load stage: `transform/` → ChartMogul (bulk imports + follow-ups) → `load/ledger.ndjson`.
///
/// Idempotent and resumable: every record's outcome goes to a ledger; records confirmed by any
/// earlier attempt (this run's partial ledger, or any run's published ledger) are never sent again,
/// and a create answered with "already exists" is looked up by external id and confirmed.
public enum LoadStage {
  /// Loads the run's transform output. Requires `transform/manifest.json`; writes `load/ledger.ndjson`
  /// (+ `load/requests.ndjson` with `dryRun`) and `load/manifest.json`.
  public static func run(_ ctx: StageContext, dryRun: Bool) async throws -> StageResult {
    try await run(ctx, dryRun: dryRun, transport: URLSessionTransport(maxConnectionsPerHost: 20))
  }

  /// Same, with an explicit HTTP transport.
  public static func run(_ ctx: StageContext, dryRun: Bool, transport: any HTTPTransport) async throws -> StageResult {
    let config = try ctx.configuration.section(LoadConfig.self)
    announce(config, ctx.logger)
    let testData = try TestDataGuard.check(run: ctx.run, config: config)
    var result: StageResult
    if dryRun {
      result = try DryRun(config: config, ctx: ctx).execute()
    } else if !config.syncEnabled {
      result = try disabled(ctx)
    } else {
      result = try await LoadEngine(config: config, ctx: ctx, transport: transport, only: nil).execute()
    }
    if testData { result.lines.append("warning: " + TestDataGuard.warning) }
    return result
  }

  static func announce(_ config: LoadConfig, _ logger: Logger) {
    if config.usesLegacyCredentials {
      logger.warning(
        "destination.chartmogul uses account_token + secret_key, which ChartMogul replaced with API keys in 2021; set api_key (CHARTMOGUL_API_KEY) instead"
      )
    }
  }

  /// `CHARTMOGUL_SYNC_ENABLED=false`: nothing is sent and the load stage is not published.
  static func disabled(_ ctx: StageContext) throws -> StageResult {
    let run = ctx.run
    let manifest = try run.requireManifest("transform", for: "load")
    _ = try StagedInput.verify(run: run, stage: "transform", manifest: manifest, names: LoadInput.files)
    let input = try LoadInput.read(run: run)
    let message =
      "ChartMogul sync is disabled (CHARTMOGUL_SYNC_ENABLED=false or destination.chartmogul.sync_enabled: false): nothing was sent and load/ was not written"
    ctx.logger.notice("\(message)")
    var details = JSONObject()
    details["sync_enabled"] = false
    return StageResult(
      stage: "load", accounting: Accounting(input: input.recordCount, skipped: input.recordCount), lines: [message],
      details: details, noOp: .syncDisabled)
  }

  /// Re-sends records that failed in earlier runs and have had fewer than `max_attempts` attempts
  /// (per the ledgers, and per the app database's `chartmogul_sync_attempts`). Each affected run's
  /// `load/` is republished with the new outcomes.
  /// As `retry(configuration:…)` with a configuration of its own (tests, single-stage callers).
  public static func retry(
    pipeline: PipelineFile, environment: Environment, area: StagingArea, logger: Logger, progress: any ProgressSink
  ) async throws -> StageResult {
    try await retry(
      configuration: PipelineConfiguration(pipeline: pipeline, environment: environment), area: area, logger: logger,
      progress: progress)
  }

  public static func retry(
    configuration: PipelineConfiguration, area: StagingArea, logger: Logger, progress: any ProgressSink,
    transport: any HTTPTransport = URLSessionTransport(maxConnectionsPerHost: 20)
  ) async throws -> StageResult {
    let config = try configuration.section(LoadConfig.self)
    announce(config, logger)
    var total = Accounting()
    var lines: [String] = []
    var details = JSONObject()
    guard config.syncEnabled else {
      return StageResult(
        stage: "retry", accounting: total, lines: ["ChartMogul sync is disabled: nothing was retried"],
        details: ["sync_enabled": false], noOp: .syncDisabled)
    }
    let appFailed =
      config.writeBackURL.map {
        WriteBackStep.failedTransactionIDs(url: $0, maxAttempts: config.maxAttempts, logger: logger)
      }
      ?? []
    // Everything ever confirmed, to never resend it.
    var confirmed = Set<String>()
    var perRun: [(RunFolder, [LedgerEntry])] = []
    for id in area.runIDs() {
      guard let run = try? RunFolder(area: area, id: id), run.isComplete("load") else { continue }
      var entries: [LedgerEntry] = []
      try NDJSONReader(path: run.file("load", LedgerFiles.ledgerName)).forEachValue { r, _ in
        guard case .success(let v) = r, let e = LedgerEntry(json: v), e.belongs(to: config.dataSourceUUID) else {
          return
        }
        if e.status == .confirmed { confirmed.insert(e.id) }
        entries.append(e)
      }
      perRun.append((run, entries))
    }
    var gaveUp = 0
    var runsRetried: [JSONValue] = []
    for (run, entries) in perRun {
      var only = Set<String>()
      for e in entries where e.status == .failed && !confirmed.contains(e.id) {
        if e.attempts < config.maxAttempts { only.insert(e.id) } else { gaveUp += 1 }
      }
      // The app database may know of failures a ledger does not show as failed (e.g. skipped lines).
      for e in entries where e.kind == .invoice && e.status == .skipped && !confirmed.contains(e.id) {
        if let app = e.fields["app_transaction_id"]?.stringValue, appFailed.contains(app) { only.insert(e.id) }
      }
      guard !only.isEmpty, run.isComplete("transform") else { continue }
      try TestDataGuard.check(run: run, config: config)
      logger.info("retrying \(only.count) failed records of run \(run.id)")
      let ctx = StageContext(configuration: configuration, area: area, run: run, logger: logger, progress: progress)
      let r = try await LoadEngine(config: config, ctx: ctx, transport: transport, only: only).execute()
      let stillFailed = r.accounting.failed
      total = total + Accounting(input: only.count, output: only.count - stillFailed, failed: stillFailed)
      lines.append("run \(run.id): retried \(only.count.grouped), still failed \(stillFailed.grouped)")
      runsRetried.append(["run_id": .string(run.id), "retried": .int(only.count), "still_failed": .int(stillFailed)])
      // Mark now-confirmed ids so a later run does not resend them.
      try NDJSONReader(path: run.file("load", LedgerFiles.ledgerName)).forEachValue { res, _ in
        if case .success(let v) = res, let e = LedgerEntry(json: v), e.status == .confirmed,
          e.belongs(to: config.dataSourceUUID)
        {
          confirmed.insert(e.id)
        }
      }
    }
    if lines.isEmpty {
      lines.append("nothing to retry: no failed records with fewer than \(config.maxAttempts) attempts")
    }
    if gaveUp > 0 {
      lines.append(
        "\(gaveUp.grouped) failed records reached max_attempts (\(config.maxAttempts)) and were not retried; see `status`"
      )
    }
    details["runs"] = .array(runsRetried)
    details["gave_up"] = .int(gaveUp)
    return StageResult(stage: "retry", accounting: total, lines: lines, details: details)
  }
}

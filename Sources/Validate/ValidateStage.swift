import Foundation
import Logging
import RevenueCore
import Staging
import Transport

/// `validate`: local MRR (from `transform/`) against ChartMogul's `/v1/metrics/mrr`, month by month.
///
/// Above `validate.mrr_variance_threshold` in any month the result fails (CLI exit 1), an alert goes to
/// the webhook, and a drill-down lists the customers whose MRR differs most (local vs the `mrr` field of
/// `GET /v1/customers`). Everything is written to `validate.json` in the run folder.
///
/// The local side is the business truth (`LocalMRR.mode(for:)`): a cancelled or lapsed subscription
/// has churned. ChartMogul keeps a subscription that stopped renewing without a cancellation in MRR
/// (past due, its default); the drill-down names such subscriptions with what to do about them.
public enum ValidateStage {
  /// Runs validation for the run in `ctx`. `asOf` is "now" (injectable for tests): only months that
  /// ended before it are compared, and customer MRR for the drill-down is read at it.
  public static func run(_ ctx: StageContext) async throws -> ValidationResult {
    try await run(ctx, asOf: Timestamp(seconds: Int64(Date().timeIntervalSince1970)), transport: URLSessionTransport())
  }

  public static func run(_ ctx: StageContext, asOf: Timestamp, transport: any HTTPTransport) async throws
    -> ValidationResult
  {
    let cfg = try ctx.configuration.section(ValidateConfig.self)
    let target = try ctx.configuration.section(ChartMogulTarget.self)
    _ = try ctx.run.requireManifest("transform", for: "validate")
    let engine = try LocalMRR.engine(
      run: ctx.run, fx: cfg.fx, mode: try LocalMRR.mode(for: ctx.run), progress: ctx.progress)
    let local = engine.finish()
    if !local.currenciesWithoutRate.isEmpty {
      throw ConfigError(
        file: ctx.pipeline.path, line: nil, key: "validate.fx",
        message:
          "has no rate for \(local.currenciesWithoutRate.joined(separator: ", ")) (needed to convert local MRR into \(cfg.fx.reporting.code)); add e.g. `\(local.currenciesWithoutRate[0]): <\(cfg.fx.reporting.code) per unit>`"
      )
    }
    var months = local.monthsWithData.filter { $0.endInstant < asOf }
    if let n = cfg.months, months.count > n { months = Array(months.suffix(n)) }
    let http = HTTPClient(transport: transport, requestsPerSecond: 20, maxConcurrent: 4, logger: ctx.logger)
    let client = MetricsClient(target: target, http: http, logger: ctx.logger)
    ctx.logger.info("validate: comparing \(months.count) month(s) of MRR with ChartMogul")
    var remote: [String: MetricsClient.MRREntry] = [:]
    if let first = months.first, let last = months.last {
      for e in try await client.mrr(from: first.firstInstant.dateString, to: last.lastDay) { remote[e.date] = e }
    }
    let localMonths = local.monthly(months)
    var comparisons: [MonthComparison] = []
    for m in localMonths {
      let r = remote[m.month.lastDay]
      comparisons.append(MonthComparison(local: m, remote: r))
    }
    let maxVariance = comparisons.map(\.variance).max() ?? 0
    let passed = maxVariance <= cfg.varianceThreshold + 1e-12
    var drill: [CustomerDifference] = []
    var drillAt: Timestamp? = nil
    if comparisons.contains(where: { $0.difference != 0 }) && cfg.drillDown > 0 {
      let remoteCustomers = try await client.customerMRR()
      drill = CustomerDifference.top(local: local.customerMRR(at: asOf), remote: remoteCustomers, limit: cfg.drillDown)
      // ChartMogul keeps a subscription nobody renewed (and nothing cancelled) in MRR, past due:
      // name those behind a customer ChartMogul counts higher than the business does.
      let pastDue = Dictionary(
        grouping: engine.pastDue(at: asOf, mode: .chartMogulDefault(asOf: asOf)), by: \.customerExternalID)
      for i in drill.indices where drill[i].difference < 0 {
        drill[i].pastDue = pastDue[drill[i].externalID] ?? []
      }
      drillAt = asOf
    }
    let result = ValidationResult(
      runID: ctx.run.id, passed: passed, threshold: cfg.varianceThreshold, reportingCurrency: cfg.fx.reporting.code,
      months: comparisons, maxVariance: maxVariance, drillDown: drill, drillDownAt: drillAt, issues: local.issues,
      subscriptions: local.subscriptions, invoices: local.invoices,
      path: ctx.run.path + "/" + ValidationResult.fileName)
    try AtomicFile.writeJSON(result.json, to: result.path)
    if !passed {
      ctx.logger.error(
        "validate: MRR differs from ChartMogul by up to \(percent(maxVariance)) (threshold \(percent(cfg.varianceThreshold)))"
      )
      await AlertSender(webhook: cfg.webhookURL, logger: ctx.logger).send(
        Alert.mrrVariance(pipeline: ctx.pipeline.name, result: result))
    }
    return result
  }

  static func percent(_ v: Double) -> String { String(format: "%.2f%%", v * 100) }
}

import Foundation
import Logging
import RevenueCore
import Staging
import TransformRules

/// The transform stage: `extract/*.ndjson` → `transform/` (customers, plans, invoices, cancellations,
/// attributes, rejects, skipped + manifest).
///
/// Two streaming passes over the extract files:
/// 1. people, subscriptions, plans and Stripe id aliases are indexed (memory grows with customers,
///    subscriptions and Stripe payments with several ids, never with app rows);
/// 2. every payment/refund record becomes an invoice *fragment* keyed by invoice external id and goes
///    to an external sort (bounded chunks on disk in the stage's scratch folder); the merged, sorted
///    stream is grouped by key and each group becomes one invoice, so output is ordered by
///    `external_id` and the same payment from several sources is one invoice.
/// Every input record is counted once per source: in = out + rejected + skipped.
/// Besides `extract/`, it reads the customer index the latest earlier run published and publishes
/// its own (`customer-index.ndjson`), so incremental runs resolve customers and enrich them as a
/// run over all history would; the rule that keeps reruns byte-identical is in `CustomerHistory`.
///
/// This module is the runner; the mapping rules are in `TransformRules` (layout: its
/// `TransformRules.swift`), the runner's own files are listed on `TransformEngine`.
public enum TransformStage {
  public static let stage = "transform"

  /// Parses the `transform:` section (allowed keys only; errors name file, line and key).
  public static func validateConfig(_ pipeline: PipelineFile) throws -> TransformConfig {
    try TransformConfig(pipeline: pipeline)
  }

  public static func run(_ ctx: StageContext) async throws -> StageResult {
    let config = try validateConfig(ctx.pipeline)
    let manifest = try ctx.run.requireManifest("extract", for: stage)
    let inputs = manifest.files.filter { $0.name.hasSuffix(".ndjson") && !$0.name.hasPrefix("rejects-") }
      .sorted { $0.name < $1.name }
    // Every extract file (and the earlier run's customer index) is checked against the manifest that
    // lists it before its first record is used; the manifest then records what was actually read.
    let verified = try StagedInput.verify(run: ctx.run, stage: "extract", manifest: manifest, names: inputs.map(\.name))
    let prior = try CustomerHistory.locate(before: ctx.run)
    if let prior {
      _ = try StagedInput.verify(path: prior.path, entry: prior.entry, stage: "transform", runID: prior.run)
    }
    let priorSubscriptions = try SubscriptionHistory.locate(before: ctx.run)
    let asOf = manifest.details["as_of"]?.stringValue.flatMap(Timestamp.parse)
    if asOf == nil && config.lapseAfterDays != nil {
      ctx.logger.warning(
        "extract of run \(ctx.run.id) does not record its as-of instant (made by an older version): lapse detection is off for this transform; rerun extract to turn it on"
      )
    }
    if case .index(let run, let path, let entry) = priorSubscriptions {
      _ = try StagedInput.verify(path: path, entry: entry, stage: "transform", runID: run)
    }
    let builder = try StageBuilder(run: ctx.run, stage: stage)
    do {
      let paths = inputs.map { ctx.run.file("extract", $0.name) }
      let engine = try TransformEngine(
        config: config, inputs: paths,
        sections: zip(inputs, paths).map { FileSection.listed(in: manifest, for: $0, at: $1) },
        names: inputs.map { String($0.name.dropLast(".ndjson".count)) }, builder: builder,
        formats: ActivityFormats(pipeline: ctx.pipeline), progress: ctx.progress,
        totalLines: inputs.reduce(0) { $0 + $1.lines }, prior: prior, priorSubscriptions: priorSubscriptions,
        asOf: asOf)
      var summary = try engine.run()
      let warnings = BackfillWarnings.warnings(kinds: engine.seenKinds, includeTestData: config.includeTestData)
      if !warnings.isEmpty { summary["warnings"] = .array(warnings.map { .string($0) }) }
      if config.includeTestData { summary[BackfillWarnings.testDataKey] = true }
      summary.set("prior_customer_index", prior?.json)
      var bySource: [String: Accounting] = [:]
      for (i, n) in engine.ledger.sourceNames.enumerated() { bySource[n] = engine.ledger.accounting[i] }
      let total = engine.ledger.accounting.reduce(Accounting(), +)
      ctx.progress.begin("transform: publish", total: nil)
      let m = try builder.publish(inputs: verified, accounting: total, bySource: bySource, details: summary)
      ctx.progress.end()
      ctx.logger.info("transform: \(total.equation)")
      var lines = [
        "out: "
          + ["customers", "plans", "invoices", "cancellations", "attributes"].map { n in
            "\(n) \((m.file("\(n).ndjson")?.lines ?? 0).grouped)"
          }.joined(separator: " "),
        "missing attribute rate: \(summary["missing_attribute_rate"]?.stringValue ?? "0")",
        lapseLine(summary, config: config),
        "customer index: "
          + (prior.map { "continues run \($0.run)'s (\($0.entry.lines.grouped) lines)" }
            ?? "first (no earlier run has one)"),
      ]
      lines += warnings.map { "warning: " + $0 }
      if !engine.ledger.rejectCodes.isEmpty {
        lines.append(
          "rejects: "
            + engine.ledger.rejectCodes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.grouped)" }.joined(
              separator: " "))
      }
      if !engine.ledger.skipCodes.isEmpty {
        lines.append(
          "skipped: "
            + engine.ledger.skipCodes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.grouped)" }.joined(
              separator: " "))
      }
      return StageResult(stage: stage, accounting: total, lines: lines, details: summary)
    } catch {
      builder.abandon()
      throw error
    }
  }
}

/// The summary line of lapse detection (see `Lapse`).
func lapseLine(_ d: JSONObject, config: TransformConfig) -> String {
  guard let days = config.lapseAfterDays else { return "lapse detection: off (transform.lapse_after_days: ~)" }
  guard let asOf = d["as_of"]?.stringValue else { return "lapse detection: off (the extract records no as-of instant)" }
  let lapsed = d["lapsed"]?.int64Value ?? 0
  let withdrawn = d["lapse_withdrawn"]?.int64Value ?? 0
  return
    "lapsed: \(lapsed) subscriptions unpaid \(days)+ days before \(asOf) cancelled; \(withdrawn) earlier lapses withdrawn"
}

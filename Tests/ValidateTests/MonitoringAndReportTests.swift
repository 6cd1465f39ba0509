import Foundation
import RevenueCore
import Staging
import Testing
import Validate

@Suite struct MonitoringAndReportTests {
  static let starter = PlanRecord(name: "Starter", intervalCount: 1, intervalUnit: .month, currency: "USD")
  static let growth = PlanRecord(name: "Growth", intervalCount: 1, intervalUnit: .month, currency: "EGP")

  /// A run with transform output (2 customers, USD + EGP, one churn, rejects with hostile text).
  static func transformRun(_ f: RunFixture) throws {
    var invoices: [InvoiceRecord] = []
    for m in 1...4 {
      let start = Timestamp.utc(2026, m, 1)!
      invoices.append(
        Fx.invoice(
          "stripe_ch_a\(m)", "1001", "USD",
          [Fx.line(starter, "stripe_sub_a", start, amount: 2900 + (m >= 3 ? 2000 : 0))]))
      if m <= 2 {
        invoices.append(
          Fx.invoice(
            "paypal_t_b\(m)", "1002", "EGP", [Fx.line(growth, "paypal_I-B", start, amount: 99_900, tax: 12_270)]))
      }
    }
    let rejects = [
      DiagnosticRecord(
        source: "stripe", file: "extract/stripe.ndjson", line: 7, code: "unmapped_plan",
        reason: "plan 'price_<script>alert(1)</script>' is not in plan_mapping", externalID: "stripe_ch_x1"),
      DiagnosticRecord(
        source: "stripe", file: "extract/stripe.ndjson", line: 9, code: "unmapped_plan",
        reason: "plan 'price_legacy' is not in plan_mapping"),
      DiagnosticRecord(
        source: "cashier", file: "extract/cashier.ndjson", line: 3, code: "bad_amount",
        reason: "amount '12,5' is not a number", record: ["email": "someone@example.com"]),
    ]
    try f.writeTransform(
      customers: [CustomerRecord(externalID: "1001", name: "Ada"), CustomerRecord(externalID: "1002", name: "Omar")],
      plans: [starter, growth], invoices: invoices, rejects: rejects,
      details: JSONObject([
        "merges": [["into": "1001", "merged": ["stripe:cus_A"], "email": "ada@example.com"]],
        "missing_attribute_rate": "0.2500",
      ]))
  }

  @Test func figuresComeFromStageDataAndMissingOnesAreNull() throws {
    let first = try RunFixture(runID: "20261101T020000Z")
    try Self.transformRun(first)
    try first.writeLoad(
      ledger: [("invoice", "A", "failed"), ("customer", "B", "failed"), ("customer", "C", "confirmed")],
      http: JSONObject(["requests": 200, "errors": 4, "rate_limited": 10, "median_ms": 120, "p95_ms": 900]))
    let second = try RunFixture(runID: "20261102T020000Z", dir: first.dir)
    try first.writeLoad(
      ledger: [("invoice", "A", "confirmed"), ("invoice", "D", "failed")], http: JSONObject(), in: second.run)
    try RunRecord.update(first.run) { r in
      r["started_at"] = "2026-11-01T02:00:00Z"
      r["finished_at"] = "2026-11-01T02:20:00Z"
      r["stages"] = ["load": ["duration_s": 3600]]
    }
    let m = try Monitoring.figures(run: first.run, area: first.area, thresholds: MonitoringThresholds())
    let f = try #require(m["figures"]?.objectValue)
    #expect(f["failed_backlog"]?.doubleValue == 2)  // A and B as of the first run
    #expect(f["sync_success_rate"]?.doubleValue.map { abs($0 - 1.0 / 3.0) < 1e-6 } == true)
    #expect(f["api_error_rate"]?.doubleValue == 0.02)
    #expect(f["rate_limited_share"]?.doubleValue == 0.05)
    #expect(f["api_errors_per_hour"]?.doubleValue == 4)
    #expect(f["p95_response_ms"]?.doubleValue == 900)
    #expect(f["duration_s"]?.doubleValue == 1200)
    #expect(f["customer_duplication_rate"]?.doubleValue == 0.5)
    #expect(f["missing_attribute_rate"]?.doubleValue == 0.25)
    #expect(f["mrr_variance"]?.isNull == true)  // not validated: omitted, not invented
    let breached = Monitoring.breaches(in: m).map(\.figure)
    #expect(breached == ["sync_success_rate"])
    #expect(!breached.contains("api_errors_per_hour"))

    // As of the second run, A was confirmed: B and D remain.
    let later = try Monitoring.figures(run: second.run, area: second.area, thresholds: MonitoringThresholds())
    #expect(later["figures"]?["failed_backlog"]?.doubleValue == 2)
    #expect(later["figures"]?["api_error_rate"]?.isNull == true)

    // Thresholds are overridable from the pipeline file.
    let p = try first.pipeline(
      "monitoring:\n  thresholds: { failed_backlog_max: 1, success_rate_min: 0.2, api_errors_per_hour_max: ~ }\n")
    let cfg = try ValidateConfig.parse(p, environment: Environment([:]))
    let custom = try Monitoring.figures(run: first.run, area: first.area, thresholds: cfg.thresholds)
    #expect(Monitoring.breaches(in: custom).map(\.figure) == ["failed_backlog"])
  }

  @Test func unknownMonitoringKeyIsAConfigError() throws {
    let f = try RunFixture()
    let p = try f.pipeline("monitoring:\n  thresholds: { succes_rate_min: 0.9 }\n")
    #expect(throws: ConfigError.self) { try ValidateConfig.parse(p, environment: Environment([:])) }
    let v = try f.pipeline("validate:\n  mrr_variance_threshold: \"2%\"\n  fx: { EGP: 0.0205 }\n  months: 6\n")
    let cfg = try ValidateConfig.parse(v, environment: Environment(["ALERT_WEBHOOK_URL": "http://127.0.0.1:1/x"]))
    #expect(cfg.varianceThreshold == 0.02)
    #expect(cfg.months == 6)
    #expect(cfg.fx.rate("EGP") == 0.0205)
    #expect(cfg.webhookURL?.value == "http://127.0.0.1:1/x")
  }

  @Test func reportIsSelfContainedAndEscapesData() throws {
    let f = try RunFixture()
    try Self.transformRun(f)
    try f.writeLoad(
      ledger: [("invoice", "A", "confirmed"), ("invoice", "B", "failed")],
      http: JSONObject(["requests": 50, "errors": 1, "rate_limited": 0, "median_ms": 80, "p95_ms": 300]))
    let p = try f.pipeline("validate:\n  fx: { EGP: 0.0205 }\n")
    let path = try RunReport.write(
      run: f.run, configuration: PipelineConfiguration(pipeline: p, environment: Environment([:])))
    #expect(path == f.run.path + "/report.html")
    let html = try String(contentsOfFile: path, encoding: .utf8)
    #expect(html.contains("Stage funnel"))
    #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
    #expect(!html.contains("<script"))
    #expect(!html.contains("someone@example.com"))  // raw rejected records stay in the staged file
    #expect(!html.contains("http://") && !html.contains("https://"))  // nothing fetched from the network
    #expect(html.contains("<svg"))
    // Local MRR for January: 29.00 USD + (999.00 − 122.70) EGP × 0.0205 = 29.00 + 17.96 = 46.96
    #expect(html.contains("46.96"))
    #expect(html.contains("unmapped_plan"))
    #expect(html.contains("Not validated yet"))
    if let keep = ProcessInfo.processInfo.environment["RECONCILE_KEEP_REPORT"] {
      try? FileManager.default.removeItem(atPath: keep)
      try FileManager.default.copyItem(atPath: path, toPath: keep)
    }
  }
}

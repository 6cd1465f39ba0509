import ETLTestSupport
import Foundation
import RevenueCore
import Sandbox
import Staging
import Testing
import Validate

/// `validate` against the ChartMogul sandbox (real HTTP on 127.0.0.1), on fixtures dated relative to
/// today so that "current" customer MRR and complete months both exist.
@Suite struct ValidateTests {
  static let monthly = PlanRecord(name: "Starter", intervalCount: 1, intervalUnit: .month, currency: "USD")
  static let yearly = PlanRecord(name: "Starter", intervalCount: 1, intervalUnit: .year, currency: "USD")
  static let quarterly = PlanRecord(name: "Team", intervalCount: 3, intervalUnit: .month, currency: "USD")
  static let egp = PlanRecord(name: "Growth", intervalCount: 1, intervalUnit: .month, currency: "EGP")

  struct Data {
    var customers: [CustomerRecord]
    var plans: [PlanRecord]
    var invoices: [InvoiceRecord]
    var cancellations: [CancellationRecord]
  }

  /// Six complete months of history up to the current month, with tax, a yearly and a quarterly plan,
  /// an EGP subscription, a one-time line, a mid-period cancellation, an upgrade and a reactivation.
  static func data(now: Timestamp) -> Data {
    let c = now.components
    let thisMonth = Timestamp.utc(c.year, c.month, 1)!
    let m0 = thisMonth.adding(months: -6)
    func month(_ i: Int) -> Timestamp { m0.adding(months: i) }
    var inv: [InvoiceRecord] = []
    var n = 0
    func add(_ customer: String, _ currency: String, _ lines: [LineItemRecord]) {
      n += 1
      inv.append(Fx.invoice("stripe_ch_\(n)", customer, currency, lines))
    }
    for i in 0...6 {
      // 1001: monthly with tax, upgraded from month 3 (new price), plus a one-time charge in month 0.
      var lines = [Fx.line(monthly, "stripe_sub_1001", month(i), amount: i < 3 ? 5900 : 9900, tax: i < 3 ? 900 : 1650)]
      if i == 0 { lines.append(LineItemRecord(type: .oneTime, amountInCents: 25_000, description: "Setup")) }
      add("1001", "USD", lines)
      // 1003: EGP monthly (999.00 EGP incl. 122.70 tax).
      add("1003", "EGP", [Fx.line(egp, "paypal_I-1003", month(i), amount: 99_900, tax: 12_270)])
    }
    // 1002: yearly from the middle of month 1.
    add("1002", "USD", [Fx.line(yearly, "stripe_sub_1002", month(1).adding(days: 14), amount: 119_880)])
    // 1004: quarterly from month 0, renewed at month 3, cancelled mid-period in month 4.
    add("1004", "USD", [Fx.line(quarterly, "stripe_sub_1004", month(0), amount: 45_000)])
    add("1004", "USD", [Fx.line(quarterly, "stripe_sub_1004", month(3), amount: 45_000)])
    // 1005: monthly months 0–1, cancelled at the end of month 1, back from month 4 (reactivation).
    for i in [0, 1, 4, 5, 6] { add("1005", "USD", [Fx.line(monthly, "stripe_sub_1005", month(i), amount: 2900)]) }
    let cancellations = [
      CancellationRecord(
        customerExternalID: "1004", subscriptionExternalID: "stripe_sub_1004", cancelledAt: month(4).adding(days: 9)),
      CancellationRecord(customerExternalID: "1005", subscriptionExternalID: "stripe_sub_1005", cancelledAt: month(2)),
    ]
    let customers = ["1001", "1002", "1003", "1004", "1005"].map {
      CustomerRecord(externalID: $0, name: "Customer \($0)")
    }
    return Data(
      customers: customers, plans: [monthly, yearly, quarterly, egp], invoices: inv, cancellations: cancellations)
  }

  static func pipelineYAML(_ sb: SandboxHarness, webhook: String?) -> String {
    """
    destination:
      chartmogul:
        api_key: \(sb.apiKey)
        api_url: \(sb.baseURL)
        data_source_uuid: \(sb.dataSourceUUID)
        batch_size: 50
    validate:
      mrr_variance_threshold: 1%
      reporting_currency: USD
      fx: { EGP: 0.0205 }
      drill_down: 3
    alerts:
      webhook_url: \(webhook ?? "")

    """
  }

  @Test func passesOnFixturesThenFailsWithDrillDownWhenChartMogulIsAltered() async throws {
    let now = Timestamp(seconds: Int64(Date().timeIntervalSince1970))
    let d = Self.data(now: now)
    let sb = try await SandboxHarness.start()
    let receiver = try WebhookReceiver()
    let hook = try await receiver.start()
    do {
      var loader = SandboxFixture(sb)
      try await loader.load(
        customers: d.customers, plans: d.plans, invoices: d.invoices, cancellations: d.cancellations)
      let f = try RunFixture()
      try f.writeTransform(customers: d.customers, plans: d.plans, invoices: d.invoices, cancellations: d.cancellations)
      let p = try f.pipeline(Self.pipelineYAML(sb, webhook: hook))

      let ok = try await ValidateStage.run(f.context(p))
      #expect(ok.passed, "\(ok.lines.joined(separator: "\n"))")
      #expect(ok.months.count == 6)
      #expect(ok.months.allSatisfy { $0.difference == 0 && $0.remoteMRR != nil })
      #expect(ok.months.contains { $0.local.movements[.reactivation] > 0 })
      #expect(ok.drillDown.isEmpty)
      #expect(await receiver.bodies.isEmpty)
      // 5000 + 8250 (from month 3) + 999 + 1796 + 15000 … the last complete month, by hand:
      // 1001: 9900−1650 = 8250; 1002: 119880/12 = 9990; 1003: 87630 × 0.0205 = 1796; 1004: cancelled; 1005: 2900.
      #expect(ok.months.last?.local.mrr == Int64(8250 + 9990 + 1796 + 2900))
      let written = try #require(try AtomicFile.readJSON(f.run.path + "/validate.json"))
      #expect(written["passed"]?.boolValue == true)

      // Alter customer 1002 in ChartMogul only: an extra yearly subscription (600.00 → 50.00 a month)
      // from two months ago, imported over HTTP.
      let extra = Fx.invoice(
        "manual_edit_1", "1002", "USD",
        [Fx.line(Self.yearly, "manual_sub_1002", now.adding(months: -2).startOfDay, amount: 60_000)])
      try await loader.importInvoice(extra)
      let bad = try await ValidateStage.run(f.context(p))
      #expect(!bad.passed)
      #expect(bad.maxVariance > 0.01)
      let top = try #require(bad.drillDown.first)
      #expect(top.externalID == "1002")
      #expect(top.local == 9990)
      #expect(top.chartMogul == Int64(9990 + 5000))
      #expect(top.difference == -5000)
      let json = try #require(try AtomicFile.readJSON(f.run.path + "/validate.json"))
      #expect(json["passed"]?.boolValue == false)
      #expect(json["drill_down"]?[0]?["external_id"]?.stringValue == "1002")

      // The variance alert reached the webhook, without the API key.
      let bodies = await receiver.bodies
      #expect(bodies.count == 1)
      let alert = try JSONParser.parse(try #require(bodies.first))
      #expect(alert["kind"]?.stringValue == "mrr_variance")
      #expect(alert["text"]?.stringValue?.contains("1002") == true)
      #expect(!String(decoding: bodies[0], as: UTF8.self).contains(sb.apiKey))

      // The report shows local vs ChartMogul and the drill-down.
      let path = try RunReport.write(
        run: f.run, configuration: PipelineConfiguration(pipeline: p, environment: Environment([:])))
      let html = try String(contentsOfFile: path, encoding: .utf8)
      #expect(html.contains("ChartMogul MRR"))
      #expect(html.contains("Customers whose MRR differs most"))
      #expect(!html.contains(sb.apiKey))
      if let keep = ProcessInfo.processInfo.environment["RECONCILE_KEEP_REPORT"] {
        try? FileManager.default.removeItem(atPath: keep)
        try FileManager.default.copyItem(atPath: path, toPath: keep)
      }
    } catch {
      await receiver.stop()
      await sb.stop()
      throw error
    }
    await receiver.stop()
    await sb.stop()
  }

  @Test func drillDownPagesThroughEveryChartMogulCustomer() async throws {
    let now = Timestamp(seconds: Int64(Date().timeIntervalSince1970))
    let c = now.components
    let start = Timestamp.utc(c.year, c.month, 1)!.adding(months: -3)
    let local = (0...3).map { i in
      Fx.invoice(
        "stripe_ch_p\(i)", "2001", "USD",
        [Fx.line(Self.monthly, "stripe_sub_2001", start.adding(months: i), amount: 4900)])
    }
    // ChartMogul holds 205 customers (two pages of 200); only the last one differs from local data.
    let customers = (1...205).map { CustomerRecord(externalID: String(2000 + $0)) }
    let sb = try await SandboxHarness.start()
    do {
      var loader = SandboxFixture(sb)
      try await loader.load(
        customers: customers, plans: [Self.monthly, Self.yearly], invoices: local, cancellations: [])
      try await loader.importInvoice(
        Fx.invoice("manual_205", "2205", "USD", [Fx.line(Self.yearly, "manual_sub_2205", start, amount: 120_000)]))
      let f = try RunFixture()
      try f.writeTransform(
        customers: [CustomerRecord(externalID: "2001")], plans: [Self.monthly, Self.yearly], invoices: local)
      let result = try await ValidateStage.run(f.context(try f.pipeline(Self.pipelineYAML(sb, webhook: nil))))
      #expect(!result.passed)
      #expect(result.drillDown.map(\.externalID) == ["2205"])
      #expect(result.drillDown.first?.chartMogul == 10_000)
      #expect(result.drillDown.first?.local == 0)
    } catch {
      await sb.stop()
      throw error
    }
    await sb.stop()
  }

  @Test func missingFXRateIsAConfigErrorNamingTheKey() async throws {
    let now = Timestamp(seconds: Int64(Date().timeIntervalSince1970))
    let d = Self.data(now: now)
    let f = try RunFixture()
    try f.writeTransform(customers: d.customers, plans: d.plans, invoices: d.invoices, cancellations: d.cancellations)
    let p = try f.pipeline(
      "destination:\n  chartmogul: { api_key: k_test_1234, api_url: http://127.0.0.1:9 }\nvalidate:\n  reporting_currency: USD\n"
    )
    await #expect(throws: ConfigError.self) { try await ValidateStage.run(f.context(p)) }
    do {
      _ = try await ValidateStage.run(f.context(p))
    } catch let e as ConfigError {
      #expect(e.key == "validate.fx")
      #expect(e.message.contains("EGP"))
    }
  }
}

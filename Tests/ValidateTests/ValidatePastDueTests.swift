import ETLTestSupport
import Foundation
import RevenueCore
import Sandbox
import Staging
import Testing
import Validate

/// validate shows the business truth while ChartMogul (the sandbox in its default past-due mode)
/// keeps counting a subscription that stopped renewing without a cancellation; the drill-down names it.
@Suite struct ValidatePastDueTests {
  static let monthly = PlanRecord(name: "Starter", intervalCount: 1, intervalUnit: .month, currency: "USD")

  @Test func aPastDueSubscriptionChartMogulStillCountsIsNamedWithWhatToDo() async throws {
    let now = Timestamp(seconds: Int64(Date().timeIntervalSince1970))
    let c = now.components
    let m0 = Timestamp.utc(c.year, c.month, 1)!.adding(months: -6)
    // 2001 pays every month up to the current one; 2002 paid months 0–2 and then nothing, and no
    // cancellation was ever recorded (a missed webhook).
    var invoices: [InvoiceRecord] = []
    for i in 0...6 {
      invoices.append(
        Fx.invoice(
          "in_2001_\(i)", "2001", "USD", [Fx.line(Self.monthly, "sub_2001", m0.adding(months: i), amount: 5000)]))
    }
    for i in 0...2 {
      invoices.append(
        Fx.invoice(
          "in_2002_\(i)", "2002", "USD", [Fx.line(Self.monthly, "sub_2002", m0.adding(months: i), amount: 2900)]))
    }
    let customers = ["2001", "2002"].map { CustomerRecord(externalID: $0, name: "Customer \($0)") }
    let sb = try await SandboxHarness.start()  // default: past-due subscriptions keep their MRR
    do {
      var loader = SandboxFixture(sb)
      try await loader.load(customers: customers, plans: [Self.monthly], invoices: invoices, cancellations: [])
      let f = try RunFixture()
      try f.writeTransform(customers: customers, plans: [Self.monthly], invoices: invoices, cancellations: [])
      let p = try f.pipeline(
        """
        destination:
          chartmogul:
            api_key: \(sb.apiKey)
            api_url: \(sb.baseURL)
            data_source_uuid: \(sb.dataSourceUUID)
        validate:
          mrr_variance_threshold: 1%
          drill_down: 5

        """)
      let r = try await ValidateStage.run(f.context(p))
      #expect(!r.passed)
      // Months 0–2 agree; from month 3 the business has 50.00, ChartMogul 50.00 + 29.00.
      #expect(r.months.map(\.local.mrr) == [7900, 7900, 7900, 5000, 5000, 5000])
      #expect(r.months.map(\.remoteMRR) == [7900, 7900, 7900, 7900, 7900, 7900])
      let d = try #require(r.drillDown.first)
      #expect(r.drillDown.count == 1)
      #expect(d.externalID == "2002")
      #expect(d.local == 0)
      #expect(d.chartMogul == 2900)
      #expect(
        d.pastDue
          == [
            .init(
              customerExternalID: "2002", subscriptionExternalID: "sub_2002", since: m0.adding(months: 3), mrr: 2900,
              currency: "USD")
          ])
      let text = r.lines.joined(separator: "\n")
      #expect(text.contains("subscription sub_2002 past due since \(m0.adding(months: 3).dateString)"), "\(text)")
      #expect(text.contains("let lapse detection cancel it (transform.lapse_after_days) or lower lapse_after_days"))
      let json = try #require(try AtomicFile.readJSON(f.run.path + "/validate.json"))
      let pd = json["drill_down"]?[0]?["past_due"]?[0]
      #expect(pd?["subscription_external_id"]?.stringValue == "sub_2002")
      #expect(pd?["past_due_since"]?.stringValue == m0.adding(months: 3).iso8601)
      #expect(pd?["what_to_do"]?.stringValue == CustomerDifference.pastDueAdvice)

      // Once the cancellation reaches ChartMogul (dated at the end of the last paid period, as lapse
      // detection sends it), both sides agree.
      let sub = try #require(loader.subscriptionUUIDs["sub_2002"])
      let cancel = try await sb.client.send(
        "PATCH", "/v1/import/subscriptions/\(sub)", json: ["cancelled_at": .string(m0.adding(months: 3).iso8601)])
      #expect(cancel.status == 202)
      let fixed = try await ValidateStage.run(f.context(p))
      #expect(fixed.passed, "\(fixed.lines.joined(separator: "\n"))")
    } catch {
      await sb.stop()
      throw error
    }
    await sb.stop()
  }
}

import ETLTestSupport
import Foundation
import RevenueCore
import Sandbox
import Testing

/// ChartMogul's "Handling past-due subscriptions" in the sandbox, on hand-computed data: a monthly
/// 50.00 subscription paid for January, February and March 2026 (periods Jan 1 – Apr 1), never
/// renewed and never cancelled.
///
/// | mode | Jan | Feb | Mar | Apr | May | Jun | status now |
/// |---|---|---|---|---|---|---|---|
/// | default (keep until cancelled) | 50 | 50 | 50 | 50 | 50 | 50 | Past Due |
/// | auto-churn 30 days | 50 | 50 | 50 | 0 (churn −50, dated Apr 1) | 0 | 0 | Cancelled |
@Suite struct SandboxPastDueTests {
  func paidJanuaryToMarch(_ sb: SandboxHarness, customer ext: String = "pd") async throws -> String {
    let plan = try await sb.plan("pro_usd_1month")
    let cus = try await sb.customer(ext)
    let invoices = (1...3).map { m in
      invoice(
        "\(ext)-inv-\(m)", date: "2026-0\(m)-01",
        lines: [subLine(plan: plan, sub: "\(ext)-sub", start: "2026-0\(m)-01", end: "2026-0\(m + 1)-01", amount: 5000)])
    }
    let r = try await sb.importInvoices(cus, invoices)
    try #require(r.status == 201, "\(r.text)")
    return cus
  }

  func months(_ sb: SandboxHarness) async throws -> [[Int64]] {
    let r = try await sb.client.get("/v1/metrics/mrr?start-date=2026-01-01&end-date=2026-06-30&interval=month")
    let entries = try #require(r.json?["entries"]?.arrayValue)
    return entries.map { e in ["mrr", "mrr-new-business", "mrr-churn"].map { e[$0]?.int64Value ?? -1 } }
  }

  func subscriptionUUID(_ sb: SandboxHarness, _ customer: String) async throws -> String {
    let subs = try await sb.client.get("/v1/import/customers/\(customer)/subscriptions")
    return try #require(subs.json?["subscriptions"]?.arrayValue?.first?["uuid"]?.stringValue)
  }

  @Test func byDefaultAPastDueSubscriptionKeepsItsMRRUntilCancelled() async throws {
    try await withSandbox { sb in
      let cus = try await paidJanuaryToMarch(sb)
      #expect(
        try await months(sb) == [
          [5000, 5000, 0], [5000, 0, 0], [5000, 0, 0], [5000, 0, 0], [5000, 0, 0], [5000, 0, 0],
        ])
      let c = try await sb.client.get("/v1/customers/\(cus)")
      #expect(c.json?["status"] == "Past Due")
      #expect(c.json?["mrr"] == 5000)
      let listed = try await sb.client.get("/v1/customers?status=Past%20Due")
      #expect(listed.json?["entries"]?.arrayValue?.count == 1)
      let all = try await sb.client.get("/v1/metrics/all?start-date=2026-01-01&end-date=2026-06-30&interval=month")
      #expect(all.json?["entries"]?.arrayValue?.map { $0["customers"] } == [1, 1, 1, 1, 1, 1])

      // A cancellation ends it: churn on May 15, status Cancelled.
      let sub = try await subscriptionUUID(sb, cus)
      let cancel = try await sb.client.send(
        "PATCH", "/v1/import/subscriptions/\(sub)", json: ["cancelled_at": "2026-05-15T00:00:00Z"])
      #expect(cancel.status == 202)
      #expect(
        try await months(sb) == [
          [5000, 5000, 0], [5000, 0, 0], [5000, 0, 0], [5000, 0, 0], [0, 0, -5000], [0, 0, 0],
        ])
      #expect(try await sb.client.get("/v1/customers/\(cus)").json?["status"] == "Cancelled")

      // The full cancellation history replaces it; an empty one un-cancels (past due again).
      let moved = try await sb.client.send(
        "PATCH", "/v1/import/subscriptions/\(sub)", json: ["cancellation_dates": ["2026-04-01T00:00:00Z"]])
      #expect(moved.json?["cancellation_dates"] == ["2026-04-01T00:00:00.000Z"])
      #expect(try await months(sb)[3] == [0, 0, -5000])
      let cleared = try await sb.client.send(
        "PATCH", "/v1/import/subscriptions/\(sub)", json: ["cancellation_dates": []])
      #expect(cleared.json?["cancellation_dates"] == [])
      #expect(try await months(sb).map { $0[0] } == [5000, 5000, 5000, 5000, 5000, 5000])
      #expect(try await sb.client.get("/v1/customers/\(cus)").json?["status"] == "Past Due")
    }
  }

  @Test func autoChurnCancelsAtTheEndOfTheLastPaidPeriod() async throws {
    try await withSandbox(SandboxOptions(autoChurnDays: 30)) { sb in
      let cus = try await paidJanuaryToMarch(sb)
      #expect(
        try await months(sb) == [
          [5000, 5000, 0], [5000, 0, 0], [5000, 0, 0], [0, 0, -5000], [0, 0, 0], [0, 0, 0],
        ])
      let c = try await sb.client.get("/v1/customers/\(cus)")
      #expect(c.json?["status"] == "Cancelled")
      #expect(c.json?["mrr"] == 0)
      // Daily: still 50.00 on the last paid day, churned from April 1.
      let days = try await sb.client.get("/v1/metrics/mrr?start-date=2026-03-31&end-date=2026-04-01&interval=day")
      #expect(days.json?["entries"]?.arrayValue?.map { $0["mrr"] } == [5000, 0])
    }
  }

  /// A renewal that arrives late: Jan 1 – Feb 1 paid, next period Feb 20 – Mar 20 (19 days past due).
  @Test func aRenewalInsideTheAutoChurnWindowIsNoChurn() async throws {
    func feb10(_ options: SandboxOptions) async throws -> [JSONValue]? {
      var out: [JSONValue]?
      try await withSandbox(options) { sb in
        let plan = try await sb.plan("m")
        let cus = try await sb.customer("late")
        let r = try await sb.importInvoices(
          cus,
          [
            invoice(
              "l1", date: "2026-01-01",
              lines: [subLine(plan: plan, sub: "s", start: "2026-01-01", end: "2026-02-01", amount: 5000)]),
            invoice(
              "l2", date: "2026-02-20",
              lines: [subLine(plan: plan, sub: "s", start: "2026-02-20", end: "2026-03-20", amount: 5000)]),
          ])
        try #require(r.status == 201, "\(r.text)")
        let d = try await sb.client.get("/v1/metrics/mrr?start-date=2026-02-10&end-date=2026-02-20&interval=day")
        out = d.json?["entries"]?.arrayValue?.map { $0["mrr"] ?? .null }
      }
      return out
    }
    // 30 days: past due Feb 1–20 and still counted; 10 days: churned Feb 1, reactivated Feb 20.
    #expect(try await feb10(SandboxOptions(autoChurnDays: 30)) == Array(repeating: 5000, count: 11))
    #expect(try await feb10(SandboxOptions(autoChurnDays: 10)) == Array(repeating: 0, count: 10) + [5000])
    #expect(try await feb10(SandboxOptions()) == Array(repeating: 5000, count: 11))
  }

  /// Stripe test mode: a subscription created and cancelled in the same second. The cancellation
  /// at the instant its only line starts wins: it never counts, in either mode.
  @Test func aCancellationAtTheInstantALineStartsCancelsThatLine() async throws {
    for options in [SandboxOptions(), SandboxOptions(autoChurnDays: 30)] {
      try await withSandbox(options) { sb in
        let plan = try await sb.plan("m")
        let cus = try await sb.customer("instant")
        let start = "2026-06-01T10:00:00Z"
        let r = try await sb.importInvoices(
          cus,
          [
            invoice(
              "i1", date: start,
              lines: [subLine(plan: plan, sub: "s", start: start, end: "2026-07-01T10:00:00Z", amount: 5000)])
          ])
        try #require(r.status == 201, "\(r.text)")
        let sub = try await subscriptionUUID(sb, cus)
        let cancel = try await sb.client.send(
          "PATCH", "/v1/import/subscriptions/\(sub)", json: ["cancelled_at": .string(start)])
        #expect(cancel.status == 202, "\(cancel.text)")
        let days = try await sb.client.get("/v1/metrics/mrr?start-date=2026-06-01&end-date=2026-06-03&interval=day")
        #expect(days.json?["entries"]?.arrayValue?.map { $0["mrr"] } == [0, 0, 0])
        #expect(days.json?["entries"]?.arrayValue?.map { $0["mrr-new-business"] } == [0, 0, 0])
        #expect(try await sb.client.get("/v1/customers/\(cus)").json?["mrr"] == 0)
      }
    }
  }

  @Test func autoChurnDaysOutsideChartMogulsRangeIsRefused() async throws {
    await #expect(throws: SandboxError.self) { _ = try await SandboxServer.start(SandboxOptions(autoChurnDays: 0)) }
    await #expect(throws: SandboxError.self) { _ = try await SandboxServer.start(SandboxOptions(autoChurnDays: 91)) }
  }
}

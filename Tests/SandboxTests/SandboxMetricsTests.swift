import ETLTestSupport
import Foundation
import RevenueCore
import Sandbox
import Testing

/// MRR metrics on a hand-computed example (account currency USD, EUR at 1.10):
///
/// | customer | plan | lines | MRR |
/// |---|---|---|---|
/// | A (USD) | monthly | Jan, Feb, Mar: 120.00 incl. 20.00 tax (+ a 50.00 one-time line in Jan); cancelled Mar 15; new subscription May 20 | 100.00 Jan–Feb, 0 Mar–Apr, 100.00 May (reactivation) |
/// | B (EUR) | yearly | Jan 15 2025 – Jan 15 2026: 1,320.00 incl. 120.00 tax | 1,200/12 = 100.00 EUR = 110.00 USD |
/// | C (USD) | quarterly | Feb 10 – May 10: 360.00 incl. 60.00 tax (refund 100.00); May 10 – Aug 10: 660.00 incl. 60.00 | 100.00, then 200.00 (expansion) |
/// | D (USD) | monthly | Jan only: 50.00, no renewal, no cancellation | 50.00 Jan, churn in Feb |
/// | E (USD) | monthly | Mar: 80.00; Apr: 50.00; nothing after May 1 | 80.00 Mar, 50.00 Apr (contraction), churn in May |
///
/// Month ends: Jan 260.00 (new 260), Feb 310.00 (new 100 C, churn −50 D), Mar 290.00 (new 80 E,
/// churn −100 A), Apr 260.00 (contraction −30 E), May 410.00 (expansion +100 C, reactivation
/// +100 A, churn −50 E).
@Suite struct SandboxMetricsTests {
  func load(_ sb: SandboxHarness) async throws {
    let monthly = try await sb.plan("basic_usd_1month", name: "Basic")
    let yearly = try await sb.plan("annual_eur_1year", unit: "year", name: "Annual")
    let quarterly = try await sb.plan("quarterly_usd_3month", count: 3, name: "Quarterly")
    let a = try await sb.customer("A")
    let b = try await sb.customer("B")
    let c = try await sb.customer("C")
    let d = try await sb.customer("D")
    let e = try await sb.customer("E")
    func ok(_ r: SandboxTestClient.Reply) throws { try #require(r.status == 201, "\(r.text)") }
    let a1 = try await sb.importInvoices(
      a,
      [
        invoice(
          "a1", date: "2025-01-01",
          lines: [
            subLine(plan: monthly, sub: "a-sub", start: "2025-01-01", end: "2025-02-01", amount: 12000, tax: 2000),
            ["type": "one_time", "amount_in_cents": 5000, "description": "Onboarding"],
          ]),
        invoice(
          "a2", date: "2025-02-01",
          lines: [
            subLine(plan: monthly, sub: "a-sub", start: "2025-02-01", end: "2025-03-01", amount: 12000, tax: 2000)
          ]),
        invoice(
          "a3", date: "2025-03-01",
          lines: [
            subLine(plan: monthly, sub: "a-sub", start: "2025-03-01", end: "2025-04-01", amount: 12000, tax: 2000)
          ]),
        invoice(
          "a4", date: "2025-05-20",
          lines: [
            subLine(plan: monthly, sub: "a-sub-2", start: "2025-05-20", end: "2025-06-20", amount: 12000, tax: 2000)
          ]),
      ])
    try ok(a1)
    try ok(
      try await sb.importInvoices(
        b,
        [
          invoice(
            "b1", date: "2025-01-15", currency: "EUR",
            lines: [
              subLine(plan: yearly, sub: "b-sub", start: "2025-01-15", end: "2026-01-15", amount: 132000, tax: 12000)
            ])
        ]))
    let c1 = try await sb.importInvoices(
      c,
      [
        invoice(
          "c1", date: "2025-02-10",
          lines: [
            subLine(plan: quarterly, sub: "c-sub", start: "2025-02-10", end: "2025-05-10", amount: 36000, tax: 6000)
          ]),
        invoice(
          "c2", date: "2025-05-10",
          lines: [
            subLine(
              plan: quarterly, sub: "c-sub", start: "2025-05-10", end: "2025-08-10", amount: 66000, tax: 6000,
              quantity: 2)
          ]),
      ])
    try ok(c1)
    let c1uuid = try #require(c1.json?["invoices"]?.arrayValue?.first?["uuid"]?.stringValue)
    let refund = try await sb.client.post(
      "/v1/import/invoices/\(c1uuid)/transactions",
      ["type": "refund", "date": "2025-03-01", "result": "successful", "amount_in_cents": 10000])
    try #require(refund.status == 201)
    try ok(
      try await sb.importInvoices(
        d,
        [
          invoice(
            "d1", date: "2025-01-01",
            lines: [subLine(plan: monthly, sub: "d-sub", start: "2025-01-01", end: "2025-02-01", amount: 5000)])
        ]))
    try ok(
      try await sb.importInvoices(
        e,
        [
          invoice(
            "e1", date: "2025-03-01",
            lines: [subLine(plan: monthly, sub: "e-sub", start: "2025-03-01", end: "2025-04-01", amount: 8000)]),
          invoice(
            "e2", date: "2025-04-01",
            lines: [subLine(plan: monthly, sub: "e-sub", start: "2025-04-01", end: "2025-05-01", amount: 5000)]),
        ]))
    let subs = try await sb.client.get("/v1/import/customers/\(a)/subscriptions")
    let aSub = try #require(
      subs.json?["subscriptions"]?.arrayValue?.first { $0["external_id"] == "a-sub" }?["uuid"]?.stringValue)
    let cancel = try await sb.client.send(
      "PATCH", "/v1/import/subscriptions/\(aSub)", json: ["cancelled_at": "2025-03-15T12:00:00Z"])
    try #require(cancel.status == 202)
  }

  /// Auto-churn after 1 day past due, so D and E churn at the end of their last period as the table
  /// says (the default mode keeps them: SandboxPastDueTests).
  static let options = SandboxOptions(fx: ["EUR": 1.10], autoChurnDays: 1)

  @Test func mrrEntriesAndMovements() async throws {
    try await withSandbox(Self.options) { sb in
      try await load(sb)
      let r = try await sb.client.get("/v1/metrics/mrr?start-date=2025-01-01&end-date=2025-05-31&interval=month")
      #expect(r.status == 200)
      let entries = try #require(r.json?["entries"]?.arrayValue)
      func row(_ e: JSONValue) -> [Int64] {
        ["mrr", "mrr-new-business", "mrr-expansion", "mrr-contraction", "mrr-churn", "mrr-reactivation"].map {
          e[$0]?.int64Value ?? -999_999
        }
      }
      #expect(
        entries.map { $0["date"]?.stringValue ?? "" } == [
          "2025-01-31", "2025-02-28", "2025-03-31", "2025-04-30", "2025-05-31",
        ])
      #expect(row(entries[0]) == [26000, 26000, 0, 0, 0, 0])
      #expect(row(entries[1]) == [31000, 10000, 0, 0, -5000, 0])
      #expect(row(entries[2]) == [29000, 8000, 0, 0, -10000, 0])
      #expect(row(entries[3]) == [26000, 0, 0, -3000, 0, 0])
      #expect(row(entries[4]) == [41000, 0, 10000, 0, -5000, 10000])
      #expect(r.json?["summary"]?["current"] == 41000)
      #expect(r.json?["summary"]?["previous"] == 26000)

      // A partial last interval ends at end-date: May 15 has C's renewal but not A's new subscription.
      let partial = try await sb.client.get("/v1/metrics/mrr?start-date=2025-05-01&end-date=2025-05-15")
      let p = try #require(partial.json?["entries"]?.arrayValue)
      #expect(p.map { $0["date"] } == ["2025-05-15"])
      #expect(p.first?["mrr"] == 31000)
      #expect(p.first?["mrr-churn"] == -5000)
    }
  }

  @Test func allMetricsAndErrors() async throws {
    try await withSandbox(Self.options) { sb in
      try await load(sb)
      let r = try await sb.client.get("/v1/metrics/all?start-date=2025-01-01&end-date=2025-05-31&interval=month")
      let entries = try #require(r.json?["entries"]?.arrayValue)
      #expect(entries.map { $0["customers"] } == [3, 3, 3, 3, 3])
      #expect(entries[4]["mrr"] == 41000)
      #expect(entries[4]["arr"] == 492000)
      #expect(entries[4]["arpa"] == 13667)
      #expect(entries[1]["customer-churn-rate"]?.doubleValue == 33.33)
      #expect(r.json?["summary"]?["current-mrr"] == 41000)

      let quarter = try await sb.client.get(
        "/v1/metrics/mrr?start-date=2025-01-01&end-date=2025-06-30&interval=quarter")
      #expect(quarter.json?["entries"]?.arrayValue?.map { $0["date"] } == ["2025-03-31", "2025-06-30"])
      #expect(try await sb.client.get("/v1/metrics/mrr?end-date=2025-01-01").status == 400)
      #expect(try await sb.client.get("/v1/metrics/mrr?start-date=2025-02-01&end-date=2025-01-01").status == 400)
      #expect(
        try await sb.client.get("/v1/metrics/mrr?start-date=2025-01-01&end-date=2025-02-01&interval=hour").status == 400
      )
      #expect(try await sb.client.get("/v1/metrics/nope?start-date=2025-01-01&end-date=2025-02-01").status == 404)
    }
  }

  @Test func customerMRRAndCurrencyRules() async throws {
    try await withSandbox(SandboxOptions(fx: ["EUR": 1.10, "JPY": 0.0065])) { sb in
      let plan = try await sb.plan("m")
      let cus = try await sb.customer("now")
      let start = isoDays(-5)
      let end = isoDays(25)
      let r = try await sb.importInvoices(
        cus,
        [
          invoice(
            "eur", date: start, currency: "EUR",
            lines: [subLine(plan: plan, sub: "s-eur", start: start, end: end, amount: 1190, tax: 190)]),
          invoice(
            "jpy", date: start, currency: "JPY",
            lines: [subLine(plan: plan, sub: "s-jpy", start: start, end: end, amount: 10000)]),
        ])
      try #require(r.status == 201, "\(r.text)")
      // 10.00 EUR → 11.00 USD = 1100; ¥10,000 (exponent 0) × 0.0065 = 65.00 USD = 6500.
      let c = try await sb.client.get("/v1/customers/\(cus)")
      #expect(c.json?["mrr"] == 7600)
      #expect(c.json?["arr"] == 91200)
      #expect(c.json?["status"] == "Active")
      let unknownFX = try await sb.importInvoices(
        cus,
        [
          invoice(
            "gbp", date: start, currency: "GBP",
            lines: [subLine(plan: plan, sub: "s-gbp", start: start, end: end, amount: 100)])
        ])
      #expect(unknownFX.status == 422)
      #expect(
        unknownFX.json?["invoices"]?.arrayValue?.first?["errors"]?["currency"]?.stringValue?.contains("exchange rate")
          == true)
    }
  }
}

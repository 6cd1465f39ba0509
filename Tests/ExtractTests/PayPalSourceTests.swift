import ETLTestSupport
import Extract
import Foundation
import RevenueCore
import Staging
import Testing

@Suite struct PayPalSourceTests {
  func harness(_ server: FixtureServer, secret: String = PayPalFixtureServer.Options().clientSecret) throws
    -> ExtractHarness
  {
    try ExtractHarness(
      sources: """
          paypal:
            client_id: \(PayPalFixtureServer.Options().clientID)
            client_secret: ${PAYPAL_SECRET}
            api_url: \(server.baseURL)
            since: 2025-09-01
            page_size: 4
            requests_per_second: 50
        """, environment: ["PAYPAL_SECRET": secret])
  }

  @Test func windowsPagesSubscriptionsAndPlans() async throws {
    let server = try await PayPalFixtureServer.start()
    defer { Task { await server.stop() } }
    let h = try harness(server)
    let result = try await h.run()
    let recs = try h.records("r1", "paypal")
    let txCount = try FixtureData.list("gateways/paypal/transactions.json").count
    let tx = recs.filter { $0.kind == "paypal.transaction" }
    #expect(tx.count == txCount)
    #expect(
      Set(recs.filter { $0.kind == "paypal.subscription" }.compactMap { $0["id"]?.stringValue }).count
        == (try FixtureData.list("gateways/paypal/subscriptions.json").count))
    let plans = Set(recs.filter { $0.kind == "paypal.plan" }.compactMap { $0["id"]?.stringValue })
    #expect(plans == ["P-GROWTH-EUR", "P-STARTER-USD", "P-GROWTH-USD-YEARLY"])
    // amounts stay PayPal's decimal strings
    #expect(tx.allSatisfy { $0["transaction_info"]?["transaction_amount"]?["value"]?.stringValue != nil })
    #expect(tx.allSatisfy { $0.origin["endpoint"] == "/v1/reporting/transactions" && $0.origin["start_date"] != nil })
    let calls = await server.requests(path: "/v1/reporting/transactions")
    for c in calls {
      let s = Timestamp.parse(c.value("start_date")!)!
      let e = Timestamp.parse(c.value("end_date")!)!
      #expect(e.seconds - s.seconds <= 31 * 86400 && c.value("fields") == "all")
    }
    #expect(calls.contains { $0.value("page") == "2" })
    // one token for the whole run; the window ends 3 h before now
    #expect(await server.requests(path: "/v1/oauth2/token").count == 1)
    let cursor = try #require(try h.manifest("r1")?.details["proposed_cursors"]?["paypal"])
    #expect(cursor["end"]?.stringValue == Timestamp(seconds: h.now.seconds - 3 * 3600).iso8601)
    // overlapping windows share their boundary second: rows seen twice are skipped, never staged twice
    #expect(result.accounting.input == result.accounting.output + result.accounting.skipped)
  }

  @Test func splitsWindowsThatAreTooLargeAndRefreshesTheTokenOnce() async throws {
    var o = PayPalFixtureServer.Options()
    o.maxItems = 2
    o.tokenUses = 5
    o.lastRefreshed = "2026-06-30T12:00:00+0000"
    let server = try await PayPalFixtureServer.start(o)
    defer { Task { await server.stop() } }
    let h = try harness(server)
    try await h.run()
    let tx = try h.records("r1", "paypal").filter { $0.kind == "paypal.transaction" }
    let expected = try FixtureData.list("gateways/paypal/transactions.json").filter {
      Timestamp.parse($0["transaction_info"]!["transaction_initiation_date"]!.stringValue!)! <= Timestamp.parse(
        "2026-06-30T12:00:00Z")!
    }
    #expect(
      Set(tx.compactMap { $0["transaction_info"]?["transaction_id"]?.stringValue })
        == Set(expected.compactMap { $0["transaction_info"]?["transaction_id"]?.stringValue }))
    #expect(try h.manifest("r1")?.details["sources"]?["paypal"]?["window_splits"]?.int64Value ?? 0 > 0)
    #expect(try h.manifest("r1")?.details["proposed_cursors"]?["paypal"]?["end"] == "2026-06-30T12:00:00Z")
    #expect(await server.requests(path: "/v1/oauth2/token").count > 1)
  }

  @Test func wrongSecretNamesTheCredentials() async throws {
    let server = try await PayPalFixtureServer.start()
    defer { Task { await server.stop() } }
    let h = try harness(server, secret: "not-the-secret-xyz")
    await #expect { try await h.run() } throws: { e in
      let d = "\(e)"
      return e is ConfigError && d.contains("sources.paypal.client_id") && d.contains("client_secret")
        && !d.contains("not-the-secret-xyz")
    }
    #expect(try h.manifest("r1") == nil)
  }

  @Test func rateLimitWithRetryAfterThenSuccess() async throws {
    let server = try await PayPalFixtureServer.start()
    defer { Task { await server.stop() } }
    let body = try RepositoryPaths.fixtureText("gateways/paypal/error-429.json")
    await server.inject(
      InjectedFault(
        path: "/v1/reporting/transactions", query: ["page": "2"], status: 429, headers: [("Retry-After", "3")],
        body: body))
    await server.inject(InjectedFault(path: "/v1/billing/plans/P-GROWTH-EUR", status: 500))
    let h = try harness(server)
    try await h.run()
    #expect(h.sleeper.waits.first == 3 && h.sleeper.waits.count == 2)
    #expect(try h.records("r1", "paypal").contains { $0["id"] == "P-GROWTH-EUR" })
  }
}

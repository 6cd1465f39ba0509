import ETLTestSupport
import Extract
import Foundation
import RevenueCore
import Staging
import Testing

@Suite struct StripeSourceTests {
  static let key = StripeFixtureServer.Options().apiKey

  func harness(_ server: FixtureServer, key: String = key, extra: String = "") throws -> ExtractHarness {
    try ExtractHarness(
      sources: """
          stripe:
            api_key: ${STRIPE_KEY}
            api_url: \(server.baseURL)
            since: 2025-09-01
            page_size: 5
            requests_per_second: 80
            api_version: 2025-03-31.basil
        \(extra)
        """, environment: ["STRIPE_KEY": key])
  }

  @Test func extractsEveryResourceWithPagingAndOrigins() async throws {
    var o = StripeFixtureServer.Options()
    o.embeddedLines = 0
    let server = try await StripeFixtureServer.start(o)
    defer { Task { await server.stop() } }
    let h = try harness(server)
    let result = try await h.run()
    let recs = try h.records("r1", "stripe")
    let expected = try ["customers", "subscriptions", "invoices", "charges", "refunds"].reduce(0) {
      try $0 + FixtureData.list("gateways/stripe/\($1).json").count
    }
    #expect(recs.count == expected && result.accounting == Accounting(input: expected, output: expected))
    #expect(
      Set(recs.map(\.kind)) == [
        "stripe.customer", "stripe.subscription", "stripe.invoice", "stripe.charge", "stripe.refund",
      ])
    #expect(
      recs.allSatisfy {
        $0.origin["endpoint"]?.stringValue?.hasPrefix("/v1/") == true && ($0.origin["page"]?.int64Value ?? 0) >= 1
      })
    // canceled subscriptions are included (status=all) and test-mode objects are kept
    #expect(recs.contains { $0.kind == "stripe.subscription" && $0["status"] == "canceled" })
    #expect(recs.contains { $0.record["livemode"] == false })
    // lines truncated to 0 were completed from /v1/invoices/{id}/lines
    let invoices = recs.filter { $0.kind == "stripe.invoice" }
    #expect(
      invoices.allSatisfy {
        $0.record["lines"]?["data"]?.arrayValue?.count == 1 && $0.record["lines"]?["has_more"] == false
      })
    #expect(invoices.contains { $0.record["subscription"] != nil })  // the legacy-shape invoice
    #expect(invoices.contains { $0.record["parent"]?["subscription_details"]?["subscription"] != nil })
    let requests = await server.requests()
    #expect(requests.allSatisfy { $0.headers["stripe-version"] == "2025-03-31.basil" })
    let invoiceCalls = requests.filter { $0.path == "/v1/invoices" }
    #expect(invoiceCalls.count > 1 && invoiceCalls.dropFirst().allSatisfy { $0.value("starting_after") != nil })
    #expect(invoiceCalls.allSatisfy { $0.value("created[gte]") == String(Timestamp.parse("2025-09-01")!.seconds) })
    #expect(
      requests.filter { $0.path == "/v1/subscriptions" }.allSatisfy {
        $0.value("status") == "all" && $0.value("created[gte]") == nil
      })
    let cursor = try #require(try h.manifest("r1")?.details["proposed_cursors"]?["stripe"])
    #expect(cursor["created_lt"]?.int64Value == h.now.seconds)
  }

  @Test func incrementalRunStartsAtCursorMinusLookback() async throws {
    let server = try await StripeFixtureServer.start()
    defer { Task { await server.stop() } }
    var h = try harness(server, extra: "    lookback_days: 2")
    try await h.run("r1")
    try h.commitCursors("r1")
    let first = await server.requests().count
    h.now = h.now.adding(days: 10)
    let r2 = try await h.run("r2")
    let second = Array(await server.requests().dropFirst(first))
    let gte = h.now.adding(days: -12).seconds
    #expect(second.filter { $0.path == "/v1/charges" }.allSatisfy { $0.value("created[gte]") == String(gte) })
    // nothing was created after the first window's end, so only subscriptions (always listed whole) come back
    #expect(try h.records("r2", "stripe").allSatisfy { $0.kind == "stripe.subscription" })
    #expect(r2.accounting.output == (try FixtureData.list("gateways/stripe/subscriptions.json").count))
  }

  @Test func retriesHonourRetryAfterAndServerErrors() async throws {
    let server = try await StripeFixtureServer.start()
    defer { Task { await server.stop() } }
    let body = try RepositoryPaths.fixtureText("gateways/stripe/error-429.json")
    await server.inject(InjectedFault(path: "/v1/customers", status: 429, headers: [("Retry-After", "7")], body: body))
    await server.inject(InjectedFault(path: "/v1/invoices", status: 500, times: 1))
    await server.inject(InjectedFault(path: "/v1/charges", status: 503, times: 2))
    let h = try harness(server)
    let result = try await h.run()
    #expect(result.accounting.rejected == 0 && result.accounting.output > 0)
    #expect(h.sleeper.waits.contains(7))
    #expect(h.sleeper.waits.count == 4)
    let http = try #require(result.details["http"]?["stripe"])
    #expect(http["retries"]?.int64Value == 4 && http["rate_limited"]?.int64Value == 1)
  }

  @Test func aPageThatNeverStopsFailingPublishesNothing() async throws {
    let server = try await StripeFixtureServer.start()
    defer { Task { await server.stop() } }
    let h = try harness(server)
    await server.inject(
      InjectedFault(path: "/v1/charges", status: 500, body: "{\"error\":{\"type\":\"api_error\"}}", times: nil))
    await #expect {
      try await h.run()
    } throws: { e in
      let d = "\(e)"
      return d.contains("'stripe'") && d.contains("GET /v1/charges page 1") && d.contains("4 attempts")
        && d.contains("nothing was published")
    }
    #expect(try h.manifest("r1") == nil)
    #expect(!FileManager.default.fileExists(atPath: h.area.runsDirectory + "/r1/extract"))
  }

  @Test func badKeyIsAConfigurationErrorNamingTheKeyWithoutLeakingIt() async throws {
    let server = try await StripeFixtureServer.start()
    defer { Task { await server.stop() } }
    let h = try harness(server, key: "sk_test_wrongKey123456")
    await #expect {
      try await h.run()
    } throws: { e in
      let d = "\(e)"
      return e is ConfigError && d.contains("sources.stripe.api_key") && d.contains("HTTP 401")
        && !d.contains("wrongKey")
    }
  }

  @Test func olderAPIVersionsWithoutExpandablePaymentsStillWork() async throws {
    var o = StripeFixtureServer.Options()
    o.refuseExpandPayments = true
    let server = try await StripeFixtureServer.start(o)
    defer { Task { await server.stop() } }
    let h = try harness(server)
    try await h.run()
    #expect(try h.records("r1", "stripe").contains { $0.kind == "stripe.invoice" })
    let calls = await server.requests(path: "/v1/invoices")
    #expect(calls.first?.values("expand[]") == ["data.payments"] && calls.last?.values("expand[]") == [])
  }
}

extension ExtractedRecord {
  subscript(key: String) -> JSONValue? { record[key] }
}

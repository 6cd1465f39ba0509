import ETLTestSupport
import Extract
import Foundation
import RevenueCore
import Staging
import Testing

@Suite struct CashierSourceTests {
  func harness(_ server: FixtureServer, key: String = CashierFixtureServer.apiKey) throws -> ExtractHarness {
    try ExtractHarness(
      sources: """
          cashier:
            api_key: \(key)
            api_url: \(server.baseURL)/
            since: 2025-09-01
            per_page: 7
            requests_per_second: 50
        """)
  }

  @Test func pagesByNextAndKeepsTestRowsAndPendingHoldsTheCursor() async throws {
    let server = try await CashierFixtureServer.start()
    defer { Task { await server.stop() } }
    var h = try harness(server)
    let r = try await h.run("r1")
    let rows = try FixtureData.list("gateways/cashier/transactions.json")
    let recs = try h.records("r1", "cashier")
    #expect(recs.count == rows.count && r.accounting == Accounting(input: rows.count, output: rows.count))
    #expect(recs.map { $0["transaction_id"]?.stringValue } == rows.map { $0["transaction_id"]?.stringValue })
    #expect(recs.contains { $0["mode"] == "test" })
    #expect(recs.allSatisfy { $0.kind == "cashier.transaction" && $0.origin["endpoint"] == "/v1/transactions" })
    let pages = await server.requests(path: "/v1/transactions").compactMap { $0.value("page") }
    #expect(pages == (1...((rows.count + 6) / 7)).map(String.init))
    // Pending rows older than 30 days no longer hold the cursor: it is the newest settled row.
    let newest = rows.filter { $0["status"] != "PENDING" }.compactMap {
      $0["created_at"]?.stringValue.flatMap(Timestamp.parse)
    }.max()
    let full = try #require(try h.manifest("r1")?.details["proposed_cursors"]?["cashier"]?["created_at"]?.stringValue)
    #expect(Timestamp.parse(full) == newest)

    // A recent PENDING row holds the cursor at its created_at, so the next run (24 h overlap) reads it again.
    let pending = try #require(rows.first { $0["status"] == "PENDING" })
    let pendingAt = try #require(Timestamp.parse(pending["created_at"]!.stringValue!))
    h.now = pendingAt.adding(days: 3)
    try await h.run("p1")
    let cursor = try #require(try h.manifest("p1")?.details["proposed_cursors"]?["cashier"]?["created_at"]?.stringValue)
    #expect(Timestamp.parse(cursor) == pendingAt)
    try h.commitCursors("p1")
    h.now = h.now.adding(days: 1)
    try await h.run("p2")
    let second = await server.requests(path: "/v1/transactions").last!
    #expect(Timestamp.parse(second.value("created_gte")!)!.seconds == pendingAt.seconds - 86400)
    #expect(try h.records("p2", "cashier").contains { $0["transaction_id"] == pending["transaction_id"] })
  }

  @Test func badKeyAndPersistentFailure() async throws {
    let server = try await CashierFixtureServer.start()
    defer { Task { await server.stop() } }
    let bad = try harness(server, key: "wrong_key_abcdef")
    await #expect { try await bad.run() } throws: { e in
      e is ConfigError && "\(e)".contains("sources.cashier.api_key") && !"\(e)".contains("wrong_key_abcdef")
    }
    await server.inject(InjectedFault(path: "/v1/transactions", query: ["page": "2"], status: 502, times: nil))
    let h = try harness(server)
    await #expect { try await h.run() } throws: {
      "\($0)".contains("GET /v1/transactions page 2 still failed after 4 attempts")
    }
    #expect(try h.manifest("r1") == nil)
  }
}

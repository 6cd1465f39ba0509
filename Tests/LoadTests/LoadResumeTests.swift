import AppDatabase
import ETLTestSupport
import Foundation
import Logging
import RevenueCore
import Sandbox
import Staging
import Testing

@testable import Load

/// A load killed with SIGKILL resumes without duplicates; write-back reaches a real Postgres.
@Suite(.serialized) struct LoadResumeTests {
  /// `etl-bench` next to the test bundle (its `load-child` mode runs one load in a separate process).
  static func benchBinary() throws -> String {
    var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    for _ in 0..<4 {
      let c = dir.appendingPathComponent("etl-bench").path
      if FileManager.default.isExecutableFile(atPath: c) { return c }
      dir.deleteLastPathComponent()
    }
    throw StagingError("etl-bench is not built next to the test bundle; run `swift build` first")
  }

  @Test func sigkillMidLoadThenLoadAgainEndsInTheCleanStateWithoutDuplicates() async throws {
    let data = LoadData.make(customers: 40, invoicesPerCustomer: 3)
    let clean: ChartMogulView
    do {
      let h = try await LoadHarness()
      _ = try await h.load(try h.newRun(data, id: "clean"))
      clean = try await h.chartMogulState()
      await h.stop()
    }
    let h = try await LoadHarness(
      extraConfig: "    max_imports_in_flight: 1", faults: SandboxFaults(latency: 0.01), processingDelay: 0.3)
    let run = try h.newRun(data, id: "k1")
    let p = Process()
    p.executableURL = URL(fileURLWithPath: try Self.benchBinary())
    p.arguments = ["load-child", h.pipelinePath, run.id]
    var env = ProcessInfo.processInfo.environment
    env["CHARTMOGUL_API_KEY"] = LoadHarness.apiKey
    p.environment = env
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    // Kill it once some records are confirmed in the partial ledger, while imports are still going.
    let partial = run.path + "/load.partial/ledger.ndjson"
    let deadline = Date().addingTimeInterval(60)
    while Date() < deadline {
      if let t = try? String(contentsOfFile: partial, encoding: .utf8), t.contains("\"confirmed\""),
        t.contains("\"submitting\"")
      {
        let confirmedLines = t.split(separator: "\n").filter { $0.contains("\"status\":\"confirmed\"") }.count
        if confirmedLines >= 10 { break }
      }
      try await Task.sleep(nanoseconds: 5_000_000)
    }
    kill(p.processIdentifier, SIGKILL)
    p.waitUntilExit()
    #expect(p.terminationReason == .uncaughtSignal, "the child finished before it could be killed")
    #expect(!run.isComplete("load"))

    let r = try await h.load(run)
    #expect(r.accounting.failed == 0, "\(r.lines)")
    #expect(r.accounting.output == data.recordCount)
    #expect(try h.ledger(run).allSatisfy { $0.status == .confirmed })
    #expect(try await h.chartMogulState() == clean)
    await h.stop()
  }

  @Test func writeBackToPostgres() async throws {
    let db = try TestDatabase.create(seeded: true)  // the app schema (fixtures/app/seed.sql)
    defer { db.drop() }
    _ = try Migrations.migrate(url: db.url)
    var data = LoadData.make(customers: 4, invoicesPerCustomer: 2)
    var txIDs: [String] = []
    for (n, c) in data.customers.enumerated() {
      let uid = String(format: "00000000-0000-4000-8000-%012d", n + 1)
      try db.execute("INSERT INTO users (id, email, created_at) VALUES ('\(uid)', '\(c.email!)', '2024-12-01')")
      let sid = String(format: "10000000-0000-4000-8000-%012d", n + 1)
      try db.execute(
        "INSERT INTO subscriptions (id, user_id, gateway, gateway_subscription_id, plan_name, status, started_at, canceled_at) VALUES ('\(sid)', '\(uid)', 'stripe', 'sub_\(n)', 'price', 'canceled', '2025-01-01', '2025-03-01')"
      )
      for (k, inv) in data.invoices.enumerated() where inv.customerExternalID == c.externalID {
        let tid = String(format: "20000000-0000-4000-8000-%012d", k + 1)
        try db.execute(
          "INSERT INTO transactions (id, user_id, subscription_id, gateway, gateway_transaction_id, product_type, amount_cents, currency, status, transaction_date) VALUES ('\(tid)', '\(uid)', '\(sid)', 'stripe', '\(inv.externalID)', 'subscription', 2000, 'USD', 'completed', '2025-01-01')"
        )
        data.invoices[k].appTransactionID = tid
        txIDs.append(tid)
      }
      for k in data.cancellations.indices where data.cancellations[k].customerExternalID == c.externalID {
        data.cancellations[k].appSubscriptionID = sid
      }
    }
    data.invoices[2].currency = "XXX"  // refused: customer 1's records fail and are written back as failures
    let h = try await LoadHarness(extraConfig: "    write_back_url: \(db.url)")
    let run = try h.newRun(data, id: "w1")
    let r = try await h.load(run)
    #expect(r.accounting.failed > 0)
    #expect(r.details["write_back"]?["error"] == nil, "\(r.lines)")
    let ours = "id::text LIKE '20000000-0000-4000-8000-%'"
    let synced = try db.query(
      "SELECT id::text AS id FROM transactions WHERE \(ours) AND chartmogul_synced_at IS NOT NULL AND chartmogul_sync_error IS NULL"
    )
    #expect(synced.count == txIDs.count - 2)
    let failed = try db.query(
      "SELECT chartmogul_sync_error AS e, chartmogul_sync_attempts AS a FROM transactions WHERE \(ours) AND chartmogul_synced_at IS NULL"
    )
    #expect(failed.count == 2)
    #expect(failed.allSatisfy { ($0["e"] ?? nil)?.contains("XXX") == true && ($0["a"] ?? nil) == "1" })
    let cancelled = try db.query(
      "SELECT chartmogul_subscription_uuid AS u FROM subscriptions WHERE chartmogul_cancelled_at IS NOT NULL AND id::text LIKE '10000000-0000-4000-8000-%'"
    )
    #expect(cancelled.count == data.cancellations.filter { $0.customerExternalID != "user-0001" }.count)
    #expect(cancelled.allSatisfy { ($0["u"] ?? nil)?.hasPrefix("sub_") == true })
    let status = try db.query(
      "SELECT sync_type, records_synced, records_failed FROM chartmogul_sync_status ORDER BY sync_type")
    #expect(status.contains { $0["sync_type"] == "invoices" && $0["records_failed"] == "2" })
    // Rerun (e.g. after a crashed write-back): nothing is sent again and the rows stay confirmed.
    let before = await h.sandbox.requestCount()
    _ = try await LoadStage.retry(
      pipeline: h.pipeline, environment: h.environment, area: h.area, logger: Logger(label: "t"), progress: NoProgress()
    )
    #expect(await h.sandbox.requestCount() > before)  // the failed customer was re-sent (and refused again)
    let failedAgain = try db.query(
      "SELECT chartmogul_sync_attempts AS a FROM transactions WHERE \(ours) AND chartmogul_synced_at IS NULL")
    #expect(failedAgain.allSatisfy { ($0["a"] ?? nil) == "2" })
    await h.stop()
  }
}

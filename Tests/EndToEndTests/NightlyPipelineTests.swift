import ETLTestSupport
import Foundation
import RevenueCore
import Staging
import Testing

/// `pipelines/nightly.yaml` end to end through the CLI binary: real PostgreSQL, the gateways' APIs on
/// loopback, the ChartMogul sandbox.
@Suite("End to end: the nightly pipeline through the CLI", .serialized)
struct NightlyPipelineTests {
  @Test("migrate, run, rerun: everything reaches ChartMogul once, MRR matches and the app database learns the uuids")
  func nightlyRunAndRerun() async throws {
    try await EndToEndWorld.with { world in try await nightlyRunAndRerun(world) }
  }

  func nightlyRunAndRerun(_ world: EndToEndWorld) async throws {
    let nightly = EndToEndWorld.pipeline("nightly")

    // migrate first (the README's order), idempotent.
    let migrate = try await world.cli(["migrate", "--database-url", world.db.url])
    #expect(migrate.status == 0, "\(migrate.transcript)")
    #expect(migrate.output.contains("applied"))
    let again = try await world.cli(["migrate", "--database-url", world.db.url])
    #expect(again.status == 0, "\(again.transcript)")
    #expect(again.output.contains("nothing to do"))

    let status = try await world.cli(["status", "--pipeline", nightly])
    #expect(status.status == 0, "\(status.transcript)")
    #expect(status.stdout.contains("no runs yet"))

    // First run: extract → transform → load → validate.
    let first = try await world.cli(["run", "--pipeline", nightly, "--no-progress"])
    try #require(first.status == 0, "\(first.transcript)")
    let firstID = try #require(first.runID, "\(first.transcript)")
    #expect(first.stdout.contains("passed: max variance"))
    #expect(first.stdout.contains("report: "))
    let area = try world.area()
    let run = try area.existingRun(firstID)
    #expect(FileSystem.exists(run.path + "/report.html"))
    let record = try JSONParser.parse(Staged.bytes(run.runRecordPath))
    #expect(record["outcome"]?.stringValue == "succeeded")

    // Every source contributed and every staged record reached ChartMogul.
    let extract = try #require(try run.manifest("extract"))
    for source in ["postgres", "stripe", "paypal", "cashier"] {
      #expect((extract.bySource[source]?.output ?? 0) > 0, "\(source) staged nothing")
    }
    try await world.sandbox.waitForImports()
    let snapshot = await world.sandbox.snapshot()
    try expectSandboxHolds(run: run, snapshot: snapshot)

    // Write-back: exactly the app's revenue transactions (paid or refunded, not test users) are marked
    // synced, with the invoice uuid ChartMogul gave them.
    let synced = try world.db.query(
      "SELECT gateway, gateway_transaction_id, chartmogul_invoice_uuid, chartmogul_customer_uuid FROM transactions WHERE chartmogul_synced_at IS NOT NULL ORDER BY 1, 2"
    )
    let expected = try world.db.query(
      "SELECT t.gateway, t.gateway_transaction_id FROM transactions t JOIN users u ON u.id = t.user_id WHERE t.status IN ('completed', 'refunded') AND NOT u.is_test ORDER BY 1, 2"
    )
    #expect(!expected.isEmpty)
    #expect(synced.map { key($0) } == expected.map { key($0) })
    #expect(
      synced.allSatisfy {
        ($0["chartmogul_invoice_uuid"] ?? nil) != nil && ($0["chartmogul_customer_uuid"] ?? nil) != nil
      })
    for row in synced.prefix(3) {
      let external = "\(row["gateway"]!!)_\(row["gateway_transaction_id"]!!)"
      let reply = try await world.sandbox.client.get(
        "/v1/invoices?external_id=\(external)&data_source_uuid=\(world.sandbox.dataSourceUUID)")
      let uuid = reply.json?["invoices"]?.arrayValue?.first?["uuid"]?.stringValue
      #expect(uuid != nil && uuid == (row["chartmogul_invoice_uuid"] ?? nil), "invoice \(external): \(reply.text)")
    }
    let cancelled = try world.db.query(
      "SELECT gateway_subscription_id FROM subscriptions WHERE chartmogul_cancelled_at IS NOT NULL ORDER BY 1")
    let appCancelled = try world.db.query(
      "SELECT s.gateway_subscription_id FROM subscriptions s JOIN users u ON u.id = s.user_id WHERE s.canceled_at IS NOT NULL AND NOT u.is_test ORDER BY 1"
    )
    #expect(!appCancelled.isEmpty)
    #expect(
      cancelled.map { $0["gateway_subscription_id"] ?? nil }
        == appCancelled.map { $0["gateway_subscription_id"] ?? nil })
    let statusRows = try world.db.scalar("SELECT count(*) FROM chartmogul_sync_status WHERE run_id = $1", [firstID])
    #expect(Int(statusRows ?? "0") ?? 0 > 0)

    // Second run: nothing new in the app, the gateways' look-back finds only confirmed records, and
    // nothing is written to ChartMogul.
    await world.sandbox.server.resetRequestCounts()
    let second = try await world.cli(["run", "--pipeline", nightly, "--no-progress"])
    #expect(second.status == 0, "\(second.transcript)")
    let secondID = try #require(second.runID, "\(second.transcript)")
    #expect(secondID != firstID)
    let writes = await world.sandboxWrites()
    let secondSnapshot = await world.sandbox.snapshot()
    // The Stripe source re-lists every subscription but not their (unchanged) customers: transform
    // resolves them through the customer index the first run published, so no `stripe:cus_…`
    // duplicate appears and no attribute set regresses.
    #expect(writes.isEmpty, "second run wrote: \(writes)")
    #expect(second.stdout.contains("sent: 0 bulk imports"), "\(second.transcript)")
    #expect(secondSnapshot == snapshot)
    let rerun = try area.existingRun(secondID)
    let postgres = try #require(try rerun.manifest("extract")?.details["sources"]?["postgres"])
    // Nothing of the app is read again: everything sendable was confirmed, and test users' rows
    // (dropped by transform, so never confirmed) are left out of incremental reads.
    let testRows = try world.db.scalar(
      "SELECT count(*) FROM transactions t JOIN users u ON u.id = t.user_id WHERE u.is_test AND t.status IN ('completed', 'refunded')"
    )
    #expect(Int(testRows ?? "") ?? 0 > 0, "the seed has test users' payments")
    #expect(postgres["transactions"]?.int64Value == 0, "\(JSONWriter.string(postgres))")
    #expect(postgres["subscriptions"]?.int64Value == 0, "\(JSONWriter.string(postgres))")

    // validate on its own agrees.
    let validate = try await world.cli(["validate", "--pipeline", nightly])
    #expect(validate.status == 0, "\(validate.transcript)")
    #expect(validate.stdout.contains("passed"))
  }

  func key(_ row: [String: String?]) -> String {
    "\((row["gateway"] ?? nil) ?? "")_\((row["gateway_transaction_id"] ?? nil) ?? "")"
  }

  /// The sandbox holds one customer, plan and invoice per line of the run's transform output.
  func expectSandboxHolds(run: RunFolder, snapshot: JSONValue) throws {
    for (file, list) in [("customers", "customers"), ("plans", "plans"), ("invoices", "invoices")] {
      let staged = try Staged.lines(run.file("transform", "\(file).ndjson"))
      let stored = snapshot[list]?.arrayValue ?? []
      #expect(!staged.isEmpty, "transform/\(file).ndjson is empty")
      let stagedIDs = Set(staged.compactMap { $0["external_id"]?.stringValue })
      let storedIDs = Set(stored.compactMap { $0["external_id"]?.stringValue })
      #expect(
        stagedIDs == storedIDs,
        "\(file): staged but not stored \(stagedIDs.subtracting(storedIDs).sorted().prefix(5)), stored but not staged \(storedIDs.subtracting(stagedIDs).sorted().prefix(5))"
      )
    }
  }
}

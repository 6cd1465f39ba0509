import AppDatabase
import ETLTestSupport
import Foundation
import PostgresClient
import RevenueCore
import Testing

@Suite("default app queries on the seed")
struct AppQueryTests {
  @Test func usersQueryReturnsEveryUserWithStats() throws {
    let db = try migratedSeed()
    defer { db.drop() }
    let lines = try extractLines(AppQueries.users, sql: AppQueries.usersSQL, url: db.url)
    #expect(lines.count == 44)
    let recs = try records(lines)
    for r in recs { #expect(Set(r.keys) == Set(AppQueries.users.columns)) }
    let sean = try #require(recs.first { $0.string("id") == "a0000000-0000-4000-8000-000000000016" })
    #expect(sean.string("name") == "Seán O'Brien")
    #expect(sean["is_test"] == .bool(false))
    #expect(sean["login_count"] == .number("70"))
    let studio = try #require(recs.first { $0.string("id") == "a0000000-0000-4000-8000-000000000017" })
    #expect(studio.string("name") == #"Back\Slash "Quoted" Studio"#)
    let qa = try #require(recs.first { $0.string("id") == "a0000000-0000-4000-8000-000000000012" })
    #expect(qa["is_test"] == .bool(true))
    let noStats = try #require(recs.first { $0.string("id") == "a0000000-0000-4000-8000-000000000038" })
    #expect(noStats["ai_generations"] == .null && noStats["avg_rating"] == .null && noStats["name"] == .null)
    let u1 = try #require(recs.first { $0.string("id") == "a0000000-0000-4000-8000-000000000001" })
    #expect(u1["avg_rating"] == .number("4.30"))
    #expect(u1.string("created_at") == "2025-10-02T09:14:00+00:00")
    // Provenance and wrapper.
    let first = try JSONParser.parse(lines[0])
    #expect(first["source"] == "postgres" && first["gateway"] == "app" && first["kind"] == "app.user")
    #expect(first["origin"] == ["query": "users", "row": 1])
    #expect(JSONWriter.string(try ExtractedRecord(json: first).json) == lines[0])
    #expect(JSONWriter.string(first) == lines[0])  // byte-identical to JSONWriter
  }

  @Test func everyQueryMatchesRowToJSON() throws {
    let db = try migratedSeed()
    defer { db.drop() }
    // Make refunds and cancellations visible: pretend earlier loads confirmed some rows.
    try db.execute(
      """
      UPDATE transactions SET chartmogul_synced_at = '2026-04-01 00:00:00'
        WHERE gateway_transaction_id IN ('ch_07a_03', 'ch_08a_02', 'CSH-23a-02', 'PP31a-04', 'ch_01a_01');
      """)
    let settings = PostgresSourceSettings(url: Secret(db.url))
    for spec in AppQueries.all {
      let (sql, params) = try #require(settings.sql(for: spec))
      let ours = try records(try extractLines(spec, sql: sql, parameters: params, url: db.url)).map {
        JSONWriter.string(.object($0))
      }
      let reference = try rowToJSON(sql, parameters: params, url: db.url)
      #expect(ours == reference, "query \(spec.name)")
      #expect(!ours.isEmpty, "query \(spec.name)")
    }
  }

  @Test func transactionsToSync() throws {
    let db = try migratedSeed()
    defer { db.drop() }
    let sql = AppQueries.transactionsSQL(backfill: false)
    let all = try records(try extractLines(AppQueries.transactions, sql: sql, parameters: [nil], url: db.url))
    // Every paid transaction except test users' (transform would drop them, so they would never be
    // confirmed and come back every night).
    let expected = try db.scalar(
      "SELECT count(*) FROM transactions t JOIN users u ON u.id = t.user_id WHERE status IN ('completed','refunded') AND NOT u.is_test"
    )
    let testRows =
      Int(
        try db.scalar(
          "SELECT count(*) FROM transactions t JOIN users u ON u.id = t.user_id WHERE status IN ('completed','refunded') AND u.is_test"
        ) ?? "") ?? 0
    #expect(testRows > 0, "the seed has test users' payments")
    #expect(String(all.count) == expected)
    #expect(all.allSatisfy { $0.string("status") == "completed" || $0.string("status") == "refunded" })
    #expect(!all.contains { $0.string("gateway_transaction_id") == "ch_10a_05_failed" })
    #expect(!all.contains { $0.string("gateway_transaction_id") == "ch_11a_05" })  // pending
    // Oldest first.
    let dates = all.map { $0.string("transaction_date")! }
    #expect(dates == dates.sorted())
    let c1 = try #require(all.first { $0.string("gateway_transaction_id") == "ch_01a_01" })
    #expect(c1.string("transaction_date") == "2025-10-03T14:22:05.84+00:00")
    #expect(c1["amount_cents"] == .number("1900"))
    #expect(c1.string("gateway_subscription_id") == "sub_seed01")
    #expect(c1.string("user_email") == "alice.carter@example.com")
    #expect(c1["metadata"]?["livemode"] == .bool(true))
    #expect(Set(c1.keys) == Set(AppQueries.transactions.columns))
    let oneTime = try #require(all.first { $0.string("gateway_transaction_id") == "ch_09x_01" })
    #expect(oneTime["gateway_subscription_id"] == .null && oneTime.string("plan_name") == "Onboarding workshop")
    let note = try #require(all.first { $0.string("gateway_transaction_id") == "ch_17a_01" })
    #expect(note["metadata"]?["note"]?.stringValue == #"paid from C:\billing\acme "Q1" ✓"#)

    // Batch size: the oldest N only; then confirming them moves the window.
    let batch = try records(try extractLines(AppQueries.transactions, sql: sql, parameters: ["5"], url: db.url))
    #expect(batch.map { $0.string("id")! } == all.prefix(5).map { $0.string("id")! })
    let wb = try SyncWriteBack(url: db.url)
    try wb.confirmTransactions(
      batch.map {
        TransactionConfirmation(appTransactionID: $0.string("id")!, customerUUID: "cus_x", invoiceUUID: nil)
      },
      syncedAt: Timestamp.utc(2026, 11, 1)!)
    let next = try records(try extractLines(AppQueries.transactions, sql: sql, parameters: ["5"], url: db.url))
    #expect(next.map { $0.string("id")! } == all.dropFirst(5).prefix(5).map { $0.string("id")! })
    // Backfill ignores the sync state and reads test users' rows too (transform reports them skipped).
    let backfill = try extractLines(
      AppQueries.transactions, sql: AppQueries.transactionsSQL(backfill: true), parameters: [nil], url: db.url)
    #expect(backfill.count == all.count + testRows)
  }

  @Test func refundsNotYetSent() throws {
    let db = try migratedSeed()
    defer { db.drop() }
    // Nothing synced yet: refunds travel with their transactions.
    #expect(try extractLines(AppQueries.refunds, sql: AppQueries.refundsSQL, url: db.url).isEmpty)
    let wb = try SyncWriteBack(url: db.url)
    let ids = try db.query(
      "SELECT id::text AS id FROM transactions WHERE gateway_transaction_id IN ('ch_07a_03', 'PP31a-04', 'ch_01a_01')"
    ).map { $0["id"]!! }
    // Confirmed when the refund was already known: nothing to send.
    try wb.confirmTransactions(
      ids.map { TransactionConfirmation(appTransactionID: $0, customerUUID: nil, invoiceUUID: nil) },
      syncedAt: Timestamp.utc(2026, 7, 1)!)
    #expect(try extractLines(AppQueries.refunds, sql: AppQueries.refundsSQL, url: db.url).isEmpty)
    // A refund after the sync: ch_07a_03 grows to a full refund, ch_01a_01 gets its first refund.
    try db.execute(
      """
      UPDATE transactions SET refunded_amount_cents = 4900, status = 'refunded' WHERE gateway_transaction_id = 'ch_07a_03';
      UPDATE transactions SET refunded_amount_cents = 500, refunded_at = '2026-08-01 10:00:00+00' WHERE gateway_transaction_id = 'ch_01a_01';
      """)
    let recs = try records(try extractLines(AppQueries.refunds, sql: AppQueries.refundsSQL, url: db.url))
    #expect(recs.map { $0.string("gateway_transaction_id")! } == ["ch_07a_03", "ch_01a_01"])
    #expect(recs[0]["refund_synced_cents"] == .number("2000") && recs[0]["refunded_amount_cents"] == .number("4900"))
    #expect(recs[1]["refund_synced_cents"] == .number("0"))
    #expect(Set(recs[0].keys) == Set(AppQueries.refunds.columns))
    try wb.confirmRefunds(
      recs.map {
        RefundConfirmation(
          appTransactionID: $0.string("id")!, refundedAmountCents: $0["refunded_amount_cents"]!.int64Value!)
      })
    #expect(try extractLines(AppQueries.refunds, sql: AppQueries.refundsSQL, url: db.url).isEmpty)
    // Confirming an older amount again never moves the mark back.
    try wb.confirmRefunds([RefundConfirmation(appTransactionID: recs[0].string("id")!, refundedAmountCents: 2000)])
    #expect(try extractLines(AppQueries.refunds, sql: AppQueries.refundsSQL, url: db.url).isEmpty)
  }

  @Test func cancellationsNotYetSent() throws {
    let db = try migratedSeed()
    defer { db.drop() }
    let sql = AppQueries.subscriptionsSQL(backfill: false)
    let recs = try records(try extractLines(AppQueries.subscriptions, sql: sql, url: db.url))
    #expect(
      recs.map { $0.string("gateway_subscription_id")! } == [
        "sub_seed08", "sub_seed06", "I-SEED35", "csub_22", "I-SEED28", "sub_seed44",
      ])
    let u06 = recs[1]
    #expect(u06.string("canceled_at") == "2026-04-20T19:25:00+00:00")
    #expect(u06.string("last_period_end") == "2026-05-05T12:10:00+00:00")
    #expect(u06.string("last_transaction_date") == "2026-04-05T12:10:00+00:00")
    #expect(Set(u06.keys) == Set(AppQueries.subscriptions.columns))
    let wb = try SyncWriteBack(url: db.url)
    try wb.confirmCancellations([
      CancellationConfirmation(
        appSubscriptionID: u06.string("id")!, subscriptionUUID: "sub_cm_1", planUUID: "pl_cm_1",
        cancelledAt: Timestamp.utc(2026, 5, 5, 12, 10)!)
    ])
    let after = try records(try extractLines(AppQueries.subscriptions, sql: sql, url: db.url))
    #expect(after.count == 5 && !after.contains { $0.string("id") == u06.string("id") })
    let row = try db.query(
      "SELECT chartmogul_cancelled_at::text AS at, chartmogul_subscription_uuid AS s, chartmogul_plan_uuid AS p FROM subscriptions WHERE id = $1",
      [u06.string("id")])[0]
    #expect(row["at"] == "2026-05-05 12:10:00" && row["s"] == "sub_cm_1" && row["p"] == "pl_cm_1")
    let all = try extractLines(AppQueries.subscriptions, sql: AppQueries.subscriptionsSQL(backfill: true), url: db.url)
    #expect(all.count == 6)
  }

  @Test func overridesMustReturnTheContractColumns() throws {
    let db = try migratedSeed()
    defer { db.drop() }
    let error = #expect(throws: PostgresError.self) {
      try extractLines(AppQueries.users, sql: "SELECT id, email, name AS full_name, id FROM users", url: db.url)
    }
    let text = error?.description ?? ""
    #expect(error?.kind == .columns)
    #expect(text.contains("query 'users'"))
    #expect(text.contains("missing name, country"))
    #expect(text.contains("unexpected full_name"))
    #expect(text.contains("duplicated id"))
    #expect(text.contains("sources.postgres.queries.users"))
    // An override with the same columns in another order is fine.
    let reordered = try extractLines(
      AppQueries.users,
      sql:
        "SELECT avg_rating, ticket_count, last_event_at, projects_created, ai_generations, is_test, referrer_user_id, acquisition_channel, preferred_gateway, login_count, last_login_at, created_at, country, name, email, id FROM (\(AppQueries.usersSQL)) q",
      url: db.url)
    #expect(reordered == (try extractLines(AppQueries.users, sql: AppQueries.usersSQL, url: db.url)))
  }

  @Test func unmigratedDatabaseAsksForMigrate() throws {
    let db = try TestDatabase.create(seeded: true)
    defer { db.drop() }
    let conn = try PostgresConnection(url: db.url)
    let error = #expect(throws: PostgresError.self) { try Migrations.requireMigrated(conn) }
    #expect(error?.kind == .notMigrated)
    #expect(error?.description.contains("run `chartmogul-etl migrate --database-url …` first") == true)
    #expect(error?.description.contains("transactions.chartmogul_synced_at") == true)
    #expect(throws: PostgresError.self) { try SyncWriteBack(url: db.url) }
  }
}

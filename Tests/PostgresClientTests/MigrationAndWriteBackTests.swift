import AppDatabase
import ETLTestSupport
import Foundation
import PostgresClient
import RevenueCore
import Testing

@Suite("migrate and write-back")
struct MigrationAndWriteBackTests {
  @Test func migrateTwiceIsANoOp() throws {
    let db = try TestDatabase.create(seeded: true)
    defer { db.drop() }
    let first = try Migrations.migrate(url: db.url)
    #expect(first.changed)
    #expect(first.applied.contains("added column transactions.chartmogul_synced_at"))
    #expect(first.applied.contains("added column transactions.chartmogul_refund_synced_cents"))
    #expect(first.applied.contains("created table chartmogul_sync_status"))
    #expect(first.applied.contains("created index idx_transactions_chartmogul_sync"))
    #expect(first.applied.contains("created index idx_transactions_chartmogul_unsynced"))
    #expect(first.applied.contains("created index idx_transactions_chartmogul_subscription"))
    // The new columns have planner statistics at once (migrate analyzes the tables it altered).
    #expect(
      try db.scalar(
        "SELECT count(*) FROM pg_stats WHERE tablename = 'transactions' AND attname = 'chartmogul_synced_at'")
        == "1")
    let second = try Migrations.migrate(url: db.url)
    #expect(!second.changed)
    #expect(second.applied.isEmpty)
    // Everything applied the first time is present now (+ run_id, created with the table).
    #expect(second.alreadyPresent.count == first.applied.count + 1)
    #expect(second.description.contains("nothing to do"))
    #expect(second.alreadyPresent.contains("index idx_transactions_chartmogul_unsynced"))
    // The partial index exists as designed; existing rows got the defaults.
    let idx = try db.scalar("SELECT indexdef FROM pg_indexes WHERE indexname = 'idx_transactions_chartmogul_sync'")
    #expect(idx?.contains("WHERE (chartmogul_synced_at IS NULL)") == true)
    #expect(
      try db.scalar(
        "SELECT count(*) FROM transactions WHERE chartmogul_sync_attempts = 0 AND chartmogul_refund_synced_cents = 0")
        == (try db.scalar("SELECT count(*) FROM transactions")))
  }

  /// The incremental transactions query's index: its columns and filter match the query's ORDER BY
  /// and WHERE, and a batch read (`LIMIT n`) is planned on it instead of a sort of every unsynced row.
  @Test func unsyncedIndexServesTheIncrementalQuery() throws {
    let db = try migratedSeed()
    defer { db.drop() }
    let def = try #require(
      try db.scalar("SELECT indexdef FROM pg_indexes WHERE indexname = 'idx_transactions_chartmogul_unsynced'"))
    #expect(def.contains("(transaction_date, id)"))
    #expect(def.contains("chartmogul_synced_at IS NULL"))
    #expect(def.contains("'completed'::text, 'refunded'::text"))
    // The seed is tiny: make sequential scans and sorts look expensive so only the index's usability is tested.
    let conn = try PostgresConnection(url: db.url)
    try conn.execute("SET enable_seqscan = off; SET enable_bitmapscan = off; ANALYZE transactions", name: "plan setup")
    let plan = try conn.query(
      "EXPLAIN " + AppQueries.transactionsSQL(backfill: false), name: "explain", parameters: ["10"]
    ).rows.compactMap { $0.first ?? nil }.joined(separator: "\n")
    #expect(plan.contains("idx_transactions_chartmogul_unsynced"), "plan:\n\(plan)")
    #expect(!plan.contains("Sort Key"), "plan:\n\(plan)")
    // A database migrated before the index existed gets it on the next migrate, and only it.
    try db.execute("DROP INDEX idx_transactions_chartmogul_unsynced")
    let again = try Migrations.migrate(url: db.url)
    #expect(again.applied == ["created index idx_transactions_chartmogul_unsynced"])
  }

  /// The cancellations query looks up each cancelled subscription's last paid period through
  /// `idx_transactions_chartmogul_subscription`, not a scan of every transaction per subscription.
  @Test func subscriptionIndexServesTheCancellationsQuery() throws {
    let db = try migratedSeed()
    defer { db.drop() }
    let conn = try PostgresConnection(url: db.url)
    try conn.execute("SET enable_seqscan = off; SET enable_bitmapscan = off; ANALYZE transactions", name: "plan setup")
    let plan = try conn.query("EXPLAIN " + AppQueries.subscriptionsSQL(backfill: false), name: "explain")
      .rows.compactMap { $0.first ?? nil }.joined(separator: "\n")
    #expect(plan.contains("idx_transactions_chartmogul_subscription"), "plan:\n\(plan)")
    try db.execute("DROP INDEX idx_transactions_chartmogul_subscription")
    let again = try Migrations.migrate(url: db.url)
    #expect(again.applied == ["created index idx_transactions_chartmogul_subscription"])
  }

  @Test func migrateCompletesATableFromTheReferenceDesign() throws {
    let db = try TestDatabase.create(seeded: true)
    defer { db.drop() }
    // Someone applied the reference ALTERs by hand, without the refund column and run_id.
    try db.execute(
      """
      ALTER TABLE transactions ADD COLUMN chartmogul_synced_at TIMESTAMP, ADD COLUMN chartmogul_customer_uuid VARCHAR(255),
        ADD COLUMN chartmogul_invoice_uuid VARCHAR(255), ADD COLUMN chartmogul_sync_error TEXT,
        ADD COLUMN chartmogul_sync_attempts INTEGER DEFAULT 0;
      CREATE TABLE chartmogul_sync_status (id UUID PRIMARY KEY DEFAULT gen_random_uuid(), sync_type VARCHAR(50),
        last_sync_at TIMESTAMP, records_synced INTEGER, records_failed INTEGER, error_details JSONB, created_at TIMESTAMP DEFAULT NOW());
      """)
    let report = try Migrations.migrate(url: db.url)
    #expect(report.applied.contains("added column transactions.chartmogul_refund_synced_cents"))
    #expect(report.applied.contains("added column chartmogul_sync_status.run_id"))
    #expect(!report.applied.contains("added column transactions.chartmogul_synced_at"))
    #expect(!(try Migrations.migrate(url: db.url)).changed)
  }

  @Test func migrateRefusesADatabaseWithoutTheAppTables() throws {
    let db = try TestDatabase.create(seeded: false)
    defer { db.drop() }
    let error = #expect(throws: PostgresError.self) { try Migrations.migrate(url: db.url) }
    #expect(error?.kind == .missingBaseTables)
    #expect(error?.description.contains("no table users, subscriptions, transactions") == true)
    #expect(error?.description.contains("point --database-url at the app database") == true)
    // Nothing was created.
    #expect(try db.scalar("SELECT to_regclass('chartmogul_sync_status') IS NULL") == "t")
  }

  func id(_ db: TestDatabase, _ gatewayID: String) throws -> String {
    try #require(try db.scalar("SELECT id::text FROM transactions WHERE gateway_transaction_id = $1", [gatewayID]))
  }

  @Test func confirmAndFailTransactions() throws {
    let db = try migratedSeed()
    defer { db.drop() }
    let wb = try SyncWriteBack(url: db.url)
    let a = try id(db, "ch_01a_01")
    let b = try id(db, "ch_02a_01")
    let c = try id(db, "CSH-19a-01")
    let error = #"ChartMogul 422: {"errors":{"external_id":"The external ID for this invoice already exists"}} \ 'x'"#
    try wb.failTransactions([
      TransactionFailure(appTransactionID: a, error: error), TransactionFailure(appTransactionID: b, error: "boom"),
    ])
    try wb.failTransactions([TransactionFailure(appTransactionID: a, error: "second try failed")])
    var rows = try db.query(
      "SELECT id::text AS id, chartmogul_sync_error AS e, chartmogul_sync_attempts::text AS n, chartmogul_synced_at AS s FROM transactions WHERE id IN ($1, $2) ORDER BY id",
      [a, b])
    let ra = try #require(rows.first { $0["id"] == a })
    let rb = try #require(rows.first { $0["id"] == b })
    #expect(ra["e"] == "second try failed" && ra["n"] == "2" && ra["s"] == .some(nil))
    #expect(rb["e"] == "boom" && rb["n"] == "1")
    #expect(try wb.failedBacklog() == 2)
    #expect(try wb.failedTransactionIDs(maxAttempts: 5) == [a, b])  // oldest first
    #expect(try wb.failedTransactionIDs(maxAttempts: 2) == [b])  // a has used its 2 attempts

    // Errors are stored exactly (parameters, not SQL text).
    try wb.failTransactions([TransactionFailure(appTransactionID: c, error: error)])
    #expect(try db.scalar("SELECT chartmogul_sync_error FROM transactions WHERE id = $1", [c]) == error)

    // Confirming clears the error; confirming again keeps the first timestamp.
    try wb.confirmTransactions(
      [TransactionConfirmation(appTransactionID: a, customerUUID: "cus_1", invoiceUUID: "inv_1")],
      syncedAt: Timestamp.utc(2026, 11, 1, 2, 3, 4)!)
    try wb.confirmTransactions(
      [TransactionConfirmation(appTransactionID: a, customerUUID: nil, invoiceUUID: nil)],
      syncedAt: Timestamp.utc(2026, 12, 1)!)
    rows = try db.query(
      "SELECT chartmogul_synced_at::text AS s, chartmogul_customer_uuid AS cu, chartmogul_invoice_uuid AS inv, chartmogul_sync_error AS e FROM transactions WHERE id = $1",
      [a])
    #expect(
      rows[0]["s"] == "2026-11-01 02:03:04" && rows[0]["cu"] == "cus_1" && rows[0]["inv"] == "inv_1"
        && rows[0]["e"] == .some(nil))
    // A late failure report cannot un-sync a confirmed transaction.
    try wb.failTransactions([TransactionFailure(appTransactionID: a, error: "late")])
    #expect(try db.scalar("SELECT chartmogul_sync_error FROM transactions WHERE id = $1", [a]) == nil)
    #expect(try wb.failedBacklog() == 2)  // b and c
    #expect(Set(try wb.failedTransactionIDs(maxAttempts: 5)) == [b, c])
  }

  @Test func confirmedRefundAmountIsRecordedWithTheInvoice() throws {
    let db = try migratedSeed()
    defer { db.drop() }
    let wb = try SyncWriteBack(url: db.url)
    let full = try id(db, "ch_08a_02")
    let partial = try id(db, "ch_07a_03")
    try wb.confirmTransactions(
      [
        TransactionConfirmation(appTransactionID: full, customerUUID: nil, invoiceUUID: nil),
        TransactionConfirmation(
          appTransactionID: partial, customerUUID: nil, invoiceUUID: nil, refundedAmountCents: 1000),
      ], syncedAt: Timestamp.utc(2026, 11, 1)!)
    #expect(try db.scalar("SELECT chartmogul_refund_synced_cents FROM transactions WHERE id = $1", [full]) == "1900")
    // Only 1000 of the 2000 refunded was sent with the invoice: the rest is a refund still to send.
    #expect(try db.scalar("SELECT chartmogul_refund_synced_cents FROM transactions WHERE id = $1", [partial]) == "1000")
    #expect(try extractLines(AppQueries.refunds, sql: AppQueries.refundsSQL, url: db.url).count == 1)
  }

  @Test func syncStatusRowsAreOnePerRunAndType() throws {
    let db = try migratedSeed()
    defer { db.drop() }
    let wb = try SyncWriteBack(url: db.url)
    try wb.recordSyncStatus(
      runID: "20261101T020000Z", syncType: "invoices", synced: 10, failed: 2, errorDetails: ["failed": ["a", "b"]])
    try wb.recordSyncStatus(runID: "20261101T020000Z", syncType: "customers", synced: 5, failed: 0, errorDetails: nil)
    // Rerun of the same run's load: updated, not duplicated.
    try wb.recordSyncStatus(runID: "20261101T020000Z", syncType: "invoices", synced: 12, failed: 0, errorDetails: nil)
    try wb.recordSyncStatus(
      runID: "20261102T020000Z", syncType: "invoices", synced: 3, failed: 1, errorDetails: ["note": "x\\y \"z\""])
    let rows = try db.query(
      "SELECT run_id, sync_type, records_synced::text AS s, records_failed::text AS f, error_details::text AS d, last_sync_at IS NOT NULL AS t FROM chartmogul_sync_status ORDER BY run_id, sync_type"
    )
    #expect(rows.count == 3)
    #expect(rows[0]["sync_type"] == "customers" && rows[0]["s"] == "5" && rows[0]["d"] == .some(nil))
    #expect(
      rows[1]["sync_type"] == "invoices" && rows[1]["s"] == "12" && rows[1]["f"] == "0" && rows[1]["d"] == .some(nil))
    #expect(rows[2]["d"] == #"{"note": "x\\y \"z\""}"# && rows[2]["t"] == "t")
  }

  @Test func writeBackNeverStoresSecrets() throws {
    let db = try migratedSeed()
    defer { db.drop() }
    let key = Secret("sk_live_writeback_secret_123")
    let wb = try SyncWriteBack(url: db.url)
    let a = try id(db, "ch_02a_02")
    try wb.failTransactions([TransactionFailure(appTransactionID: a, error: "401 for key \(key.value)")])
    #expect(
      try db.scalar("SELECT chartmogul_sync_error FROM transactions WHERE id = $1", [a]) == "401 for key [redacted]")
  }
}

import PostgresClient
import RevenueCore

/// What `Migrations.migrate` did: the steps it applied and the ones already in place.
public struct MigrationReport: Sendable, CustomStringConvertible {
  public var applied: [String]
  public var alreadyPresent: [String]
  /// False when the database already had everything (a second run is a no-op).
  public var changed: Bool { !applied.isEmpty }

  public var description: String {
    if applied.isEmpty {
      return "migrate: nothing to do, all \(alreadyPresent.count) sync-tracking objects already exist"
    }
    return "migrate: applied \(applied.count) step(s): " + applied.joined(separator: "; ")
      + (alreadyPresent.isEmpty ? "" : " (\(alreadyPresent.count) already present)")
  }
}

/// Adds the sync-tracking columns, indexes and table (end of reference/app-schema.sql) to the app database.
///
/// Idempotent: every object is checked first and only the missing ones are created, all in one
/// transaction under an advisory lock (two concurrent `migrate`s cannot interleave). Additions to the
/// reference design, needed for exactly-once write-back:
/// - `transactions.chartmogul_refund_synced_cents` — refunded amount already sent to ChartMogul, so a
///   refund that grows later is sent once, for the difference;
/// - `chartmogul_sync_status.run_id` + unique `(run_id, sync_type)` — one status row per sync type per
///   run, so rerunning a run's load updates its row instead of adding another.
/// And two for speed: `idx_transactions_chartmogul_unsynced` and `idx_transactions_chartmogul_subscription` (see `indexes`). Indexes are built with a
/// plain `CREATE INDEX` (inside the transaction), which holds writes to `transactions` while it runs:
/// ~2 s per million rows on the benchmark machine.
public enum Migrations {
  struct Column {
    var table: String
    var name: String
    var definition: String
  }

  static let baseTables = ["users", "subscriptions", "transactions"]

  static let columns: [Column] = [
    Column(table: "transactions", name: "chartmogul_synced_at", definition: "TIMESTAMP"),
    Column(table: "transactions", name: "chartmogul_customer_uuid", definition: "VARCHAR(255)"),
    Column(table: "transactions", name: "chartmogul_invoice_uuid", definition: "VARCHAR(255)"),
    Column(table: "transactions", name: "chartmogul_sync_error", definition: "TEXT"),
    Column(table: "transactions", name: "chartmogul_sync_attempts", definition: "INTEGER DEFAULT 0"),
    Column(table: "transactions", name: "chartmogul_refund_synced_cents", definition: "BIGINT NOT NULL DEFAULT 0"),
    Column(table: "subscriptions", name: "chartmogul_subscription_uuid", definition: "VARCHAR(255)"),
    Column(table: "subscriptions", name: "chartmogul_plan_uuid", definition: "VARCHAR(255)"),
    Column(table: "subscriptions", name: "chartmogul_cancelled_at", definition: "TIMESTAMP"),
  ]

  struct Index {
    var name: String
    /// `table (columns) [WHERE …]`, after `CREATE INDEX name ON`.
    var definition: String
  }

  /// Partial indexes on the rows still to be sent.
  /// - `idx_transactions_chartmogul_sync`: the reference design's (app-schema.sql), for the write-back.
  /// - `idx_transactions_chartmogul_unsynced`: the incremental transactions query's filter and order
  ///   (`AppQueries.transactionsSQL(backfill: false)`: unsynced, completed/refunded, `ORDER BY
  ///   transaction_date, id`). With it a batch (`LIMIT n`) reads the n oldest rows in index order
  ///   instead of sorting every unsynced row (1 M rows, `LIMIT 10000`: 3.8 s → 0.23 s), and a full read
  ///   can stream in order without a sort (see `PostgresSourceSettings.workMem`). It shrinks as rows
  ///   are confirmed, so it stays small on a database that is kept in sync.
  /// - `idx_transactions_chartmogul_subscription`: the cancellations query's per-subscription lookup of
  ///   the last paid period (`AppQueries.subscriptionsSQL`, a LATERAL aggregate per cancelled
  ///   subscription). The reference schema has no index on `transactions.subscription_id`, so each
  ///   cancelled subscription cost a sequential scan of `transactions` (6 cancellations over 1 M rows:
  ///   1.2 s; it grows with cancellations × transactions); with it, a few index probes (~1 ms).
  static let indexes: [Index] = [
    Index(
      name: "idx_transactions_chartmogul_sync",
      definition: "transactions(chartmogul_synced_at) WHERE chartmogul_synced_at IS NULL"),
    Index(
      name: "idx_transactions_chartmogul_unsynced",
      definition:
        "transactions(transaction_date, id) WHERE chartmogul_synced_at IS NULL AND status IN ('completed', 'refunded')"),
    Index(
      name: "idx_transactions_chartmogul_subscription",
      definition: "transactions(subscription_id) WHERE status IN ('completed', 'refunded')"),
  ]

  /// Columns the extract and the write-back need; missing ones mean `migrate` was not run.
  static let requiredColumns: [(String, String)] = columns.map { ($0.table, $0.name) }

  static let syncStatusTable = """
    CREATE TABLE chartmogul_sync_status (
      id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
      sync_type VARCHAR(50),
      last_sync_at TIMESTAMP,
      records_synced INTEGER,
      records_failed INTEGER,
      error_details JSONB,
      created_at TIMESTAMP DEFAULT NOW(),
      run_id VARCHAR(100)
    )
    """

  /// Applies what is missing. Throws `.missingBaseTables` when users/subscriptions/transactions do not exist.
  public static func migrate(url: String) throws -> MigrationReport {
    let db = try PostgresConnection(url: url)
    return try migrate(db)
  }

  public static func migrate(_ db: PostgresConnection) throws -> MigrationReport {
    try db.transaction(name: "migrate") {
      // Same lock key for every migrate of this tool (hash of the name, fixed).
      try db.query("SELECT pg_advisory_xact_lock(hashtext('chartmogul-etl migrate'))", name: "migrate lock")
      let missing = try missingTables(db, baseTables)
      guard missing.isEmpty else {
        throw PostgresError(
          kind: .missingBaseTables, query: "migrate",
          message:
            "\(db.displayURL) has no table \(missing.joined(separator: ", ")) (the app's users, subscriptions and transactions tables are required): point --database-url at the app database"
        )
      }
      var applied: [String] = []
      var present: [String] = []
      let existing = try existingColumns(db)
      for c in columns {
        let label = "column \(c.table).\(c.name)"
        if existing.contains("\(c.table).\(c.name)") {
          present.append(label)
        } else {
          try db.execute("ALTER TABLE \(c.table) ADD COLUMN \(c.name) \(c.definition)", name: "migrate: add \(label)")
          applied.append("added \(label)")
        }
      }
      // New columns have no planner statistics until the next (auto)analyze, which a table that is
      // mostly read may not get for a long time: the planner then guesses `chartmogul_synced_at IS
      // NULL` matches 0.5 % of rows and, on 1 M unsynced rows, hashes all of them in every parallel
      // worker (the extract query took 5 s instead of 3.8 s). ANALYZE samples 30,000 rows: ~0.2 s.
      for table in Set(columns.filter { applied.contains("added column \($0.table).\($0.name)") }.map(\.table)).sorted()
      {
        try db.execute("ANALYZE \(table)", name: "migrate: analyze \(table)")
      }
      for index in indexes {
        if try relationExists(db, index.name) {
          present.append("index \(index.name)")
        } else {
          try db.execute(
            "CREATE INDEX \(index.name) ON \(index.definition)", name: "migrate: create index \(index.name)")
          applied.append("created index \(index.name)")
        }
      }
      if try relationExists(db, "chartmogul_sync_status") {
        present.append("table chartmogul_sync_status")
        // A table made from the reference design alone lacks run_id.
        if try existingColumns(db).contains("chartmogul_sync_status.run_id") {
          present.append("column chartmogul_sync_status.run_id")
        } else {
          try db.execute(
            "ALTER TABLE chartmogul_sync_status ADD COLUMN run_id VARCHAR(100)", name: "migrate: add run_id")
          applied.append("added column chartmogul_sync_status.run_id")
        }
      } else {
        try db.execute(syncStatusTable, name: "migrate: create chartmogul_sync_status")
        applied.append("created table chartmogul_sync_status")
      }
      let statusIndex = "chartmogul_sync_status_run_type_key"
      if try relationExists(db, statusIndex) {
        present.append("index \(statusIndex)")
      } else {
        try db.execute(
          "CREATE UNIQUE INDEX \(statusIndex) ON chartmogul_sync_status(run_id, sync_type)",
          name: "migrate: create status index")
        applied.append("created unique index \(statusIndex)")
      }
      return MigrationReport(applied: applied, alreadyPresent: present)
    }
  }

  /// Base tables among `names` that are not visible on the search path.
  static func missingTables(_ db: PostgresConnection, _ names: [String]) throws -> [String] {
    var missing: [String] = []
    for n in names {
      if try !relationExists(db, n) { missing.append(n) }
    }
    return missing
  }

  static func relationExists(_ db: PostgresConnection, _ name: String) throws -> Bool {
    let r = try db.query("SELECT to_regclass($1) IS NOT NULL", name: "migrate: look up \(name)", parameters: [name])
    return r.rows.first?.first == "t"
  }

  /// `table.column` for every column of the tables this tool touches, on the search path.
  static func existingColumns(_ db: PostgresConnection) throws -> Set<String> {
    let r = try db.query(
      """
      SELECT c.relname || '.' || a.attname
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
      WHERE c.oid IN (to_regclass('transactions'), to_regclass('subscriptions'), to_regclass('chartmogul_sync_status'))
        AND a.attnum > 0 AND NOT a.attisdropped
      """, name: "migrate: list columns")
    return Set(r.rows.compactMap { $0.first ?? nil })
  }

  /// Throws `.notMigrated` naming the missing columns when `migrate` has not been run on this database.
  public static func requireMigrated(_ db: PostgresConnection) throws {
    let missingBase = try missingTables(db, baseTables)
    guard missingBase.isEmpty else {
      throw PostgresError(
        kind: .missingBaseTables,
        message:
          "\(db.displayURL) has no table \(missingBase.joined(separator: ", ")): is the URL pointing at the app database?"
      )
    }
    let existing = try existingColumns(db)
    var missing = requiredColumns.map { "\($0.0).\($0.1)" }.filter { !existing.contains($0) }
    if try !relationExists(db, "chartmogul_sync_status") { missing.append("table chartmogul_sync_status") }
    guard missing.isEmpty else {
      throw PostgresError(
        kind: .notMigrated,
        message:
          "the app database lacks the sync-tracking columns (\(missing.joined(separator: ", "))): run `chartmogul-etl migrate --database-url …` first"
      )
    }
  }
}

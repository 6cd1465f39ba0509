import Foundation
import PostgresClient
import RevenueCore

/// Settings of the Postgres source (`sources.postgres` in a pipeline file).
///
/// - `url` (required, secret): `postgres://` or `postgresql://` URL; TLS (`sslmode`…) and
///   `?host=/socket/dir` are passed to libpq;
/// - `batch_size`: at most this many transactions per run (default: `CHARTMOGUL_SYNC_BATCH_SIZE`
///   when set, else all);
/// - `backfill` (bool): read everything, ignoring the sync-tracking columns (refunds then travel with
///   their transactions, so the `refunds` query is not run);
/// - `queries`: overrides for `users`, `transactions`, `refunds`, `subscriptions`; each must return
///   exactly the default query's columns (the transactions query may use `$1` = batch size or NULL);
/// - `work_mem`: the extract session's `work_mem` (default `256MB`; `default` = the server's), see
///   `workMem`.
public struct PostgresSourceSettings: Sendable {
  public static let allowedKeys = ["url", "batch_size", "backfill", "queries", "work_mem"]
  /// `work_mem` of the extract session unless the pipeline says otherwise.
  ///
  /// Why: the incremental transactions query returns every unsynced row ordered by
  /// (transaction_date, id). Reading a large backlog, PostgreSQL sorts the joined rows (~330 bytes
  /// each); with the usual 4 MB it spills them to temporary files (1 M rows: ~300 MB written and
  /// read back). 256 MB keeps that sort in memory (1 M rows: 109–140 MB per process, three with the
  /// two parallel workers; EXPLAIN ANALYZE 5.8 s → 3.1 s, extract wall 8.9–11.4 s → 8.1 s, see
  /// benchmarks/README.md, "Extract: index and session work_mem"). It is an upper bound per sort or hash, used only as far as
  /// needed, and only for this one session; small syncs use a few MB.
  public static let defaultWorkMem = "256MB"
  public var url: Secret
  public var batchSize: Int?
  public var backfill: Bool
  /// Query name → SQL override.
  public var overrides: [String: String]
  /// `work_mem` set on the extract connection (PostgreSQL memory units, e.g. `256MB`); nil keeps the
  /// server's setting.
  public var workMem: String?

  public init(
    url: Secret, batchSize: Int? = nil, backfill: Bool = false, overrides: [String: String] = [:],
    workMem: String? = PostgresSourceSettings.defaultWorkMem
  ) {
    self.url = url
    self.batchSize = batchSize
    self.backfill = backfill
    self.overrides = overrides
    self.workMem = workMem
  }

  /// Applies the session settings (`work_mem`) to the extract connection. `set_config` with a
  /// parameter, so the value never becomes SQL text.
  public func configureSession(_ db: PostgresConnection) throws {
    guard let workMem else { return }
    try db.query("SELECT set_config('work_mem', $1, false)", name: "session work_mem", parameters: [workMem])
  }

  /// A whole number with an optional PostgreSQL memory unit (`65536`, `64MB`, `1GB`).
  static func isMemorySize(_ text: String) -> Bool {
    let units = ["", "kB", "MB", "GB", "TB"]
    let digits = text.prefix { $0.isASCII && $0.isNumber }
    return !digits.isEmpty && digits.count <= 12 && units.contains(String(text.dropFirst(digits.count)))
  }

  /// Reads and checks the settings; unknown keys, a bad batch size or an unknown query name are
  /// errors naming the file, line and key.
  public init(config: ConfigMapping, environment: Environment) throws {
    _ = try config.node.mapping(allowed: PostgresSourceSettings.allowedKeys)
    url = try config.requiredSecret("url")
    ConnectionURL.registerSecrets(url.value)
    guard ConnectionURL.hasValidScheme(url.value) else {
      throw ConfigError(
        file: config.node.file, line: config.child("url")?.line, key: PostgresSourceSettings.path(config, "url"),
        message: "must be a postgresql:// or postgres:// URL (e.g. postgresql://etl@db:5432/app?sslmode=require)")
    }
    if let n = try config.optionalInt("batch_size", range: 1...Int.max) {
      batchSize = n
    } else if let raw = environment["CHARTMOGUL_SYNC_BATCH_SIZE"], !raw.isEmpty {
      guard let n = Int(raw.trimmingCharacters(in: .whitespaces)), n > 0 else {
        throw ConfigError(
          file: config.node.file, line: config.node.line, key: PostgresSourceSettings.path(config, "batch_size"),
          message:
            "is not set, and the environment variable CHARTMOGUL_SYNC_BATCH_SIZE='\(raw)' is not a positive whole number"
        )
      }
      batchSize = n
    } else {
      batchSize = nil
    }
    backfill = try config.bool("backfill", default: false)
    var overrides: [String: String] = [:]
    if let q = try config.mapping("queries", allowed: AppQueries.all.map(\.name)) {
      for key in q.keys { overrides[key] = try q.requiredString(key) }
    }
    self.overrides = overrides
    switch try config.string("work_mem") {
    case nil: workMem = PostgresSourceSettings.defaultWorkMem
    case "default": workMem = nil
    case let value?:
      guard PostgresSourceSettings.isMemorySize(value) else {
        throw ConfigError(
          file: config.node.file, line: config.child("work_mem")?.line,
          key: PostgresSourceSettings.path(config, "work_mem"),
          message:
            "'\(value)' is not a memory size: write a whole number with kB, MB, GB or TB (e.g. 256MB), or 'default' for the server's setting"
        )
      }
      workMem = value
    }
  }

  static func path(_ config: ConfigMapping, _ key: String) -> String {
    config.node.path.isEmpty ? key : "\(config.node.path).\(key)"
  }

  /// The SQL run for one query (override or default) and its parameters; nil when the query is not
  /// run (`refunds` in backfill mode).
  public func sql(for spec: AppQueries.Spec) -> (sql: String, parameters: [String?])? {
    switch spec.name {
    case AppQueries.users.name: return (overrides[spec.name] ?? AppQueries.usersSQL, [])
    case AppQueries.transactions.name:
      let sql = overrides[spec.name] ?? AppQueries.transactionsSQL(backfill: backfill)
      return (sql, sql.contains("$1") ? [batchSize.map(String.init)] : [])
    case AppQueries.refunds.name:
      if backfill { return nil }
      return (overrides[spec.name] ?? AppQueries.refundsSQL, [])
    case AppQueries.subscriptions.name:
      return (overrides[spec.name] ?? AppQueries.subscriptionsSQL(backfill: backfill), [])
    default: return nil
    }
  }
}

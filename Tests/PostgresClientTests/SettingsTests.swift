import AppDatabase
import Foundation
import PostgresClient
import RevenueCore
import Testing

@Suite("sources.postgres settings")
struct SettingsTests {
  @Test func readsKeysAndDefaults() throws {
    let yaml = """
      sources:
        postgres:
          url: ${DATABASE_URL}
          backfill: true
          queries:
            users: SELECT * FROM my_users
      """
    let s = try PostgresSourceSettings(
      config: try postgresConfig(yaml, environment: ["DATABASE_URL": "postgresql://etl:pw-settings-1@db/app"]),
      environment: Environment([:]))
    #expect(s.url.value == "postgresql://etl:pw-settings-1@db/app")
    #expect(s.batchSize == nil && s.backfill)
    #expect(s.overrides == ["users": "SELECT * FROM my_users"])
    #expect(s.sql(for: AppQueries.users)?.sql == "SELECT * FROM my_users")
    #expect(s.sql(for: AppQueries.refunds) == nil)  // backfill: refunds travel with transactions
    #expect(s.sql(for: AppQueries.transactions)?.sql.contains("chartmogul_synced_at") == false)
    #expect(Redactor.shared.redact("url postgresql://etl:pw-settings-1@db/app") == "url [redacted]")
    #expect(Redactor.shared.redact("pw-settings-1") == "[redacted]")
  }

  @Test func batchSizeFromTheFileOrTheEnvironment() throws {
    let fromFile = try PostgresSourceSettings(
      config: try postgresConfig("sources:\n  postgres: { url: 'postgresql://h/db', batch_size: 500 }"),
      environment: Environment(["CHARTMOGUL_SYNC_BATCH_SIZE": "100"]))
    #expect(fromFile.batchSize == 500)
    #expect(fromFile.sql(for: AppQueries.transactions)?.parameters == ["500"])
    let fromEnv = try PostgresSourceSettings(
      config: try postgresConfig("sources:\n  postgres: { url: 'postgresql://h/db' }"),
      environment: Environment(["CHARTMOGUL_SYNC_BATCH_SIZE": "100"]))
    #expect(fromEnv.batchSize == 100)
    let unlimited = try PostgresSourceSettings(
      config: try postgresConfig("sources:\n  postgres: { url: 'postgresql://h/db' }"), environment: Environment([:]))
    #expect(unlimited.sql(for: AppQueries.transactions)?.parameters == [nil])
    let bad = #expect(throws: ConfigError.self) {
      try PostgresSourceSettings(
        config: try postgresConfig("sources:\n  postgres: { url: 'postgresql://h/db' }"),
        environment: Environment(["CHARTMOGUL_SYNC_BATCH_SIZE": "lots"]))
    }
    #expect(bad?.description.contains("CHARTMOGUL_SYNC_BATCH_SIZE='lots'") == true)
    #expect(throws: ConfigError.self) {
      try PostgresSourceSettings(
        config: try postgresConfig("sources:\n  postgres: { url: 'postgresql://h/db', batch_size: 0 }"),
        environment: Environment([:]))
    }
  }

  @Test func workMemDefaultsOverridesAndChecks() throws {
    func settings(_ extra: String) throws -> PostgresSourceSettings {
      try PostgresSourceSettings(
        config: try postgresConfig("sources:\n  postgres:\n    url: postgresql://h/db\n\(extra)"),
        environment: Environment([:]))
    }
    #expect(try settings("").workMem == PostgresSourceSettings.defaultWorkMem)
    #expect(try settings("    work_mem: 64MB\n").workMem == "64MB")
    #expect(try settings("    work_mem: default\n").workMem == nil)
    let bad = #expect(throws: ConfigError.self) { try settings("    work_mem: 64 MB; DROP TABLE users\n") }
    #expect(bad?.description.contains("pipeline.yaml:4") == true)
    #expect(bad?.description.contains("sources.postgres.work_mem") == true)
    #expect(bad?.description.contains("is not a memory size") == true)
  }

  /// The session setting reaches the server on the extract connection (and `default` leaves it alone).
  @Test func workMemIsSetOnTheSession() throws {
    let url = try #require(
      ProcessInfo.processInfo.environment["ETL_TEST_DATABASE_URL"], "run under scripts/with-postgres")
    let db = try PostgresConnection(url: url)
    let before = try db.query("SHOW work_mem", name: "show").rows.first?.first ?? nil
    try PostgresSourceSettings(url: Secret(url), workMem: nil).configureSession(db)
    #expect(try db.query("SHOW work_mem", name: "show").rows.first?.first == before)
    try PostgresSourceSettings(url: Secret(url), workMem: "96MB").configureSession(db)
    #expect(try db.query("SHOW work_mem", name: "show").rows.first?.first == "96MB")
  }

  @Test func unknownKeysAndQueryNamesAreErrors() throws {
    let e1 = #expect(throws: ConfigError.self) {
      try PostgresSourceSettings(
        config: try postgresConfig("sources:\n  postgres:\n    url: postgresql://h/db\n    batchsize: 5\n"),
        environment: Environment([:]))
    }
    #expect(e1?.description.contains("pipeline.yaml:4") == true)
    #expect(e1?.description.contains("sources.postgres.batchsize") == true)
    #expect(e1?.description.contains("did you mean 'batch_size'") == true)
    let e2 = #expect(throws: ConfigError.self) {
      try PostgresSourceSettings(
        config: try postgresConfig(
          "sources:\n  postgres:\n    url: postgresql://h/db\n    queries:\n      invoices: SELECT 1\n"),
        environment: Environment([:]))
    }
    #expect(e2?.description.contains("sources.postgres.queries.invoices") == true)
    let e3 = #expect(throws: ConfigError.self) {
      try PostgresSourceSettings(
        config: try postgresConfig("sources:\n  postgres: { backfill: true }"), environment: Environment([:]))
    }
    #expect(e3?.description.contains("sources.postgres.url") == true)
    let e4 = #expect(throws: ConfigError.self) {
      try PostgresSourceSettings(
        config: try postgresConfig("sources:\n  postgres: { url: 'mysql://u:topsecretpw@h/db' }"),
        environment: Environment([:]))
    }
    #expect(e4?.description.contains("must be a postgresql:// or postgres:// URL") == true)
    #expect(e4?.description.contains("topsecretpw") == false)
  }
}

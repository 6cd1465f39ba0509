import Foundation
import PostgresClient

/// A fresh, empty (or seeded) PostgreSQL database for one test, on the throwaway server that
/// `scripts/with-postgres` (used by `scripts/test`) starts.
///
///     let db = try TestDatabase.create(seeded: true)   // CREATE DATABASE etl_<random> + fixtures/app/seed.sql
///     defer { db.drop() }
///     try db.execute("UPDATE users SET …")
///     let rows = try db.query("SELECT id, email FROM users")   // [["id": "…", "email": "…"]]
///
/// Tests that need Postgres fail (never skip) when `ETL_TEST_DATABASE_URL` is not set.
public final class TestDatabase: @unchecked Sendable {
  // All stored properties are immutable except `dropped`, which is guarded by `lock`.
  /// URL of the test database over TCP (`postgresql://postgres@127.0.0.1:<port>/etl_…`).
  public let url: String
  /// Database name (`etl_<random hex>`).
  public let name: String
  private let adminURL: String
  private let lock = NSLock()
  private var dropped = false

  /// The server's admin URL from `ETL_TEST_DATABASE_URL`.
  public static func serverURL() throws -> String {
    guard let u = ProcessInfo.processInfo.environment["ETL_TEST_DATABASE_URL"], !u.isEmpty else {
      throw TestDatabaseError(
        "ETL_TEST_DATABASE_URL is not set: run the tests through scripts/test (or scripts/with-postgres swift test …), which starts a throwaway PostgreSQL"
      )
    }
    return u
  }

  /// Creates `etl_<random>`; with `seeded`, loads `fixtures/app/seed.sql` (schema + reference app data).
  public static func create(seeded: Bool = false) throws -> TestDatabase {
    let admin = try serverURL()
    let name = "etl_" + String(UInt64.random(in: 1...UInt64.max), radix: 16)
    let conn = try PostgresConnection(url: admin)
    try conn.execute("CREATE DATABASE \(name)", name: "create test database")
    guard let url = ConnectionURL.withDatabase(admin, name) else {
      throw TestDatabaseError("ETL_TEST_DATABASE_URL is not a postgresql:// URL")
    }
    let db = TestDatabase(url: url, name: name, adminURL: admin)
    if seeded {
      do {
        try db.execute(try seedSQL())
      } catch {
        db.drop()
        throw error
      }
    }
    return db
  }

  /// The text of `fixtures/app/seed.sql`.
  public static func seedSQL() throws -> String {
    let path = RepositoryPaths.fixture("app/seed.sql")
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
      throw TestDatabaseError("cannot read \(path)")
    }
    return text
  }

  private init(url: String, name: String, adminURL: String) {
    self.url = url
    self.name = name
    self.adminURL = adminURL
  }

  /// The same database reached through the server's unix socket (`…?host=<ETL_TEST_PG_SOCKET_DIR>`).
  public func socketURL() throws -> String {
    let env = ProcessInfo.processInfo.environment
    guard let dir = env["ETL_TEST_PG_SOCKET_DIR"], let port = env["ETL_TEST_PG_PORT"] else {
      throw TestDatabaseError(
        "ETL_TEST_PG_SOCKET_DIR / ETL_TEST_PG_PORT are not set: run the tests through scripts/test")
    }
    return "postgresql://postgres@/\(name)?host=\(dir)&port=\(port)"
  }

  /// Runs SQL (several statements separated by `;` are fine); rows are discarded.
  public func execute(_ sql: String) throws {
    let conn = try PostgresConnection(url: url)
    try conn.execute(sql, name: "test SQL")
  }

  /// Runs one query and returns its rows as column → text (nil for NULL).
  public func query(_ sql: String, _ parameters: [String?] = []) throws -> [[String: String?]] {
    let conn = try PostgresConnection(url: url)
    return try conn.query(sql, name: "test query", parameters: parameters).dictionaries
  }

  /// A single value (first column of the first row).
  public func scalar(_ sql: String, _ parameters: [String?] = []) throws -> String? {
    let conn = try PostgresConnection(url: url)
    return try conn.query(sql, name: "test query", parameters: parameters).rows.first?.first ?? nil
  }

  /// Drops the database (forcing other connections off). Safe to call twice; also done on deinit.
  public func drop() {
    lock.lock()
    defer { lock.unlock() }
    guard !dropped else { return }
    dropped = true
    if let conn = try? PostgresConnection(url: adminURL) {
      try? conn.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)", name: "drop test database")
    }
  }

  deinit { drop() }
}

public struct TestDatabaseError: Error, CustomStringConvertible {
  public var description: String
  public init(_ d: String) { description = d }
}

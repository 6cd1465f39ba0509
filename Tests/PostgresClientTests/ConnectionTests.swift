import AppDatabase
import ETLTestSupport
import Foundation
import PostgresClient
import RevenueCore
import Testing

@Suite("libpq connection")
struct ConnectionTests {
  @Test func urlHelpersHideThePasswordAndChangeTheDatabase() {
    let url = "postgresql://etl:s3cr%2Ft@db.internal:5432/app?sslmode=verify-full&password=other1"
    #expect(ConnectionURL.display(url) == "postgresql://etl@db.internal:5432/app?sslmode=verify-full")
    #expect(ConnectionURL.passwords(in: url).contains("s3cr/t"))
    #expect(ConnectionURL.passwords(in: url).contains("other1"))
    #expect(
      ConnectionURL.withDatabase("postgres://u@h:1/postgres?host=/tmp/x", "etl_1")
        == "postgres://u@h:1/etl_1?host=/tmp/x")
    #expect(ConnectionURL.withDatabase("postgresql://u@/postgres?host=/tmp/x", "d") == "postgresql://u@/d?host=/tmp/x")
    #expect(!ConnectionURL.hasValidScheme("host=db user=etl password=x"))
  }

  @Test func aConnectionStringIsRefusedWithoutEchoingIt() throws {
    let error = #expect(throws: PostgresError.self) {
      try PostgresConnection(url: "host=127.0.0.1 user=etl password=hunter2secret")
    }
    #expect(error?.kind == .badURL)
    #expect(error?.description.contains("hunter2secret") == false)
  }

  @Test func unreachablePortIsAClearConnectionError() throws {
    // Port 1 on loopback: nothing listens there.
    let error = #expect(throws: PostgresError.self) {
      try PostgresConnection(url: "postgresql://postgres:pw-never-shown@127.0.0.1:1/postgres?connect_timeout=5")
    }
    let text = error?.description ?? ""
    #expect(error?.kind == .connection)
    #expect(text.contains("postgresql://postgres@127.0.0.1:1/postgres"))
    #expect(text.contains("refused") || text.contains("Connection"))
    #expect(text.contains("is the server running"))
    #expect(!text.contains("pw-never-shown"))
  }

  @Test func unknownDatabaseAndRoleAreNamed() throws {
    let admin = try TestDatabase.serverURL()
    let noDB = ConnectionURL.withDatabase(admin, "no_such_db_here")!
    let e1 = #expect(throws: PostgresError.self) { try PostgresConnection(url: noDB) }
    #expect(e1?.description.contains("database \"no_such_db_here\" does not exist") == true)
    #expect(e1?.description.contains("check the database name") == true)

    let port = ProcessInfo.processInfo.environment["ETL_TEST_PG_PORT"] ?? "0"
    let e2 = #expect(throws: PostgresError.self) {
      try PostgresConnection(url: "postgresql://nobody_here:pw-hidden-1@127.0.0.1:\(port)/postgres")
    }
    #expect(e2?.description.contains("role \"nobody_here\" does not exist") == true)
    #expect(e2?.description.contains("pw-hidden-1") == false)
  }

  /// The throwaway server trusts loopback; this test adds one scram-sha-256 line for its own role at
  /// the top of pg_hba.conf (ETL_TEST_PG_DATA) and reloads, so a wrong password really is refused.
  @Test func wrongPasswordIsRefusedAndNeverShown() throws {
    let env = ProcessInfo.processInfo.environment
    let data = try #require(env["ETL_TEST_PG_DATA"], "run through scripts/test (ETL_TEST_PG_DATA)")
    let port = try #require(env["ETL_TEST_PG_PORT"])
    let admin = try PostgresConnection(url: try TestDatabase.serverURL())
    let role = "pw_role_" + String(UInt32.random(in: 1...UInt32.max), radix: 16)
    try admin.execute("SET password_encryption = 'scram-sha-256'", name: "setup")
    try admin.execute("CREATE ROLE \(role) LOGIN PASSWORD 'right-password-1'", name: "setup")
    defer { try? admin.execute("DROP ROLE IF EXISTS \(role)", name: "cleanup") }
    let hba = data + "/pg_hba.conf"
    let original = try String(contentsOfFile: hba, encoding: .utf8)
    try ("host all \(role) 127.0.0.1/32 scram-sha-256\n" + original).write(
      toFile: hba, atomically: false, encoding: .utf8)
    defer {
      try? original.write(toFile: hba, atomically: false, encoding: .utf8)
      _ = try? admin.query("SELECT pg_reload_conf()", name: "cleanup")
    }
    try admin.query("SELECT pg_reload_conf()", name: "reload")
    Thread.sleep(forTimeInterval: 0.3)

    let good = try PostgresConnection(url: "postgresql://\(role):right-password-1@127.0.0.1:\(port)/postgres")
    #expect(good.serverVersion >= 130000)
    let error = #expect(throws: PostgresError.self) {
      try PostgresConnection(url: "postgresql://\(role):wrong-password-9@127.0.0.1:\(port)/postgres")
    }
    let text = error?.description ?? ""
    #expect(text.contains("password authentication failed"))
    #expect(text.contains("check the user name and password"))
    #expect(!text.contains("wrong-password-9"))
    #expect(text.contains("postgresql://\(role)@127.0.0.1:\(port)/postgres"))
  }

  @Test func socketDirectoryURLForm() throws {
    let db = try TestDatabase.create(seeded: false)
    defer { db.drop() }
    let conn = try PostgresConnection(url: try db.socketURL())
    let r = try conn.query("SELECT current_database(), inet_server_addr() IS NULL", name: "socket check")
    #expect(r.rows.first?[0] == db.name)
    #expect(r.rows.first?[1] == "t")  // NULL server address = unix socket
  }

  @Test func missingTableAndColumnNameTheQuery() throws {
    let db = try TestDatabase.create(seeded: true)
    defer { db.drop() }
    let conn = try PostgresConnection(url: db.url)
    let e1 = #expect(throws: PostgresError.self) {
      try conn.stream("SELECT * FROM invoices_nope", name: "transactions", columns: { _ in }, row: { _ in })
    }
    #expect(e1?.query == "transactions")
    #expect(e1?.sqlState == "42P01")
    #expect(e1?.description.contains("query 'transactions'") == true)
    #expect(e1?.description.contains("invoices_nope") == true)
    let e2 = #expect(throws: PostgresError.self) {
      try conn.query("SELECT no_such_column FROM users", name: "users")
    }
    #expect(e2?.sqlState == "42703")
    #expect(e2?.description.contains("query 'users'") == true)
    #expect(e2?.description.contains("no_such_column") == true)
    // The connection is still usable after errors.
    #expect(try conn.query("SELECT count(*) FROM users", name: "count").rows[0][0] == "44")
  }

  @Test func aCallbackErrorCancelsTheQueryAndKeepsTheConnection() throws {
    let db = try TestDatabase.create(seeded: false)
    defer { db.drop() }
    let conn = try PostgresConnection(url: db.url)
    struct Stop: Error {}
    var seen = 0
    #expect(throws: Stop.self) {
      try conn.stream(
        "SELECT g FROM generate_series(1, 5000000) g", name: "big", columns: { _ in },
        row: { _ in
          seen += 1
          if seen == 10 { throw Stop() }
        })
    }
    #expect(seen == 10)
    #expect(try conn.query("SELECT 1 + 1", name: "after").rows[0][0] == "2")
  }

  @Test func parametersAreNeverSpliced() throws {
    let db = try TestDatabase.create(seeded: false)
    defer { db.drop() }
    let conn = try PostgresConnection(url: db.url)
    let evil = "x'); DROP TABLE t; --"
    try conn.execute("CREATE TABLE t (s text)", name: "setup")
    try conn.query("INSERT INTO t VALUES ($1)", name: "insert", parameters: [evil])
    try conn.query("INSERT INTO t VALUES ($1)", name: "insert", parameters: [nil])
    let r = try conn.query("SELECT s FROM t ORDER BY s NULLS LAST", name: "read")
    #expect(r.rows.map { $0[0] } == [evil, nil])
    #expect(PostgresArray.literal(["a\"b", "c\\d", nil, "{x,y}"]) == #"{"a\"b","c\\d",NULL,"{x,y}"}"#)
    let arr = try conn.query(
      "SELECT x FROM unnest($1::text[]) x", name: "array",
      parameters: [PostgresArray.literal(["a\"b", "c\\d", nil, "{x,y}", "é ✓"])])
    #expect(arr.rows.map { $0[0] } == ["a\"b", "c\\d", nil, "{x,y}", "é ✓"])
  }
}

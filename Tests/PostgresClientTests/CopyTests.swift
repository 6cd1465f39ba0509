import AppDatabase
import ETLTestSupport
import Foundation
import RevenueCore
import Testing

@testable import PostgresClient

/// Binary-capable queries stream as `COPY (…) TO STDOUT (FORMAT binary)`: the statement rewriting
/// must touch only real parameter references, and the rows, errors and cancellation must be exactly
/// those of the row-by-row path.
@Suite struct CopyStatementTests {
  static let int8 = PostgresType.int8

  @Test func parameterReferencesBecomeTypedLiterals() {
    #expect(
      PostgresCopy.statement("SELECT * FROM t LIMIT $1::bigint", parameters: [nil], parameterTypes: [Self.int8])
        == "COPY (\nSELECT * FROM t LIMIT (NULL::pg_catalog.int8)::bigint\n) TO STDOUT (FORMAT binary)")
    #expect(
      PostgresCopy.statement(
        "SELECT $2, $1 WHERE x>$1", parameters: ["-5", "12"], parameterTypes: [PostgresType.int4, Self.int8])
        == "COPY (\nSELECT ('12'::pg_catalog.int8), ('-5'::pg_catalog.int4) WHERE x>('-5'::pg_catalog.int4)\n) TO STDOUT (FORMAT binary)"
    )
    #expect(
      PostgresCopy.statement("SELECT 1", parameters: [], parameterTypes: [])
        == "COPY (\nSELECT 1\n) TO STDOUT (FORMAT binary)")
  }

  /// `$1` inside strings, quoted identifiers, dollar-quoted bodies, comments or identifiers is text.
  @Test func dollarSignsThatAreNotParametersStay() {
    let untouched = [
      "SELECT '$1', 'it''s $1', E'\\'$1', \"col$1\", \"a\"\"$1\", a$1, $$ $1 $$, $fn$ $1 $x$ $fn$",
      "SELECT 1 -- $1 here\n",
      "SELECT 1 /* $1 /* nested $1 */ still $1 */",
      "SELECT U&'$1', X'01'",
    ]
    for sql in untouched {
      let copy = PostgresCopy.statement(sql, parameters: [], parameterTypes: [])
      #expect(copy == "COPY (\n\(sql)\n) TO STDOUT (FORMAT binary)", "\(sql)")
    }
    #expect(
      PostgresCopy.statement("SELECT '$1' || $1", parameters: ["7"], parameterTypes: [PostgresType.text])
        == "COPY (\nSELECT '$1' || ('7'::pg_catalog.text)\n) TO STDOUT (FORMAT binary)")
  }

  /// Whatever cannot be inlined for sure leaves the query to the row-by-row path.
  @Test func unsafeOrOddStatementsAreDeclined() {
    let declined: [(String, [String?], [UInt32])] = [
      ("SELECT $1", ["x'); DROP TABLE t; --"], [PostgresType.text]),  // not a plain integer
      ("SELECT $1", ["1.5"], [PostgresType.numeric]),
      ("SELECT $1", ["1"], [PostgresType.timestamptz]),  // no literal form for that type here
      ("SELECT $2", ["1"], [Self.int8]),  // past the parameters
      ("SELECT $1", ["1"], []),
      ("SELECT 1;", [], []),  // COPY takes one query, no terminator
      ("SELECT 'open", [], []), ("SELECT \"open", [], []), ("SELECT $q$ open", [], []), ("SELECT /* open", [], []),
      ("SELECT $0", [], []),
    ]
    for (sql, parameters, types) in declined {
      #expect(PostgresCopy.statement(sql, parameters: parameters, parameterTypes: types) == nil, "\(sql)")
    }
  }
}

@Suite struct CopyStreamTests {
  /// Lines of `sql` through `RowJSONEncoder`, and whether rows came from COPY.
  static func lines(
    _ conn: PostgresConnection, _ sql: String, parameters: [String?] = [], copy: Bool = true
  ) throws -> (lines: [String], viaCopy: Bool) {
    var out: [String] = []
    var encoder: RowJSONEncoder? = nil
    var viaCopy = false
    try conn.stream(
      sql, name: "q", parameters: parameters, binary: true, copy: copy,
      columns: { encoder = RowJSONEncoder(columns: $0) },
      row: { row in
        viaCopy = row.result == nil
        var bytes: [UInt8] = []
        try encoder!.write(row, into: &bytes)
        out.append(String(decoding: bytes, as: UTF8.self))
      })
    return (out, viaCopy)
  }

  /// The app queries (seeded database, the transactions query with its batch-size parameter NULL
  /// and set) give the same lines through COPY as row by row.
  @Test func appQueriesGiveTheSameLinesThroughCopy() throws {
    let db = try TestDatabase.create(seeded: true)
    defer { db.drop() }
    _ = try Migrations.migrate(url: db.url)
    let conn = try PostgresConnection(url: db.url)
    // The users query has a numeric column (support_stats.avg_rating): text rows, never COPY.
    let queries: [(String, [String?], copies: Bool)] = [
      (AppQueries.usersSQL, [], false), (AppQueries.transactionsSQL(backfill: false), [nil], true),
      (AppQueries.transactionsSQL(backfill: true), ["3"], true),
      (AppQueries.subscriptionsSQL(backfill: true), [], true),
    ]
    for (sql, parameters, copies) in queries {
      let copied = try Self.lines(conn, sql, parameters: parameters)
      let rows = try Self.lines(conn, sql, parameters: parameters, copy: false)
      #expect(copied.viaCopy == copies && !rows.viaCopy)
      #expect(!copied.lines.isEmpty)
      #expect(copied.lines == rows.lines)
    }
    #expect(try Self.lines(conn, AppQueries.transactionsSQL(backfill: true), parameters: ["3"]).lines.count == 3)
  }

  @Test func emptyResultsAndNullsComeThrough() throws {
    let db = try TestDatabase.create(seeded: false)
    defer { db.drop() }
    let conn = try PostgresConnection(url: db.url)
    let empty = try Self.lines(conn, "SELECT g AS n FROM generate_series(1, 0) g")
    #expect(empty.lines.isEmpty)
    var sawColumns = false
    try conn.stream(
      "SELECT 1::int AS a WHERE false", name: "none", binary: true, columns: { sawColumns = $0.map(\.name) == ["a"] },
      row: { _ in })
    #expect(sawColumns)
    let nulls = try Self.lines(conn, "SELECT NULL::text AS t, ''::text AS e, NULL::uuid AS u, 0::int AS z")
    #expect(nulls.viaCopy)
    #expect(nulls.lines == [#"{"e":"","t":null,"u":null,"z":0}"#])
  }

  /// A callback error stops the COPY on the server; the connection stays usable.
  @Test func aCallbackErrorCancelsTheCopy() throws {
    let db = try TestDatabase.create(seeded: false)
    defer { db.drop() }
    let conn = try PostgresConnection(url: db.url)
    struct Stop: Error {}
    var seen = 0
    var viaCopy = false
    let started = Date()
    #expect(throws: Stop.self) {
      try conn.stream(
        "SELECT g FROM generate_series(1, 50000000) g", name: "big", binary: true, columns: { _ in },
        row: { row in
          viaCopy = row.result == nil
          seen += 1
          if seen == 10 { throw Stop() }
        })
    }
    #expect(viaCopy && seen == 10)
    #expect(Date().timeIntervalSince(started) < 30)  // cancelled, not read to the end
    #expect(try conn.query("SELECT 1 + 1", name: "after").rows[0][0] == "2")
  }

  /// A failure in the middle of the query (after rows were sent) is the server's error, named.
  @Test func aServerErrorMidwayIsReported() throws {
    let db = try TestDatabase.create(seeded: false)
    defer { db.drop() }
    let conn = try PostgresConnection(url: db.url)
    var seen = 0
    let e = #expect(throws: PostgresError.self) {
      try conn.stream(
        "SELECT 10 / (5000 - g) AS x FROM generate_series(1, 10000) g", name: "divide", binary: true, columns: { _ in },
        row: { _ in seen += 1 })
    }
    #expect(e?.sqlState == "22012")
    #expect(e?.description.contains("query 'divide'") == true)
    #expect(seen < 5000)
    #expect(try conn.query("SELECT 2 + 2", name: "after").rows[0][0] == "4")
  }

  /// Parameters that cannot be inlined, and a statement with a terminator, still stream (row by row).
  @Test func declinedStatementsStreamRowByRow() throws {
    let db = try TestDatabase.create(seeded: false)
    defer { db.drop() }
    let conn = try PostgresConnection(url: db.url)
    let evil = "x'); DROP TABLE t; --"
    let r = try Self.lines(conn, "SELECT $1::text AS s", parameters: [evil])
    #expect(!r.viaCopy && r.lines == [#"{"s":"x'); DROP TABLE t; --"}"#])
    let semi = try Self.lines(conn, "SELECT 7::int AS n;")
    #expect(!semi.viaCopy && semi.lines == [#"{"n":7}"#])
    let limited = try Self.lines(
      conn, "SELECT g AS n FROM generate_series(1, 100) g WHERE g > $1 LIMIT $2::bigint", parameters: ["90", nil])
    #expect(limited.viaCopy && limited.lines.count == 10)
  }
}

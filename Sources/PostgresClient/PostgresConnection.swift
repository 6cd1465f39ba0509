import CLibPQ
import Foundation
import RevenueCore

/// One libpq connection (synchronous, one statement at a time).
///
/// Not `Sendable`: a `PGconn` must not be used from two threads at once. Types that share one across
/// tasks (`SyncWriteBack`) serialise every use behind a lock. Every session is set to UTC, ISO dates
/// and UTF-8 so that text output (and so staged JSON) does not depend on server settings.
public final class PostgresConnection {
  let conn: OpaquePointer
  /// The URL without its password, for messages.
  public let displayURL: String

  /// Connects to `url` (`postgres://` or `postgresql://`; TLS and socket settings such as
  /// `?sslmode=verify-full` or `?host=/var/run/postgresql` are passed to libpq as they are).
  public init(url: String) throws {
    ConnectionURL.registerSecrets(url)
    guard ConnectionURL.hasValidScheme(url) else {
      // Never echo the text: it may be a connection string with a password in it.
      throw PostgresError(
        kind: .badURL,
        message: "the database URL must start with postgresql:// or postgres:// (e.g. postgresql://user@host:5432/app)")
    }
    displayURL = ConnectionURL.display(url)
    // Defaults first; the URL (expand_dbname) overrides them when it sets the same keys.
    let keys = ["connect_timeout", "application_name", "dbname"]
    let values = ["15", "chartmogul-etl", url]
    let c: OpaquePointer? = withCStringArray(keys) { k in
      withCStringArray(values) { v in PQconnectdbParams(k, v, 1) }
    }
    guard let c else {
      throw PostgresError(kind: .connection, message: "cannot connect to \(displayURL): libpq is out of memory")
    }
    guard PQstatus(c) == CONNECTION_OK else {
      let detail = PostgresConnection.clean(String(cString: PQerrorMessage(c)))
      PQfinish(c)
      throw PostgresError(
        kind: .connection,
        message: "cannot connect to PostgreSQL at \(displayURL): \(detail)\(PostgresConnection.hint(for: detail))")
    }
    conn = c
    try execute(
      "SET TimeZone TO 'UTC'; SET DateStyle TO 'ISO, YMD'; SET client_encoding TO 'UTF8'; SET extra_float_digits TO 1",
      name: "session setup")
  }

  deinit { PQfinish(conn) }

  /// Server version as a number (`150018` for 15.18).
  public var serverVersion: Int { Int(PQserverVersion(conn)) }

  /// Turns libpq's multi-line message into one readable line, without the password.
  static func clean(_ message: String) -> String {
    let lines = message.split(whereSeparator: { $0 == "\n" }).map { $0.trimmingCharacters(in: .whitespaces) }
    return Redactor.shared.redact(lines.filter { !$0.isEmpty }.joined(separator: " "))
  }

  static func hint(for detail: String) -> String {
    let d = detail.lowercased()
    if d.contains("password authentication failed") || d.contains("no password supplied") {
      return " — check the user name and password in the database URL"
    }
    if d.contains("database") && d.contains("does not exist") { return " — check the database name in the URL" }
    if d.contains("role") && d.contains("does not exist") { return " — check the user name in the URL" }
    if d.contains("connection refused") || d.contains("no such file") || d.contains("timeout")
      || d.contains("could not translate host name")
    {
      return " — is the server running, and are the host and port in the URL right?"
    }
    return ""
  }

  // MARK: - Simple statements

  /// Runs statements without parameters (several may be separated by `;`), discarding rows.
  public func execute(_ sql: String, name: String) throws {
    let res = PQexec(conn, sql)
    defer { PQclear(res) }
    try check(res, name: name)
  }

  /// Runs one statement with `$1…$n` parameters (text format; nil = SQL NULL) and returns all rows.
  /// For small results only (write-back, lookups); large reads use `stream`.
  @discardableResult
  public func query(_ sql: String, name: String, parameters: [String?] = []) throws -> QueryResult {
    let res = withParameters(parameters) { values, count in
      PQexecParams(conn, sql, count, nil, values, nil, nil, 0)
    }
    defer { PQclear(res) }
    try check(res, name: name)
    guard let res else { return QueryResult(columns: [], rows: [], affectedRows: 0) }
    let nf = Int(PQnfields(res))
    let nt = Int(PQntuples(res))
    let columns = (0..<nf).map { String(cString: PQfname(res, Int32($0))) }
    var rows: [[String?]] = []
    rows.reserveCapacity(nt)
    for r in 0..<nt {
      rows.append(
        (0..<nf).map { c in
          PQgetisnull(res, Int32(r), Int32(c)) != 0 ? nil : String(cString: PQgetvalue(res, Int32(r), Int32(c)))
        })
    }
    let affected = Int(String(cString: PQcmdTuples(res))) ?? 0
    return QueryResult(columns: columns, rows: rows, affectedRows: affected)
  }

  /// Runs `body` inside BEGIN … COMMIT; any error rolls back and is rethrown.
  @discardableResult
  public func transaction<T>(name: String, _ body: () throws -> T) throws -> T {
    try execute("BEGIN", name: name)
    do {
      let value = try body()
      try execute("COMMIT", name: name)
      return value
    } catch {
      try? execute("ROLLBACK", name: name)
      throw error
    }
  }

  // MARK: - Errors

  func check(_ res: OpaquePointer?, name: String) throws {
    guard let res else {
      throw connectionError(name: name)
    }
    let status = PQresultStatus(res)
    if status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_SINGLE_TUPLE
      || status == PGRES_EMPTY_QUERY
    {
      return
    }
    throw error(from: res, name: name)
  }

  /// The connection's last error (libpq's `PQerrorMessage`) as a query error of `name`, for calls
  /// that failed without a result to read the error from.
  func connectionError(name: String) -> PostgresError {
    PostgresError(kind: .query, query: name, message: PostgresConnection.clean(String(cString: PQerrorMessage(conn))))
  }

  func error(from res: OpaquePointer, name: String) -> PostgresError {
    let state = PQresultErrorField(res, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
    var message = PostgresConnection.clean(String(cString: PQresultErrorMessage(res)))
    if message.isEmpty { message = PostgresConnection.clean(String(cString: PQerrorMessage(conn))) }
    if PQstatus(conn) != CONNECTION_OK {
      return PostgresError(
        kind: .connection, query: name, sqlState: state, message: "lost the connection to \(displayURL): \(message)")
    }
    return PostgresError(kind: .query, query: name, sqlState: state, message: message)
  }
}

/// The complete result of a small query: column names, rows as text (nil = NULL), affected row count.
public struct QueryResult: Sendable {
  public var columns: [String]
  public var rows: [[String?]]
  public var affectedRows: Int

  /// Rows as dictionaries keyed by column name.
  public var dictionaries: [[String: String?]] {
    rows.map { row in
      var d: [String: String?] = [:]
      for (i, c) in columns.enumerated() { d[c] = .some(row[i]) }
      return d
    }
  }
}

/// Calls `body` with a NULL-terminated-free array of C strings (`const char * const *`).
func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
  let copies: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) } + [nil]
  defer { for p in copies { free(p) } }
  return copies.map { UnsafePointer($0) }.withUnsafeBufferPointer { body($0.baseAddress!) }
}

/// Calls `body` with libpq's parameter-value array (nil entries are SQL NULL) and its count.
func withParameters<R>(_ parameters: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?, Int32) -> R) -> R {
  if parameters.isEmpty { return body(nil, 0) }
  let copies: [UnsafeMutablePointer<CChar>?] = parameters.map { $0.map { strdup($0) } ?? nil }
  defer { for p in copies { free(p) } }
  return copies.map { UnsafePointer($0) }.withUnsafeBufferPointer { body($0.baseAddress!, Int32(parameters.count)) }
}

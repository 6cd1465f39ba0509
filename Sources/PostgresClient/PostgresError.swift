import RevenueCore

/// A PostgreSQL problem with what to do about it. Never carries a password: messages pass through
/// `Redactor.shared` and URLs are shown without their password (`ConnectionURL.display`).
public struct PostgresError: Error, Sendable, CustomStringConvertible {
  public enum Kind: String, Sendable {
    /// The URL is not a `postgres://` / `postgresql://` URL.
    case badURL
    /// The server could not be reached or refused the login (wrong host/port, database, role, password).
    case connection
    /// A statement failed on the server (missing table/column, syntax, constraint …).
    case query
    /// A query returned other columns than the contract requires.
    case columns
    /// The sync-tracking columns are missing: `chartmogul-etl migrate` has not been run.
    case notMigrated
    /// The app's base tables (users, subscriptions, transactions) are missing.
    case missingBaseTables
  }

  public var kind: Kind
  /// Name of the query that failed (`transactions`, `confirmTransactions` …), when there is one.
  public var query: String?
  /// The server's SQLSTATE code (`42P01` undefined table, `42703` undefined column, `28P01` bad password …).
  public var sqlState: String?
  public var message: String

  public init(kind: Kind, query: String? = nil, sqlState: String? = nil, message: String) {
    self.kind = kind
    self.query = query
    self.sqlState = sqlState
    self.message = Redactor.shared.redact(message)
  }

  public var description: String {
    var s = ""
    if let query { s = "query '\(query)': " }
    s += message
    if let sqlState { s += " (SQLSTATE \(sqlState))" }
    return s
  }
}

import RevenueCore

extension PostgresError: ServiceUnavailableProblem {
  /// The server did not answer (refused, timed out, shut down): retry later. A refused login or an
  /// unknown database is configuration (SQLSTATE 28P01, 28000, 3D000).
  public var isServiceUnavailable: Bool {
    guard kind == .connection else { return false }
    if ["28P01", "28000", "3D000"].contains(sqlState ?? "") { return false }
    return !(message.contains("password authentication failed") || message.contains("does not exist"))
  }
  public var unavailableSummary: String { "PostgreSQL unavailable: \(description)" }
}

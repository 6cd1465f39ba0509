import AppDatabase
import PostgresClient
import RevenueCore

extension ExtractStage {
  /// `sources.postgres` → `PostgresSource`. Validation checks the keys (`PostgresSourceSettings.allowedKeys`)
  /// without expanding `${DATABASE_URL}`, so commands that do not extract need no database URL.
  static func makePostgres(_ node: ConfigNode, environment: Environment, checkOnly: Bool) throws -> (any ExtractSource)?
  {
    let m = try node.mapping(allowed: PostgresSourceSettings.allowedKeys)
    if checkOnly { return nil }
    return try PostgresSource(config: m, environment: environment)
  }
}

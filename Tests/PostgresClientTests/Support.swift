import AppDatabase
import ETLTestSupport
import Foundation
import PostgresClient
import RevenueCore

/// Runs one app query through `AppExtract` and returns the emitted lines (as text) — the exact
/// bytes the Postgres source stages.
func extractLines(_ spec: AppQueries.Spec, sql: String, parameters: [String?] = [], url: String) throws -> [String] {
  let db = try PostgresConnection(url: url)
  var lines: [String] = []
  _ = try AppExtract.stream(spec, sql: sql, parameters: parameters, db: db) { body in
    var out: [UInt8] = []
    try body(&out)
    lines.append(String(decoding: out, as: UTF8.self))
  }
  return lines
}

/// The `record` objects of extracted lines.
func records(_ lines: [String]) throws -> [JSONObject] {
  try lines.map { line in
    let value = try JSONParser.parse(line)
    guard let r = value["record"]?.objectValue else { throw TestDatabaseError("line without record: \(line)") }
    return r
  }
}

/// `row_to_json` of the same query, normalised with `JSONWriter` (sorted keys), for equivalence checks.
func rowToJSON(_ sql: String, parameters: [String?] = [], url: String) throws -> [String] {
  let db = try PostgresConnection(url: url)
  let r = try db.query("SELECT row_to_json(q)::text FROM (\(sql)) q", name: "row_to_json", parameters: parameters)
  return try r.rows.map { JSONWriter.string(try JSONParser.parse($0[0]!)) }
}

/// A pipeline-file `sources.postgres` mapping from YAML text.
func postgresConfig(_ yaml: String, environment: [String: String] = [:]) throws -> ConfigMapping {
  let root = try ConfigNode.parse(yaml: yaml, file: "pipeline.yaml", environment: Environment(environment))
    .mapping(allowed: nil)
  return try root.mapping("sources", allowed: nil)!.mapping("postgres", allowed: nil)!
}

/// Seeded and migrated test database.
func migratedSeed() throws -> TestDatabase {
  let db = try TestDatabase.create(seeded: true)
  _ = try Migrations.migrate(url: db.url)
  return db
}

extension JSONObject {
  func string(_ key: String) -> String? { self[key]?.stringValue }
}

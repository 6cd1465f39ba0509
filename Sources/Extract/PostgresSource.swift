import AppDatabase
import Foundation
import Logging
import PostgresClient
import RevenueCore
import Staging

/// Extracts the app database (docs/gateways "The app database") with libpq into `extract/postgres.ndjson`.
///
/// Settings: see `PostgresSourceSettings` (`url`, `batch_size`, `backfill`, `queries`, `work_mem`).
/// Rows are streamed (binary `COPY … TO STDOUT` when every column allows it, else libpq single-row mode)
/// and written as JSON in Swift, so memory stays flat.
/// Incremental runs need no cursor: the write-back columns (`chartmogul_synced_at`, …) say what
/// previous loads confirmed, and the default queries read only the rest.
public struct PostgresSource: ExtractSource {
  public let name = "postgres"
  public let settings: PostgresSourceSettings

  /// Reads `sources.postgres` (keys: `url`, `batch_size`, `backfill`, `queries`, `work_mem`; see `PostgresSourceSettings`).
  public init(config: ConfigMapping, environment: Environment) throws {
    settings = try PostgresSourceSettings(config: config, environment: environment)
  }

  public init(settings: PostgresSourceSettings) { self.settings = settings }

  public func extract(into sink: ExtractSink, context: StageContext, cursor: JSONObject) async throws -> ExtractOutcome
  {
    var details = JSONObject()
    var total = 0
    var sections: [JSONValue] = []
    do {
      let db = try PostgresConnection(url: settings.url.value)
      try Migrations.requireMigrated(db)
      try settings.configureSession(db)
      for spec in AppQueries.all {
        guard let (sql, parameters) = settings.sql(for: spec) else {
          details[spec.name] = .string("not run (backfill)")
          continue
        }
        let started = DispatchTime.now().uptimeNanoseconds
        let from = sink.recordsPosition
        let rows = try AppExtract.stream(spec, sql: sql, parameters: parameters, db: db, source: name) { body in
          try sink.emitSerialized(body)
        }
        let to = sink.recordsPosition
        sections.append(
          FileSection(kind: spec.kind.rawValue, lines: to.lines - from.lines, bytes: to.bytes - from.bytes).json)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        context.logger.info("postgres: \(spec.name): \(rows) rows in \(String(format: "%.2f", seconds)) s")
        details[spec.name] = .int(rows)
        total += rows
      }
    } catch let e as PostgresError {
      throw ExtractError(source: name, e.description)
    }
    if let batchSize = settings.batchSize { details["batch_size"] = .int(batchSize) }
    details["backfill"] = .bool(settings.backfill)
    details[FileSection.detailsKey] = .array(sections)
    // No cursor: the sync-tracking columns written back by load say what is done.
    return ExtractOutcome(accounting: Accounting(input: total, output: total), proposedCursor: nil, details: details)
  }
}

import Foundation
import RevenueCore

/// `run.json`: what a run was asked to do and how each stage went. Updated atomically after each
/// stage event, so `status` can read it at any time (including while a run is in progress).
///
/// Shape: `{"run_id","pipeline","pipeline_sha256","command","started_at","finished_at","outcome",
/// "stages":{"extract":{"started_at","finished_at","duration_s","outcome","accounting",…}},
/// "pending_state":{…cursors extract proposes…},"monitoring":{…}}`.
public enum RunRecord {
  public static func read(_ run: RunFolder) throws -> JSONObject {
    try AtomicFile.readJSON(run.runRecordPath)?.objectValue ?? JSONObject()
  }

  /// Reads, lets `body` change, and atomically rewrites `run.json`.
  public static func update(_ run: RunFolder, _ body: (inout JSONObject) throws -> Void) throws {
    var record = try read(run)
    if record["run_id"] == nil { record["run_id"] = .string(run.id) }
    if record["pipeline"] == nil { record["pipeline"] = .string(run.area.pipeline) }
    try body(&record)
    try AtomicFile.writeJSON(.object(record), to: run.runRecordPath)
  }

  /// Sets `stages.<stage>.<key>` fields.
  public static func updateStage(_ run: RunFolder, _ stage: String, _ body: (inout JSONObject) -> Void) throws {
    try update(run) { record in
      var stages = record["stages"]?.objectValue ?? JSONObject()
      var s = stages[stage]?.objectValue ?? JSONObject()
      body(&s)
      stages[stage] = .object(s)
      record["stages"] = .object(stages)
    }
  }

  public static func now() -> String { Timestamp(seconds: Int64(Date().timeIntervalSince1970)).iso8601 }
}

/// `state.json`: incremental cursors per source, advanced only after ChartMogul confirmed a load
/// (docs/architecture.md "The staging contract"; docs/architecture.md "Incremental runs"). Shape: `{"sources":{"stripe":{…source-defined cursor…}}}`.
public struct StateStore: Sendable {
  public let area: StagingArea
  public init(area: StagingArea) { self.area = area }

  public func read() throws -> JSONObject {
    try AtomicFile.readJSON(area.statePath)?.objectValue ?? JSONObject()
  }

  /// The cursor object of one source (empty on the first run).
  public func cursor(for source: String) throws -> JSONObject {
    try read()["sources"]?[source]?.objectValue ?? JSONObject()
  }

  /// Replaces the cursors of the given sources, keeping the others.
  public func commit(_ cursors: [String: JSONObject]) throws {
    try area.prepare()
    var state = try read()
    var sources = state["sources"]?.objectValue ?? JSONObject()
    for (k, v) in cursors.sorted(by: { $0.key < $1.key }) { sources[k] = .object(v) }
    state["sources"] = .object(sources)
    try AtomicFile.writeJSON(.object(state), to: area.statePath)
  }
}

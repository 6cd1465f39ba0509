import RevenueCore
import Staging

/// What `status` shows for a pipeline: who holds the lock, the committed cursors, and recent runs.
/// `json` is the `status --json` document (schema_version 1).
public struct PipelineStatus: Sendable {
  /// The process holding the pipeline lock (from the lock file).
  public struct LockHolder: Sendable {
    public var runID: String?
    public var pid: String?
    public var command: String?
    public var record: JSONObject

    public init(record: JSONObject) {
      self.record = record
      runID = record["run_id"]?.scalarText
      pid = record["pid"]?.scalarText
      command = record["command"]?.scalarText
    }
  }

  public var pipeline: String
  public var staging: String
  public var lock: LockHolder?
  /// `state.json` as stored (committed cursors by source).
  public var state: JSONObject
  /// Newest first.
  public var runs: [RunStatus]

  public var json: JSONValue {
    var out = JSONObject()
    out["schema_version"] = 1
    out["pipeline"] = .string(pipeline)
    out["staging"] = .string(staging)
    out["lock"] = lock.map { .object($0.record) } ?? .null
    out["state"] = .object(state)
    out["runs"] = .array(runs.map { .object($0.record) })
    return .object(out)
  }
}

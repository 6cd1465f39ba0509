import RevenueCore

/// A run as `status` shows it: `run.json` decoded into typed fields, with each stage's
/// completeness and accounting taken from its manifest (`RunInspector` merges them).
///
/// `record` keeps the merged `run.json` object as it is, for `status --json` (its shape is the
/// file's; see `RunRecord`). The typed fields are what people-facing output renders.
public struct RunStatus: Sendable {
  /// How a run (or a stage) ended, as `run.json` records it.
  public enum Outcome: Sendable, Hashable, CustomStringConvertible {
    case running, succeeded, completedWithFailures, failed
    /// A value this version does not know (kept as written).
    case other(String)

    public init(_ text: String) {
      switch text {
      case "running": self = .running
      case "succeeded": self = .succeeded
      case "completed_with_failures": self = .completedWithFailures
      case "failed": self = .failed
      default: self = .other(text)
      }
    }

    public var description: String {
      switch self {
      case .running: return "running"
      case .succeeded: return "succeeded"
      case .completedWithFailures: return "completed_with_failures"
      case .failed: return "failed"
      case .other(let s): return s
      }
    }
  }

  /// One stage of the run.
  public struct Stage: Sendable {
    public var name: String
    public var outcome: Outcome?
    /// The stage folder has a manifest (nil when `run.json` does not say, e.g. `validate`).
    public var complete: Bool?
    public var accounting: Accounting?
    /// Wall-clock seconds as recorded (text, e.g. `1.234`).
    public var duration: String?
    public var error: String?

    public init(name: String, json: JSONObject) {
      self.name = name
      outcome = json["outcome"]?.scalarText.map(Outcome.init)
      complete = json["complete"]?.boolValue
      accounting = json["accounting"].flatMap { try? Accounting(json: $0) }
      duration = json["duration_s"]?.scalarText
      error = json["error"]?.scalarText
    }
  }

  public var runID: String
  public var outcome: Outcome?
  public var command: String?
  public var startedAt: String?
  public var finishedAt: String?
  public var error: String?
  /// Stages by name (`extract`, `transform`, `load`, `load-dry-run`, `validate`).
  public var stages: [String: Stage]
  /// The merged `run.json` object (for `status --json`).
  public var record: JSONObject

  public init(record: JSONObject) {
    self.record = record
    runID = record["run_id"]?.scalarText ?? "?"
    outcome = record["outcome"]?.scalarText.map(Outcome.init)
    command = record["command"]?.scalarText
    startedAt = record["started_at"]?.scalarText
    finishedAt = record["finished_at"]?.scalarText
    error = record["error"]?.scalarText
    var stages: [String: Stage] = [:]
    for f in record["stages"]?.objectValue ?? JSONObject() {
      if let o = f.value.objectValue { stages[f.key] = Stage(name: f.key, json: o) }
    }
    self.stages = stages
  }
}

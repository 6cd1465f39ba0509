import Foundation
import Load
import RevenueCore
import Staging

/// How many runs `prune` (and a pipeline's `retention`) keeps.
public struct RetentionPolicy: Sendable, Equatable {
  /// Always keep the newest `keep` runs.
  public var keep: Int
  /// Only remove runs created more than this many seconds ago (nil: any age).
  public var olderThanSeconds: Int64?

  public init(keep: Int, olderThanSeconds: Int64? = nil) {
    self.keep = keep
    self.olderThanSeconds = olderThanSeconds
  }

  /// `30d`, `12h`, `90m`, `3600s` → seconds.
  public static func parseAge(_ text: String) -> Int64? {
    guard let unit = text.last, let n = Int64(text.dropLast()), n >= 0 else { return nil }
    switch unit {
    case "d": return n * 86400
    case "h": return n * 3600
    case "m": return n * 60
    case "s": return n
    default: return nil
    }
  }

  /// The pipeline's `retention: {keep: N, older_than: 30d}`, nil when absent.
  public static func from(_ pipeline: PipelineFile) throws -> RetentionPolicy? {
    guard let r = try pipeline.section("retention", allowed: ["keep", "older_than"]) else { return nil }
    let keep = try r.int("keep", default: 10, range: 1...100_000)
    var age: Int64? = nil
    if let text = try r.string("older_than") {
      guard let a = parseAge(text) else {
        throw ConfigError(
          file: pipeline.path, line: r.child("older_than")?.line, key: "retention.older_than",
          message: "'\(text)' is not an age like 30d, 12h or 90m")
      }
      age = a
    }
    return RetentionPolicy(keep: keep, olderThanSeconds: age)
  }
}

/// Removes old run folders while keeping what later runs need:
/// - the newest `keep` runs, and runs younger than `older_than`;
/// - the run holding the latest customer index (`transform/customer-index.ndjson`; the next
///   transform continues it);
/// - what load still needs (`LoadRetention`): runs with an unfinished load or a transform never
///   loaded, runs whose failed records `retry` may still send, and run ledgers not yet folded into the
///   pipeline's ledger (`load-state/`, which is never pruned);
/// - a run a live process is working on.
/// Takes the pipeline lock, so it never races a run.
public enum Pruner {
  public struct Plan: Sendable {
    public var remove: [String] = []
    /// Run id → why it is kept.
    public var keep: [(String, String)] = []
  }

  public static func plan(area: StagingArea, policy: RetentionPolicy, now: Date = Date()) -> Plan {
    let ids = area.runIDs()
    let load = try? LoadRetention.needs(area: area)
    var plan = Plan()
    let newest = Set(ids.suffix(policy.keep))
    var indexRun: String?
    for id in ids.reversed() {
      if FileSystem.exists(area.runsDirectory + "/\(id)/transform/customer-index.ndjson"),
        FileSystem.exists(area.runsDirectory + "/\(id)/transform/manifest.json")
      {
        indexRun = id
        break
      }
    }
    for id in ids {
      let path = area.runsDirectory + "/" + id
      let record = (try? AtomicFile.readJSON(path + "/run.json"))??.objectValue ?? JSONObject()
      let reason: String?
      if newest.contains(id) {
        reason = "one of the newest \(policy.keep)"
      } else if let age = policy.olderThanSeconds, created(record, path: path) > now.timeIntervalSince1970 - Double(age)
      {
        reason = "younger than the age limit"
      } else if id == indexRun {
        reason = "holds the latest customer index"
      } else if load == nil && FileSystem.exists(path + "/load/ledger.ndjson") {
        reason = "its load ledger records what ChartMogul confirmed (the pipeline ledger could not be read)"
      } else if load?.wholeRuns.contains(id) == true {
        reason = "its load is unfinished or it was never loaded"
      } else if load?.retryRuns.contains(id) == true {
        reason = "`retry` may still send its failed records"
      } else if load?.ledgerRuns.contains(id) == true {
        reason = "its ledger is not yet folded into the pipeline ledger"
      } else if FileSystem.exists(path + "/load.partial") {
        reason = "an unfinished load resumes from it"
      } else if record["outcome"]?.stringValue == "running", !RunRepair.isStale(record) {
        reason = "a process is working on it"
      } else {
        reason = nil
      }
      if let reason { plan.keep.append((id, reason)) } else { plan.remove.append(id) }
    }
    return plan
  }

  static func created(_ record: JSONObject, path: String) -> Double {
    if let ns = record["created_at_ns"]?.int64Value { return Double(ns) / 1e9 }
    if let t = record["started_at"]?.stringValue.flatMap(Timestamp.parse) { return Double(t.seconds) }
    return (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date)?.timeIntervalSince1970
      ?? 0
  }

  /// Applies the plan under the pipeline lock; returns it.
  @discardableResult
  public static func prune(area: StagingArea, policy: RetentionPolicy, dryRun: Bool = false) throws -> Plan {
    let lock = try RunLock.acquire(area: area, runID: "prune", command: dryRun ? "prune --dry-run" : "prune")
    defer { lock.release() }
    let plan = plan(area: area, policy: policy)
    if !dryRun {
      for id in plan.remove { try FileSystem.removeTree(area.runsDirectory + "/" + id) }
    }
    return plan
  }
}

import Foundation
import RevenueCore

/// Keeps run records honest when the process that wrote them is gone (killed, power loss, a
/// `run.json` that could not be written because the disk was full).
///
/// - `honest(_:)` is the read-only view `status` shows: a record that says `running` whose process
///   (pid and start time) no longer exists is shown as `interrupted`.
/// - `repair(area:)` runs with the pipeline lock held at the start of every locked command: it
///   removes `run.json.tmp-*` leftovers and rewrites such records for good, taking each stage's
///   outcome from its manifest when the stage was published but its record update was lost.
public enum RunRepair {
  public static let interrupted = "interrupted"

  /// The record as it should be read: a dead process is never shown as running.
  public static func honest(_ record: JSONObject) -> JSONObject {
    guard isStale(record) else { return record }
    var r = record
    r["outcome"] = .string(interrupted)
    if r["error"] == nil { r["error"] = .string(staleReason(record)) }
    var stages = r["stages"]?.objectValue ?? JSONObject()
    for f in stages where f.value["outcome"]?.stringValue == "running" {
      var s = f.value.objectValue ?? JSONObject()
      s["outcome"] = .string(interrupted)
      stages[f.key] = .object(s)
    }
    r["stages"] = .object(stages)
    return r
  }

  /// The record says a command is working on the run, but its process is gone.
  public static func isStale(_ record: JSONObject) -> Bool {
    let running =
      record["outcome"]?.stringValue == "running"
      || (record["stages"]?.objectValue?.fields.contains { $0.value["outcome"]?.stringValue == "running" } ?? false)
    guard running else { return false }
    guard let who = ProcessIdentity(record: record) else { return true }
    return !who.isAlive
  }

  static func staleReason(_ record: JSONObject) -> String {
    let pid = record["pid"]?.scalarText.map { "pid \($0)" } ?? "its process"
    return "\(pid) ended before recording an outcome (killed, or run.json could not be written); rerun to resume"
  }

  /// Makes every record of the pipeline consistent. Call only while holding the pipeline lock.
  /// Returns one line per run it changed.
  @discardableResult
  public static func repair(area: StagingArea) -> [String] {
    var changed: [String] = []
    for id in area.runIDs() {
      guard let run = try? RunFolder(area: area, id: id) else { continue }
      let names = (try? FileManager.default.contentsOfDirectory(atPath: run.path)) ?? []
      for n in names where n.hasPrefix("run.json.tmp-") { unlink(run.path + "/" + n) }
      guard let record = try? RunRecord.read(run), isStale(record), ProcessIdentity(record: record) != .current else {
        continue
      }
      let reason = staleReason(record)
      do {
        try RunRecord.update(run) { r in
          r["outcome"] = .string(interrupted)
          if r["error"] == nil { r["error"] = .string(reason) }
          if r["finished_at"] == nil { r["finished_at"] = .string(RunRecord.now()) }
          var stages = r["stages"]?.objectValue ?? JSONObject()
          for f in stages where f.value["outcome"]?.stringValue == "running" {
            var s = f.value.objectValue ?? JSONObject()
            if let m = try? run.manifest(f.key) {
              // Published, but the record update after it was lost: the manifest is the truth.
              s["outcome"] = .string(
                m.accounting.failed + m.accounting.rejected > 0 ? "completed_with_failures" : "succeeded")
              s["accounting"] = m.accounting.json
            } else {
              s["outcome"] = .string(interrupted)
            }
            stages[f.key] = .object(s)
          }
          r["stages"] = .object(stages)
        }
        changed.append("run \(id): recorded as interrupted (\(reason))")
      } catch {
        changed.append("run \(id): could not be repaired (\(error))")
      }
    }
    return changed
  }
}

import Foundation
import RevenueCore

#if canImport(Glibc)
  import Glibc
#endif

/// Which runs exist, in which order they were made, and whether the process a run record says is
/// working on it is still alive. `run.json` carries `created_at` / `created_at_ns` (set once, when the
/// folder is made) and, while a command works on the run, `pid` + `pid_started` (the process start
/// time from /proc, so a reused pid is not mistaken for the original process).
public enum RunCatalog {
  /// Writes the creation time into a new run's `run.json` (a folder reused by `run --run-id X`
  /// keeps its first creation time). A run whose record cannot be written is removed again.
  public static func recordCreation(_ run: RunFolder, now: Date) throws {
    if (try? RunRecord.read(run))?["created_at_ns"] != nil { return }
    do {
      try RunRecord.update(run) { r in
        r["created_at"] = .string(Timestamp(seconds: Int64(now.timeIntervalSince1970.rounded(.down))).iso8601)
        r["created_at_ns"] = .int(Int(now.timeIntervalSince1970 * 1e9))
      }
    } catch {
      if (try? FileManager.default.contentsOfDirectory(atPath: run.path))?.allSatisfy({ $0.hasPrefix("run.json") })
        == true
      {
        try? FileSystem.removeTree(run.path)
      }
      throw error
    }
  }

  /// The id `createRun(id: nil)` would choose now (for the lock holder, before the folder exists).
  public static func proposedRunID(area: StagingArea, now: Date = Date()) -> String {
    var chosen = RunFolder.timestampID(now)
    var n = 2
    while FileSystem.exists(area.runsDirectory + "/" + chosen) {
      chosen = RunFolder.timestampID(now) + "-\(n)"
      n += 1
    }
    return chosen
  }

  /// Oldest first: `created_at_ns`, else `started_at`, else the folder's change time; ties by name.
  static func orderByCreation(_ ids: [String], area: StagingArea) -> [String] {
    var keyed: [(Int, String)] = []
    for id in ids {
      let path = area.runsDirectory + "/" + id
      let record = (try? AtomicFile.readJSON(path + "/run.json"))??.objectValue
      var key: Int? = record?["created_at_ns"]?.int64Value.map { Int($0) }
      if key == nil, let s = record?["started_at"]?.stringValue, let t = Timestamp.parse(s) {
        key = Int(t.seconds) * 1_000_000_000
      }
      if key == nil {
        var st = stat()
        if stat(path, &st) == 0 { key = Int(st.st_ctim.tv_sec) * 1_000_000_000 + Int(st.st_ctim.tv_nsec) }
      }
      keyed.append((key ?? 0, id))
    }
    return keyed.sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }.map(\.1)
  }
}

/// A process by pid and start time (field 22 of /proc/<pid>/stat, clock ticks since boot).
public struct ProcessIdentity: Sendable, Equatable {
  public var pid: Int32
  public var started: Int64

  public static var current: ProcessIdentity {
    let pid = getpid()
    return ProcessIdentity(pid: pid, started: startTime(pid) ?? 0)
  }

  /// True when a process with this pid runs and started at the same moment.
  public var isAlive: Bool {
    guard pid > 0, kill(pid, 0) == 0 || errno == EPERM else { return false }
    guard let now = ProcessIdentity.startTime(pid) else { return true }
    return started == 0 || now == started
  }

  public static func startTime(_ pid: Int32) -> Int64? {
    guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/stat"),
      let text = String(data: data, encoding: .utf8), let close = text.lastIndex(of: ")")
    else { return nil }
    // Fields after the command name (which may hold spaces): state is field 3, starttime field 22.
    let rest = text[text.index(after: close)...].split(separator: " ")
    guard rest.count > 19 else { return nil }
    return Int64(rest[19])
  }

  /// The record's `pid` / `pid_started`, if any.
  public init?(record: JSONObject) {
    guard let pid = record["pid"]?.int64Value else { return nil }
    self.pid = Int32(truncatingIfNeeded: pid)
    self.started = record["pid_started"]?.int64Value ?? 0
  }

  public init(pid: Int32, started: Int64) {
    self.pid = pid
    self.started = started
  }
}

extension StagingArea {
  /// Runs created before `id`, oldest first (by creation, never by name).
  public func runIDs(createdBefore id: String) -> [String] {
    let all = runIDs()
    guard let i = all.firstIndex(of: id) else { return all }
    return Array(all[..<i])
  }

  /// Runs created up to and including `id`, oldest first.
  public func runIDs(createdUpTo id: String) -> [String] {
    let all = runIDs()
    guard let i = all.firstIndex(of: id) else { return all }
    return Array(all[...i])
  }
}

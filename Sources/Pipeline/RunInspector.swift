import Foundation
import RevenueCore
import Staging

/// Read-only views of a pipeline's staging folder for `status` and `inspect`. Never takes the lock.
public struct RunInspector: Sendable {
  public let area: StagingArea

  public init(area: StagingArea) { self.area = area }

  // MARK: - status

  /// The lock holder, committed cursors and, per run, `run.json` merged with the accounting of
  /// every complete stage (from its manifest) and the incomplete stages.
  public func status(runID: String?, limit: Int = 20) throws -> PipelineStatus {
    let ids: [String]
    if let runID {
      ids = [try area.existingRun(runID).id]
    } else {
      ids = Array(area.runIDs().suffix(limit))
    }
    var runs: [RunStatus] = []
    for id in ids.reversed() { runs.append(try runStatus(try RunFolder(area: area, id: id))) }
    return PipelineStatus(
      pipeline: area.pipeline, staging: area.root,
      lock: RunLock.currentHolder(area: area).map(PipelineStatus.LockHolder.init(record:)),
      state: try StateStore(area: area).read(), runs: runs)
  }

  public func runStatus(_ run: RunFolder) throws -> RunStatus {
    var record = RunRepair.honest(try RunRecord.read(run))
    record["run_id"] = .string(run.id)
    var stages = record["stages"]?.objectValue ?? JSONObject()
    for name in RunFolder.stages {
      var s = stages[name]?.objectValue ?? JSONObject()
      if let m = try run.manifest(name) {
        s["complete"] = true
        s["accounting"] = m.accounting.json
        var files = JSONObject()
        for f in m.files { files[f.name] = .int(f.lines) }
        s["files"] = .object(files)
      } else {
        s["complete"] = false
      }
      stages[name] = .object(s)
    }
    record["stages"] = .object(stages)
    return RunStatus(record: record)
  }

  // MARK: - inspect

  /// The files of a stage with their line counts and checksums, and any checksum problems.
  public func listFiles(run: RunFolder, stage: String) throws -> (Manifest, [String]) {
    let manifest = try run.requireManifest(stage, for: "inspect")
    return (manifest, manifest.verify(stageDirectory: run.stagePath(stage)))
  }

  /// Streams the lines of one staged file, optionally only those mentioning `externalID`.
  public func lines(
    run: RunFolder, stage: String, file: String, externalID: String?, limit: Int?,
    _ body: (Int, JSONValue) throws -> Void
  ) throws {
    guard PipelineFile.isSafeName(file) else {
      throw ConfigurationError("file name '\(file)' is not a staged file name")
    }
    let path = run.file(stage, file)
    guard FileSystem.exists(path) else {
      let known = (try? run.manifest(stage))??.files.map(\.name).joined(separator: ", ") ?? "none"
      throw ConfigurationError("\(stage)/\(file) does not exist in run \(run.id) (files: \(known))")
    }
    var shown = 0
    let needle = externalID.map { Array($0.utf8) }
    try NDJSONReader(path: path).forEachLine { bytes, number in
      if let limit, shown >= limit { return }
      if let needle, !RunInspector.contains(bytes, needle) { return }
      guard let value = try? JSONParser.parse(bytes) else { return }
      if let externalID, !RunInspector.mentions(value, externalID) { return }
      shown += 1
      try body(number, value)
    }
  }

  /// Everything every stage of a run holds about one external id: the raw records it came from, what
  /// transform made of it (output, reject or skip) and what load did (ledger).
  public func trace(run: RunFolder, externalID: String) throws -> [(
    stage: String, file: String, line: Int, value: JSONValue
  )] {
    var found: [(String, String, Int, JSONValue)] = []
    for stage in RunFolder.stages {
      guard let m = try run.manifest(stage) else { continue }
      for f in m.files where f.name.hasSuffix(".ndjson") {
        try lines(run: run, stage: stage, file: f.name, externalID: externalID, limit: 100) { n, v in
          found.append((stage, f.name, n, v))
        }
      }
    }
    return found
  }

  static func contains(_ hay: UnsafeRawBufferPointer, _ needle: [UInt8]) -> Bool {
    guard !needle.isEmpty, hay.count >= needle.count else { return needle.isEmpty }
    let first = needle[0]
    var i = 0
    let last = hay.count - needle.count
    while i <= last {
      if hay[i] == first {
        var k = 1
        while k < needle.count && hay[i + k] == needle[k] { k += 1 }
        if k == needle.count { return true }
      }
      i += 1
    }
    return false
  }

  /// True when any string in `value` equals `id`, or is `id` with a gateway prefix (`stripe_…`, `stripe:…`).
  static func mentions(_ value: JSONValue, _ id: String) -> Bool {
    switch value {
    case .string(let s): return s == id || s.hasSuffix("_" + id) || s.hasSuffix(":" + id)
    case .number(let n): return n == id
    case .array(let a): return a.contains { mentions($0, id) }
    case .object(let o): return o.fields.contains { mentions($0.value, id) }
    default: return false
    }
  }
}

import Foundation
import RevenueCore

/// `manifest.json` of a stage folder: the files it holds, what it was made from and the accounting.
/// A stage folder with a manifest is complete; one without is not and is redone (docs/architecture.md "The staging contract").
public struct Manifest: Sendable {
  public static let fileName = "manifest.json"

  public var stage: String
  public var runID: String
  public var pipeline: String
  public var files: [FileEntry]
  /// Input files (from the previous stage) this stage read, with their checksums.
  public var inputs: [FileEntry]
  public var accounting: Accounting
  /// Accounting per source (extract sources, or the extract file each transform input came from).
  public var bySource: [String: Accounting]
  /// Stage-specific details (cursors proposed by extract, merges, load figures …). Deterministic
  /// content only: no clocks in manifests, so reruns produce identical folders.
  public var details: JSONObject

  public init(
    stage: String, runID: String, pipeline: String, files: [FileEntry], inputs: [FileEntry], accounting: Accounting,
    bySource: [String: Accounting] = [:], details: JSONObject = JSONObject()
  ) {
    self.stage = stage
    self.runID = runID
    self.pipeline = pipeline
    self.files = files
    self.inputs = inputs
    self.accounting = accounting
    self.bySource = bySource
    self.details = details
  }

  public func file(_ name: String) -> FileEntry? { files.first { $0.name == name } }

  /// Throws unless every per-source accounting and the total balance.
  public func checkAccounting() throws {
    for (source, a) in bySource.sorted(by: { $0.key < $1.key }) where !a.isBalanced {
      throw StagingError("\(stage): accounting for source '\(source)' does not balance: \(a.equation)")
    }
    guard accounting.isBalanced else {
      throw StagingError("\(stage): accounting does not balance: \(accounting.equation)")
    }
  }

  public var json: JSONValue {
    var sources = JSONObject()
    for (k, v) in bySource { sources[k] = v.json }
    return [
      "stage": .string(stage), "run_id": .string(runID), "pipeline": .string(pipeline),
      "files": .array(files.map(\.json)), "inputs": .array(inputs.map(\.json)), "accounting": accounting.json,
      "by_source": .object(sources), "details": .object(details), "format": 1,
    ]
  }

  public init(json: JSONValue) throws(RecordShapeError) {
    let r = try FieldReader(json, what: "manifest")
    stage = try r.string("stage")
    runID = try r.string("run_id")
    pipeline = try r.string("pipeline")
    var fs: [FileEntry] = []
    for v in try r.array("files") { fs.append(try FileEntry(json: v)) }
    files = fs
    var ins: [FileEntry] = []
    for v in try r.array("inputs") { ins.append(try FileEntry(json: v)) }
    inputs = ins
    guard let acc = r.object["accounting"] else { throw RecordShapeError(field: "accounting", reason: "is missing") }
    accounting = try Accounting(json: acc)
    var by: [String: Accounting] = [:]
    for f in r.object["by_source"]?.objectValue ?? JSONObject() { by[f.key] = try Accounting(json: f.value) }
    bySource = by
    details = r.object["details"]?.objectValue ?? JSONObject()
  }

  /// Reads `<dir>/manifest.json`; nil when the stage is not complete.
  public static func read(stageDirectory dir: String) throws -> Manifest? {
    guard let v = try AtomicFile.readJSON(dir + "/" + fileName) else { return nil }
    do {
      return try Manifest(json: v)
    } catch {
      throw StagingError("\(dir)/\(fileName) is damaged (\(error)); rerun the stage to rebuild it")
    }
  }

  /// Recomputes each file's line count and checksum; returns the problems found (empty = intact).
  public func verify(stageDirectory dir: String) -> [String] {
    var problems: [String] = []
    for f in files {
      let path = dir + "/" + f.name
      guard FileManager.default.fileExists(atPath: path) else {
        problems.append("\(f.name) is listed in the manifest but missing")
        continue
      }
      var hasher = SHA256()
      var bytes: Int64 = 0
      var lines = 0
      if let h = FileHandle(forReadingAtPath: path) {
        while let chunk = try? h.read(upToCount: 4 << 20), !chunk.isEmpty {
          chunk.withUnsafeBytes { hasher.update($0) }
          bytes += Int64(chunk.count)
          lines += chunk.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
        }
        try? h.close()
      }
      let sum = hasher.finalizeHex()
      if sum != f.sha256 || bytes != f.bytes {
        problems.append("\(f.name) does not match its checksum in the manifest")
      }
      if lines != f.lines { problems.append("\(f.name) has \(lines) lines, the manifest says \(f.lines)") }
    }
    return problems
  }
}

extension Manifest {
  /// Key of the extract manifest's `details` holding the cursor each source proposes.
  public static let proposedCursorsKey = "proposed_cursors"

  /// The cursors extract proposed, by source (empty for other stages). Committed to `state.json` by
  /// the pipeline only after ChartMogul confirmed the load.
  public var proposedCursors: [String: JSONObject] {
    var out: [String: JSONObject] = [:]
    for f in details[Manifest.proposedCursorsKey]?.objectValue ?? JSONObject() {
      if let o = f.value.objectValue { out[f.key] = o }
    }
    return out
  }
}

import Foundation
import RevenueCore

/// Record accounting for a stage or a source: every input record is accounted for exactly once.
///
/// The identity `in = out + rejected + skipped + failed` is enforced before a stage is published
/// (DESIGN.md §3; `failed` is only used by load, where a record can be sent and refused).
public struct Accounting: Sendable, Hashable {
  public var input: Int
  public var output: Int
  public var rejected: Int
  public var skipped: Int
  public var failed: Int

  public init(input: Int = 0, output: Int = 0, rejected: Int = 0, skipped: Int = 0, failed: Int = 0) {
    self.input = input
    self.output = output
    self.rejected = rejected
    self.skipped = skipped
    self.failed = failed
  }

  public var isBalanced: Bool { input == output + rejected + skipped + failed }

  public static func + (a: Accounting, b: Accounting) -> Accounting {
    Accounting(
      input: a.input + b.input, output: a.output + b.output, rejected: a.rejected + b.rejected,
      skipped: a.skipped + b.skipped, failed: a.failed + b.failed)
  }

  public var json: JSONValue {
    [
      "in": .int(input), "out": .int(output), "rejected": .int(rejected), "skipped": .int(skipped),
      "failed": .int(failed),
    ]
  }

  public init(json: JSONValue) throws(RecordShapeError) {
    let r = try FieldReader(json, what: "accounting")
    input = Int(try r.int("in"))
    output = Int(try r.int("out"))
    rejected = Int(try r.int("rejected"))
    skipped = Int(try r.int("skipped"))
    failed = Int(try r.optionalInt("failed") ?? 0)
  }

  /// `in 51,204 = out 50,977 + rejected 118 + skipped 109`.
  public var equation: String {
    var s = "in \(input.grouped) = out \(output.grouped) + rejected \(rejected.grouped) + skipped \(skipped.grouped)"
    if failed > 0 { s += " + failed \(failed.grouped)" }
    return s
  }
}

extension Int {
  /// `51204` → `51,204`.
  public var grouped: String {
    let s = String(self.magnitude)
    var out = ""
    for (i, c) in s.enumerated() {
      if i > 0 && (s.count - i) % 3 == 0 { out.append(",") }
      out.append(c)
    }
    return self < 0 ? "-" + out : out
  }
}

/// `manifest.json` of a stage folder: the files it holds, what it was made from and the accounting.
/// A stage folder with a manifest is complete; one without is not and is redone (DESIGN.md §3).
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
      if sum != f.sha256 || bytes != f.bytes { problems.append("\(f.name) does not match its checksum in the manifest") }
      if lines != f.lines { problems.append("\(f.name) has \(lines) lines, the manifest says \(f.lines)") }
    }
    return problems
  }
}

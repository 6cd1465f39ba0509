import Foundation
import RevenueCore
import SystemShims

#if canImport(Glibc)
  import Glibc
#endif

/// The staging folder of one pipeline: `staging/<pipeline>/` with `state.json`, `lock` and `runs/`.
public struct StagingArea: Sendable {
  public let root: String
  public let pipeline: String

  /// `stagingRoot/pipeline`; the pipeline name must be a single safe path component.
  public init(stagingRoot: String, pipeline: String) throws {
    guard PipelineFile.isSafeName(pipeline) else {
      throw ConfigurationError("pipeline name '\(pipeline)' cannot be used as a folder name")
    }
    self.root = (stagingRoot as NSString).appendingPathComponent(pipeline)
    self.pipeline = pipeline
  }

  public var runsDirectory: String { root + "/runs" }
  public var lockPath: String { root + "/lock" }
  public var statePath: String { root + "/state.json" }

  /// Creates the folders (0700) if needed.
  /// Creates the folders (0700) if needed; refuses links and folders others own or can open
  /// (`StagingSafety`).
  public func prepare() throws {
    try FileSystem.makeDirectory(root)
    try StagingSafety.checkFolder(root, what: "the pipeline folder")
    try FileSystem.makeDirectory(runsDirectory)
    try StagingSafety.checkArea(self)
  }

  /// Run ids, oldest first by the creation time recorded in `run.json` (never by name: a
  /// `--run-id backfill-1` made before a timestamped run is older than it).
  public func runIDs() -> [String] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: runsDirectory)) ?? []
    return RunCatalog.orderByCreation(
      names.filter { PipelineFile.isSafeName($0) && FileSystem.isDirectory(runsDirectory + "/" + $0) }, area: self)
  }

  public var latestRunID: String? { runIDs().last }

  /// An existing run; the id must be safe (no `/`, no `..`) and the folder must exist.
  public func existingRun(_ id: String) throws -> RunFolder {
    let run = try RunFolder(area: self, id: id)
    guard FileSystem.isDirectory(run.path) else {
      // A wrong --run-id is a usage problem (exit 2), not a failed stage.
      throw ConfigurationError("run '\(id)' does not exist in \(runsDirectory) (see `status` for the list of runs)")
    }
    try StagingSafety.checkRun(run)
    return run
  }

  /// The run named, or the latest run when `id` is nil.
  public func resolveRun(_ id: String?) throws -> RunFolder {
    if let id { return try existingRun(id) }
    guard let latest = latestRunID else {
      throw ConfigurationError(
        "pipeline '\(pipeline)' has no runs yet in \(runsDirectory); start one with `run` or `extract`")
    }
    return try existingRun(latest)
  }

  /// Creates a new run folder. Without an id, a UTC timestamp id (`20261127T131500Z`) is used.
  public func createRun(id: String?, now: Date = Date()) throws -> RunFolder {
    try prepare()
    var chosen = id ?? RunFolder.timestampID(now)
    if id == nil {
      var n = 2
      while FileSystem.exists(runsDirectory + "/" + chosen) {
        chosen = RunFolder.timestampID(now) + "-\(n)"
        n += 1
      }
    }
    let run = try RunFolder(area: self, id: chosen)
    try FileSystem.makeDirectory(run.path)
    try StagingSafety.checkRun(run)
    try RunCatalog.recordCreation(run, now: now)
    return run
  }
}

/// One run: `runs/<run-id>/` holding `run.json` and one folder per stage.
public struct RunFolder: Sendable {
  public static let stages = ["extract", "transform", "load"]
  public let area: StagingArea
  public let id: String

  public init(area: StagingArea, id: String) throws {
    guard PipelineFile.isSafeName(id) else {
      throw ConfigurationError("run id '\(id)' may only contain letters, digits, '-', '_' and '.' (no '/' or '..')")
    }
    self.area = area
    self.id = id
  }

  public var path: String { area.runsDirectory + "/" + id }
  public var runRecordPath: String { path + "/run.json" }
  public func stagePath(_ stage: String) -> String { path + "/" + stage }

  /// A stage is complete when its folder has a manifest.
  public func isComplete(_ stage: String) -> Bool {
    FileSystem.exists(stagePath(stage) + "/" + Manifest.fileName)
  }

  public func manifest(_ stage: String) throws -> Manifest? { try Manifest.read(stageDirectory: stagePath(stage)) }

  /// The manifest of a stage that must be complete before another can run.
  public func requireManifest(_ stage: String, for next: String) throws -> Manifest {
    guard let m = try manifest(stage) else {
      throw StagingError(
        "run \(id): the \(stage) stage is not complete (no \(stage)/manifest.json), so \(next) cannot run; run `\(stage) --run-id \(id)` first"
      )
    }
    return m
  }

  /// Path of a file in a complete stage.
  public func file(_ stage: String, _ name: String) -> String { stagePath(stage) + "/" + name }

  static func timestampID(_ date: Date) -> String {
    let t = Timestamp(seconds: Int64(date.timeIntervalSince1970.rounded(.down)))
    let c = t.components
    func p(_ v: Int, _ w: Int = 2) -> String { String(repeating: "0", count: max(0, w - String(v).count)) + String(v) }
    return "\(p(c.year, 4))\(p(c.month))\(p(c.day))T\(p(c.hour))\(p(c.minute))\(p(c.second))Z"
  }
}

/// Builds a stage folder under a temporary name and publishes it atomically.
///
/// Files are written into `runs/<id>/.<stage>.tmp-<pid>`; `publish` writes the manifest last and then
/// swaps the folder into place with one `rename` (or an atomic `RENAME_EXCHANGE` when an older complete
/// version exists). A process killed at any instant leaves either the old complete stage or the new one.
public final class StageBuilder {
  public let run: RunFolder
  public let stage: String
  public let directory: String
  private var writers: [String: NDJSONWriter] = [:]
  private var order: [String] = []
  private var published = false

  public init(run: RunFolder, stage: String) throws {
    self.run = run
    self.stage = stage
    StageBuilder.removeStaleTemporaries(run: run, stage: stage)
    directory = run.path + "/.\(stage).tmp-\(getpid())"
    try FileSystem.removeTree(directory)
    try FileSystem.makeDirectory(directory)
  }

  /// Leftovers of interrupted attempts (the pipeline lock guarantees none is in use).
  static func removeStaleTemporaries(run: RunFolder, stage: String) {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: run.path)) ?? []
    for n in names where n.hasPrefix(".\(stage).tmp-") || n.hasPrefix(".\(stage).old-") {
      try? FileSystem.removeTree(run.path + "/" + n)
    }
  }

  /// A new NDJSON file in the stage (one writer per name).
  public func writer(_ name: String) throws -> NDJSONWriter {
    if let w = writers[name] { return w }
    guard PipelineFile.isSafeName(name) else { throw StagingError("staged file name '\(name)' is not safe") }
    let w = try NDJSONWriter(path: directory + "/" + name)
    writers[name] = w
    order.append(name)
    return w
  }

  /// Copies (hard-links when possible) a finished file from the currently published version of this
  /// stage, e.g. to keep the other sources when `extract --source stripe` redoes one source.
  public func carryOver(_ entry: FileEntry) throws {
    let from = run.stagePath(stage) + "/" + entry.name
    let to = directory + "/" + entry.name
    if link(from, to) != 0 {
      try FileManager.default.copyItem(atPath: from, toPath: to)
      chmod(to, 0o600)
    }
    carried.append(entry)
  }
  private var carried: [FileEntry] = []

  /// Closes every file, checks accounting, writes the manifest and publishes the folder.
  @discardableResult
  public func publish(
    inputs: [FileEntry], accounting: Accounting, bySource: [String: Accounting] = [:],
    details: JSONObject = JSONObject()
  ) throws -> Manifest {
    var files = carried
    for name in order { files.append(try writers[name]!.close()) }
    files.sort { $0.name < $1.name }
    let manifest = Manifest(
      stage: stage, runID: run.id, pipeline: run.area.pipeline, files: files, inputs: inputs, accounting: accounting,
      bySource: bySource, details: details)
    try manifest.checkAccounting()
    try AtomicFile.writeJSON(manifest.json, to: directory + "/" + Manifest.fileName)
    FileSystem.syncDirectory(directory)
    let target = run.stagePath(stage)
    if FileSystem.exists(target) {
      guard cshims_rename_exchange(directory, target) == 0 else {
        throw StagingError("cannot publish \(target): \(String(cString: strerror(errno)))")
      }
      // `directory` now holds the previous version; move it aside and delete it.
      let old = run.path + "/.\(stage).old-\(getpid())"
      if rename(directory, old) == 0 { try? FileSystem.removeTree(old) }
    } else {
      guard rename(directory, target) == 0 else {
        throw StagingError("cannot publish \(target): \(String(cString: strerror(errno)))")
      }
    }
    FileSystem.syncDirectory(run.path)
    published = true
    return manifest
  }

  /// Drops the temporary folder (on failure); the published stage, if any, is untouched.
  public func abandon() {
    guard !published else { return }
    for w in writers.values { _ = try? w.close() }
    try? FileSystem.removeTree(directory)
  }
}

/// File-system helpers with the permissions docs/architecture.md "The staging contract" requires (folders 0700, files 0600).
public enum FileSystem {
  public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

  /// Writes all of `bytes` to `fd` (short writes continued, EINTR retried); `path` names the file
  /// in the error.
  public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
    var off = 0
    while off < bytes.count {
      let n = Glibc.write(fd, bytes.baseAddress! + off, bytes.count - off)
      if n < 0 {
        if errno == EINTR { continue }
        throw StagingError("cannot write \(path): \(String(cString: strerror(errno)))")
      }
      off += n
    }
  }

  public static func isDirectory(_ path: String) -> Bool {
    var isDir: ObjCBool = false
    return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue
  }

  /// Creates a folder (and parents) with mode 0700.
  public static func makeDirectory(_ path: String) throws {
    if isDirectory(path) { return }
    do {
      try FileManager.default.createDirectory(
        atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    } catch {
      throw StagingError("cannot create folder \(path): \(error.localizedDescription)")
    }
    chmod(path, 0o700)
  }

  public static func removeTree(_ path: String) throws {
    guard exists(path) else { return }
    try FileManager.default.removeItem(atPath: path)
  }

  static func syncDirectory(_ path: String) {
    let fd = open(path, O_RDONLY | O_DIRECTORY)
    if fd >= 0 {
      fsync(fd)
      close(fd)
    }
  }
}

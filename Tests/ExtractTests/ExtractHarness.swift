import ETLTestSupport
import Extract
import Foundation
import Logging
import RevenueCore
import Staging
import Transport

/// Records every wait the HTTP client asks for and returns at once (keeps retry tests fast and lets
/// them check that `Retry-After` was honoured).
final class RecordingSleeper: Sleeper, @unchecked Sendable {
  private let lock = NSLock()
  private var _waits: [Double] = []
  var waits: [Double] { lock.withLock { _waits } }
  func sleep(seconds: Double) async throws { lock.withLock { _waits.append(seconds) } }
}

/// A pipeline in a temporary folder with its own staging root, and helpers to run extract and read
/// what it staged.
struct ExtractHarness {
  let dir: TempDirectory
  let pipeline: PipelineFile
  let area: StagingArea
  let sleeper = RecordingSleeper()
  var now = Timestamp.parse("2026-11-01T00:00:00Z")!

  init(sources: String, environment: [String: String] = [:]) throws {
    dir = try TempDirectory(prefix: "extract-test")
    let yaml = "name: t\nstaging_root: \(dir.path)/staging\nsources:\n" + sources
    let path = try dir.write("pipeline.yaml", yaml)
    pipeline = try PipelineFile(text: yaml, path: path, environment: Environment(environment))
    area = try StagingArea(stagingRoot: pipeline.stagingRoot, pipeline: pipeline.name)
  }

  var options: ExtractOptions {
    let fixed = now
    return ExtractOptions(
      retryPolicy: RetryPolicy(maxAttempts: 4, baseDelay: 0.01, maxDelay: 60, maxTotalSeconds: 600), sleeper: sleeper,
      now: { fixed })
  }

  func context(_ runID: String) throws -> StageContext {
    let run =
      FileSystem.isDirectory(area.runsDirectory + "/" + runID)
      ? try area.existingRun(runID) : try area.createRun(id: runID)
    return StageContext(
      pipeline: pipeline, environment: Environment([:]), area: area, run: run, logger: Logger(label: "test"))
  }

  @discardableResult
  func run(_ runID: String = "r1", only: String? = nil) async throws -> StageResult {
    try await ExtractStage.run(try context(runID), only: only, options: options)
  }

  func records(_ runID: String, _ source: String) throws -> [ExtractedRecord] {
    var out: [ExtractedRecord] = []
    let path = area.runsDirectory + "/\(runID)/extract/\(source).ndjson"
    guard FileManager.default.fileExists(atPath: path) else { return [] }
    try NDJSONReader(path: path).forEachValue { v, _ in out.append(try ExtractedRecord(json: try v.get())) }
    return out
  }

  func rejects(_ runID: String, _ source: String) throws -> [DiagnosticRecord] {
    var out: [DiagnosticRecord] = []
    let path = area.runsDirectory + "/\(runID)/extract/rejects-\(source).ndjson"
    guard FileManager.default.fileExists(atPath: path) else { return [] }
    try NDJSONReader(path: path).forEachValue { v, _ in out.append(try DiagnosticRecord(json: try v.get())) }
    return out
  }

  func manifest(_ runID: String) throws -> Manifest? { try area.existingRun(runID).manifest("extract") }

  /// Commits the proposed cursors of a run, as the pipeline does after a confirmed load.
  func commitCursors(_ runID: String) throws {
    guard let m = try manifest(runID), let p = m.details["proposed_cursors"]?.objectValue else { return }
    var c: [String: JSONObject] = [:]
    for f in p { c[f.key] = f.value.objectValue }
    try StateStore(area: area).commit(c)
  }
}

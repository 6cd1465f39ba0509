import ETLTestSupport
import Foundation
import Logging
import RevenueCore
import Staging
import Testing

@testable import Transform
@testable import TransformRules

/// Lays out an extract stage from staged NDJSON files and runs the transform on it.
struct TransformHarness {
  let temp: TempDirectory
  private(set) var run: RunFolder
  let pipeline: PipelineFile
  let area: StagingArea

  /// `files`: name → lines (each an `ExtractedRecord` JSON line); `details`: the extract manifest's.
  init(pipelineYAML: String, files: [String: [String]], details: JSONObject = JSONObject()) throws {
    let temp = try TempDirectory(prefix: "transform-test")
    let pipeline = try PipelineFile(text: pipelineYAML, path: "pipeline.yaml", environment: Environment([:]))
    try self.init(
      temp: temp, pipeline: pipeline, area: try StagingArea(stagingRoot: temp.path, pipeline: pipeline.name),
      runID: "r1", files: files, details: details)
  }

  private init(
    temp: TempDirectory, pipeline: PipelineFile, area: StagingArea, runID: String, files: [String: [String]],
    details: JSONObject = JSONObject()
  ) throws {
    self.temp = temp
    self.pipeline = pipeline
    self.area = area
    run = try area.createRun(id: runID)
    let b = try StageBuilder(run: run, stage: "extract")
    var total = 0
    for (name, lines) in files.sorted(by: { $0.key < $1.key }) {
      let w = try b.writer(name)
      for l in lines { try w.writeLine(Array(l.utf8)) }
      total += lines.count
    }
    try b.publish(inputs: [], accounting: Accounting(input: total, output: total), details: details)
  }

  /// A later run of the same pipeline in the same staging area (incremental runs).
  func nextRun(_ id: String, files: [String: [String]], details: JSONObject = JSONObject()) throws -> TransformHarness {
    try TransformHarness(temp: temp, pipeline: pipeline, area: area, runID: id, files: files, details: details)
  }

  /// This harness pointed at another run of its staging area.
  func forRun(_ id: String) throws -> TransformHarness {
    var copy = self
    copy.run = try area.existingRun(id)
    return copy
  }

  /// The fixture folder `fixtures/extract/<name>` with its `pipeline.yaml` (overrides appended);
  /// `details` become the extract manifest's.
  static func fixture(
    _ name: String, transformOverrides: String? = nil, details: JSONObject = JSONObject()
  ) throws -> TransformHarness {
    let dir = RepositoryPaths.fixture("extract/\(name)")
    var yaml = try String(contentsOfFile: dir + "/pipeline.yaml", encoding: .utf8)
    if let o = transformOverrides {
      for line in o.split(separator: "\n") {
        let key = line.trimmingCharacters(in: .whitespaces).split(separator: ":")[0]
        yaml = yaml.split(separator: "\n", omittingEmptySubsequences: false)
          .filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix(key + ":") }.joined(separator: "\n")
        yaml += "\n  " + line.trimmingCharacters(in: .whitespaces)
      }
      yaml += "\n"
    }
    var files: [String: [String]] = [:]
    for f in try FileManager.default.contentsOfDirectory(atPath: dir) where f.hasSuffix(".ndjson") {
      files[f] = try String(contentsOfFile: dir + "/" + f, encoding: .utf8).split(separator: "\n").map(String.init)
    }
    return try TransformHarness(pipelineYAML: yaml, files: files, details: details)
  }

  @discardableResult
  func transform() async throws -> StageResult {
    let ctx = StageContext(
      pipeline: pipeline, environment: Environment([:]), area: area, run: run, logger: Logger(label: "test"))
    return try await TransformStage.run(ctx)
  }

  func lines(_ name: String) throws -> [JSONValue] {
    let text = try String(contentsOfFile: run.file("transform", name), encoding: .utf8)
    return try text.split(separator: "\n").map { try JSONParser.parse(String($0)) }
  }

  func bytes(_ name: String) throws -> Data {
    try Data(contentsOf: URL(fileURLWithPath: run.file("transform", name)))
  }

  func invoices() throws -> [String: InvoiceRecord] {
    var out: [String: InvoiceRecord] = [:]
    for v in try lines("invoices.ndjson") {
      let i = try InvoiceRecord(json: v)
      out[i.externalID] = i
    }
    return out
  }

  func diagnostics(_ name: String) throws -> [DiagnosticRecord] {
    try lines(name).map { try DiagnosticRecord(json: $0) }
  }

  func manifest() throws -> Manifest { try #require(try run.manifest("transform")) }
}

func ts(_ s: String) -> Timestamp { Timestamp.parse(s)! }

extension TransformHarness {
  /// Copies the transform output to `dir` (used to refresh fixtures/transform goldens on request).
  func export(to dir: String) throws {
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    for f in try FileManager.default.contentsOfDirectory(atPath: run.stagePath("transform"))
    where f.hasSuffix(".ndjson") {
      let dst = dir + "/" + f
      try? FileManager.default.removeItem(atPath: dst)
      try FileManager.default.copyItem(atPath: run.file("transform", f), toPath: dst)
    }
  }
}

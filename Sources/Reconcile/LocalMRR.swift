import RevenueCore
import Staging

/// Feeds a run's `transform/` output through `MRREngine`, one line at a time.
///
/// Order matters for exact reactivations: plans, then cancellations, then invoices.
public enum LocalMRR {
  /// A transform file line that is not the record its file promises: names the file, line and field.
  public struct BadLine: Error, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var reason: String
    public var description: String {
      "\(file):\(line): \(reason); the transform output is damaged — rerun `transform` for this run"
    }
  }

  public static func compute(run: RunFolder, fx: FXTable, progress: any ProgressSink = NoProgress()) throws -> MRRResult {
    var engine = MRREngine(fx: fx)
    let manifest = try run.requireManifest("transform", for: "validate")
    try each(run, manifest, "plans.ndjson", progress) { v throws(RecordShapeError) in engine.add(try PlanRecord(json: v)) }
    try each(run, manifest, "cancellations.ndjson", progress) { v throws(RecordShapeError) in
      engine.add(try CancellationRecord(json: v))
    }
    try each(run, manifest, "invoices.ndjson", progress) { v throws(RecordShapeError) in
      engine.add(try InvoiceRecord(json: v))
    }
    return engine.finish()
  }

  static func each(
    _ run: RunFolder, _ manifest: Manifest, _ name: String, _ progress: any ProgressSink,
    _ body: (JSONValue) throws(RecordShapeError) -> Void
  ) throws {
    let path = run.file("transform", name)
    guard FileSystem.exists(path) else { return }
    progress.begin("validate \(name.replacingOccurrences(of: ".ndjson", with: ""))", total: manifest.file(name)?.lines)
    defer { progress.end() }
    try NDJSONReader(path: path).forEachValue { result, line in
      switch result {
      case .failure(let e): throw BadLine(file: path, line: line, reason: "\(e)")
      case .success(let v):
        do throws(RecordShapeError) { try body(v) } catch { throw BadLine(file: path, line: line, reason: "\(error)") }
      }
      progress.advance(by: 1)
    }
  }
}

import RevenueCore
import Staging

/// Feeds transform output through `MRREngine`, one line at a time.
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

  /// MRR of everything loaded so far: this run's transform output plus that of every earlier run whose
  /// load completed (an incremental nightly run only holds what is new, while ChartMogul holds all of it).
  /// Newer runs win when the same record appears twice (a refund re-emits its invoice).
  public static func compute(run: RunFolder, fx: FXTable, progress: any ProgressSink = NoProgress()) throws -> MRRResult
  {
    try engine(run: run, fx: fx, mode: try mode(for: run), progress: progress).finish()
  }

  /// The business truth for `run`. With lapse detection on (`transform.lapse_after_days`, recorded
  /// in the transform manifest with the extract's as-of instant) transform itself cancels every
  /// subscription unpaid past the grace period, so the truth is ChartMogul's rule fed with those
  /// cancellations: a subscription still within its grace keeps its MRR, a lapsed one churned where
  /// its lapse cancellation says. With lapse detection off nothing cancels them, and the truth is
  /// that a subscription nobody pays for has churned at the end of its last period.
  public static func mode(for run: RunFolder) throws -> MRRMode {
    guard let d = try run.manifest("transform")?.details, d["lapse_after_days"]?.int64Value != nil,
      let asOf = d["as_of"]?.stringValue.flatMap(Timestamp.parse)
    else { return .businessTruth }
    return .chartMogulDefault(asOf: asOf)
  }

  /// The engine fed with everything loaded so far, in `mode` (validate passes `mode(for:)`), before
  /// `finish()`; `pastDue(at:mode:)` asks it which subscriptions ChartMogul still counts.
  public static func engine(
    run: RunFolder, fx: FXTable, mode: MRRMode = .businessTruth, progress: any ProgressSink = NoProgress()
  ) throws -> MRREngine {
    var engine = MRREngine(fx: fx, mode: mode)
    let current = (run, try run.requireManifest("transform", for: "validate"))
    var sources: [(RunFolder, Manifest)] = [current]
    for id in run.area.runIDs(createdBefore: run.id).reversed() {
      let earlier = try RunFolder(area: run.area, id: id)
      guard earlier.isComplete("load"), let m = try earlier.manifest("transform") else { continue }
      sources.append((earlier, m))
    }
    var seen = Set<String>()
    func once(_ key: String) -> Bool { seen.insert(key).inserted }
    for (r, m) in sources {
      try each(r, m, "plans.ndjson", progress) { v throws(RecordShapeError) in
        let p = try PlanRecord(json: v)
        if once("plan:" + p.externalID) { engine.add(p) }
      }
    }
    // A subscription's cancellations come from the newest run that has any (one run may hold several).
    var cancelledInNewerRuns = Set<String>()
    for (r, m) in sources {
      var inThisRun = Set<String>()
      try each(r, m, "cancellations.ndjson", progress) { v throws(RecordShapeError) in
        let c = try CancellationRecord(json: v)
        guard !cancelledInNewerRuns.contains(c.subscriptionExternalID) else { return }
        inThisRun.insert(c.subscriptionExternalID)
        // A withdrawn lapse leaves the subscription uncancelled: the newest run's word is that.
        if !c.withdrawn { engine.add(c) }
      }
      cancelledInNewerRuns.formUnion(inThisRun)
    }
    for (r, m) in sources {
      try each(r, m, "invoices.ndjson", progress) { v throws(RecordShapeError) in
        let i = try InvoiceRecord(json: v)
        if once("invoice:" + i.externalID) { engine.add(i) }
      }
    }
    return engine
  }

  static func each(
    _ run: RunFolder, _ manifest: Manifest, _ name: String, _ progress: any ProgressSink,
    _ body: (JSONValue) throws(RecordShapeError) -> Void
  ) throws {
    let path = run.file("transform", name)
    _ = try StagedInput.verify(run: run, stage: "transform", manifest: manifest, names: [name])
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

import Foundation
import RevenueCore
import Staging

/// Per-run monitoring figures for `run.json` and `status --json`, checked against thresholds.
///
/// Every figure is read from what the stages wrote (manifests, ledgers, `run.json`, `validate.json`);
/// a figure whose stage data is missing is `null`, never invented.
public struct Monitoring {
  /// A figure on the wrong side of its threshold.
  public struct Breach: Sendable, Hashable {
    public var figure: String
    public var value: Double
    public var limit: Double
    public var isMinimum: Bool

    public init(figure: String, value: Double, limit: Double, isMinimum: Bool) {
      self.figure = figure
      self.value = value
      self.limit = limit
      self.isMinimum = isMinimum
    }

    public var sentence: String {
      "\(figure) is \(Monitoring.display(figure, value)) (\(isMinimum ? "minimum" : "maximum") \(Monitoring.display(figure, limit)))"
    }
    public var json: JSONValue {
      [
        "figure": .string(figure), "value": JSONNumber.value(value), "limit": JSONNumber.value(limit),
        "rule": .string(isMinimum ? "min" : "max"),
      ]
    }
  }

  /// `{"figures": {…}, "thresholds": {…}, "breaches": […]}`.
  public static func figures(run: RunFolder, area: StagingArea, thresholds: MonitoringThresholds) throws -> JSONObject {
    let f = try collect(run: run, area: area)
    var figs = JSONObject()
    for k in figureKeys { figs[k] = JSONNumber.value(f[k] ?? nil) }
    let b = breaches(f, thresholds: thresholds)
    return JSONObject([
      "figures": .object(figs), "thresholds": thresholds.json, "breaches": .array(b.map(\.json)),
    ])
  }

  public static let figureKeys = [
    "sync_success_rate", "duration_s", "failed_backlog", "mrr_variance", "customer_duplication_rate",
    "missing_attribute_rate", "api_requests", "api_error_rate", "api_errors_per_hour", "rate_limited_share",
    "median_response_ms", "p95_response_ms",
  ]

  /// Breaches of the given figures (missing figures never breach).
  public static func breaches(_ figures: [String: Double?], thresholds: MonitoringThresholds) -> [Breach] {
    var out: [Breach] = []
    for r in thresholds.rules {
      guard let v = figures[r.figure] ?? nil else { continue }
      if r.isMinimum ? v < r.limit : v > r.limit {
        out.append(Breach(figure: r.figure, value: v, limit: r.limit, isMinimum: r.isMinimum))
      }
    }
    return out
  }

  /// Breaches recorded in a `figures(...)` object.
  public static func breaches(in figures: JSONObject) -> [Breach] {
    (figures["breaches"]?.arrayValue ?? []).compactMap { b in
      guard let f = b["figure"]?.stringValue, let v = b["value"]?.doubleValue, let l = b["limit"]?.doubleValue else {
        return nil
      }
      return Breach(figure: f, value: v, limit: l, isMinimum: b["rule"]?.stringValue == "min")
    }
  }

  static func display(_ figure: String, _ v: Double) -> String {
    if figure.hasSuffix("_rate") || figure.hasSuffix("_share") || figure == "mrr_variance" {
      return String(format: "%.2f%%", v * 100)
    }
    if figure.hasSuffix("_ms") { return String(format: "%.0f ms", v) }
    if figure.hasSuffix("_s") { return String(format: "%.1f s", v) }
    return JSONNumber.format(v)
  }

  // MARK: - Reading the run

  static func collect(run: RunFolder, area: StagingArea) throws -> [String: Double?] {
    var f: [String: Double?] = [:]
    let record = try RunRecord.read(run)
    let stages = record["stages"]?.objectValue ?? JSONObject()
    f["duration_s"] = duration(record, stages)

    if let load = try run.manifest("load") {
      let a = load.accounting
      let attempted = a.output + a.failed
      f["sync_success_rate"] = attempted > 0 ? Double(a.output) / Double(attempted) : nil
      let http = load.details["http"]?.objectValue ?? load.details
      if let requests = number(http["requests"]), requests > 0 {
        f["api_requests"] = requests
        let errors = number(http["errors"]) ?? 0
        f["api_error_rate"] = errors / requests
        f["rate_limited_share"] = (number(http["rate_limited"]) ?? 0) / requests
        let loadSeconds = number(stages["load"]?["duration_s"]) ?? number(load.details["duration_s"])
        if let s = loadSeconds, s > 0 { f["api_errors_per_hour"] = errors / (s / 3600) }
      }
      f["median_response_ms"] = number(http["median_ms"])
      f["p95_response_ms"] = number(http["p95_ms"])
    }
    f["failed_backlog"] = try failedBacklog(area: area, upTo: run.id)

    if let v = try AtomicFile.readJSON(run.path + "/" + ValidationResult.fileName) {
      f["mrr_variance"] = number(v["max_variance"])
    }
    if let t = try run.manifest("transform") {
      f["missing_attribute_rate"] = number(t.details["missing_attribute_rate"])
      let customers = t.file("customers.ndjson")?.lines
      if let merges = mergeCount(t.details), let customers, customers > 0 {
        f["customer_duplication_rate"] = merges / Double(customers)
      }
    }
    return f
  }

  static func duration(_ record: JSONObject, _ stages: JSONObject) -> Double? {
    if let a = record["started_at"]?.stringValue.flatMap(Timestamp.parse),
      let b = record["finished_at"]?.stringValue.flatMap(Timestamp.parse), b >= a
    {
      return Double(b.seconds - a.seconds)
    }
    let parts = stages.compactMap { number($0.value["duration_s"]) }
    return parts.isEmpty ? nil : parts.reduce(0, +)
  }

  /// Transform's merges: `merges` = `[{"into","merged":[ids…],"email"}]` (each merged id is one
  /// duplicate), or a plain count / list / object of counts.
  static func mergeCount(_ d: JSONObject) -> Double? {
    for key in ["merges", "merged_customers", "customer_merges"] {
      guard let v = d[key] else { continue }
      if let n = number(v) { return n }
      if let a = v.arrayValue { return a.reduce(0) { $0 + Double($1["merged"]?.arrayValue?.count ?? 1) } }
      if let o = v.objectValue { return o.reduce(0) { $0 + (number($1.value) ?? 0) } }
    }
    return nil
  }

  /// Records whose latest ledger status, over all runs up to `upTo`, is `failed`; nil without ledgers.
  static func failedBacklog(area: StagingArea, upTo: String) throws -> Double? {
    var failed = Set<String>()
    var sawLedger = false
    for id in area.runIDs(createdUpTo: upTo) {
      let path = area.runsDirectory + "/" + id + "/load/ledger.ndjson"
      guard FileSystem.exists(path) else { continue }
      sawLedger = true
      try NDJSONReader(path: path).forEachValue { result, _ in
        // Load's ledger lines: `{"type","key","status",…}` (`key` = the record's idempotency key).
        guard case .success(let v) = result, let status = v["status"]?.stringValue,
          let ext = v["key"]?.stringValue ?? v["external_id"]?.stringValue
        else { return }
        let type = v["type"]?.stringValue ?? v["record_type"]?.stringValue ?? v["kind"]?.stringValue ?? ""
        let key = type + "\u{1}" + ext
        if status == "failed" { failed.insert(key) } else if status == "confirmed" { failed.remove(key) }
      }
    }
    return sawLedger ? Double(failed.count) : nil
  }

  static func number(_ v: JSONValue?) -> Double? {
    guard let v else { return nil }
    if let d = v.doubleValue { return d }
    if let s = v.stringValue { return Double(s) }
    return nil
  }
}

import Foundation
import RevenueCore
import Staging

/// The monitoring figures of a pipeline (what `Monitoring` writes into each run's `run.json`) in the
/// Prometheus text exposition format (https://prometheus.io/docs/instrumenting/exposition_formats/),
/// for `serve`'s `GET /metrics` and node_exporter's textfile collector (`run --metrics-file`).
///
/// Figures of the latest run that has them, plus counts over the runs kept and the average duration
/// of the last `window` runs. A figure the run could not compute (`null`) is left out, never 0.
public enum PrometheusText {
  public static let window = 20

  /// `(metric, figure key in run.json, help)`; rates are ratios 0…1, times in seconds.
  static let gauges: [(String, String, String)] = [
    (
      "chartmogul_etl_sync_success_rate", "sync_success_rate",
      "Share of records sent to ChartMogul that it confirmed (latest run)."
    ),
    ("chartmogul_etl_run_duration_seconds", "duration_s", "Duration of the latest run."),
    ("chartmogul_etl_failed_backlog", "failed_backlog", "Records failed in the ledger and not yet confirmed."),
    ("chartmogul_etl_mrr_variance_ratio", "mrr_variance", "Largest monthly variance between local and ChartMogul MRR."),
    (
      "chartmogul_etl_customer_duplication_rate", "customer_duplication_rate",
      "Customers merged by email per customer written."
    ),
    (
      "chartmogul_etl_missing_attribute_rate", "missing_attribute_rate",
      "Share of customers missing an expected attribute."
    ),
    ("chartmogul_etl_rate_limit_utilisation_ratio", "rate_limited_share", "Share of ChartMogul requests answered 429."),
    ("chartmogul_etl_api_requests", "api_requests", "Requests sent to ChartMogul by the latest load."),
    ("chartmogul_etl_api_error_rate", "api_error_rate", "Share of ChartMogul requests that failed."),
    ("chartmogul_etl_api_errors_per_hour", "api_errors_per_hour", "ChartMogul API errors per hour of load."),
  ]

  public static func render(area: StagingArea) -> String {
    let p = "pipeline=\"\(escape(area.pipeline))\""
    var out = ""
    func metric(_ name: String, _ type: String, _ help: String, _ samples: [(String, Double)]) {
      guard !samples.isEmpty else { return }
      out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
      for (labels, v) in samples { out += "\(name){\(labels)} \(format(v))\n" }
    }
    let ids = area.runIDs()
    var records: [JSONObject] = []
    for id in ids {
      guard let run = try? RunFolder(area: area, id: id), let r = try? RunRecord.read(run) else { continue }
      records.append(RunRepair.honest(r))
    }
    var outcomes: [String: Int] = [:]
    for r in records { outcomes[r["outcome"]?.stringValue ?? "unknown", default: 0] += 1 }
    metric(
      "chartmogul_etl_runs", "gauge", "Runs kept in the staging folder, by outcome.",
      outcomes.sorted { $0.key < $1.key }.map { ("\(p),outcome=\"\(escape($0.key))\"", Double($0.value)) })
    let measured = records.filter { $0["monitoring"]?["figures"]?.objectValue != nil }
    if let latest = measured.last, let figures = latest["monitoring"]?["figures"]?.objectValue {
      for (name, key, help) in gauges {
        if let v = figures[key]?.doubleValue { metric(name, "gauge", help, [(p, v)]) }
      }
      var quantiles: [(String, Double)] = []
      if let v = figures["median_response_ms"]?.doubleValue { quantiles.append(("\(p),quantile=\"0.5\"", v / 1000)) }
      if let v = figures["p95_response_ms"]?.doubleValue { quantiles.append(("\(p),quantile=\"0.95\"", v / 1000)) }
      metric("chartmogul_etl_response_time_seconds", "gauge", "ChartMogul response time of the latest load.", quantiles)
      let durations = measured.suffix(window).compactMap { $0["monitoring"]?["figures"]?["duration_s"]?.doubleValue }
      if !durations.isEmpty {
        metric(
          "chartmogul_etl_run_duration_seconds_average", "gauge",
          "Average duration of the last \(window) measured runs.",
          [(p, durations.reduce(0, +) / Double(durations.count))])
      }
      let recent = records.suffix(window).filter { $0["outcome"]?.stringValue != "running" }
      if !recent.isEmpty {
        let good = recent.filter { $0["outcome"]?.stringValue == "succeeded" }.count
        metric(
          "chartmogul_etl_runs_succeeded_ratio", "gauge", "Share of the last \(window) finished runs that succeeded.",
          [(p, Double(good) / Double(recent.count))])
      }
      if let t = latest["finished_at"]?.stringValue.flatMap(Timestamp.parse) {
        metric(
          "chartmogul_etl_last_run_finished_timestamp_seconds", "gauge", "When the latest measured run finished.",
          [(p, Double(t.seconds))])
      }
    }
    if let last = records.last {
      metric(
        "chartmogul_etl_last_run_succeeded", "gauge", "1 when the latest run succeeded.",
        [(p, last["outcome"]?.stringValue == "succeeded" ? 1 : 0)])
    }
    return out
  }

  /// Writes the text for node_exporter's textfile collector: a temporary file renamed into place,
  /// readable by the exporter (0644).
  public static func writeFile(_ text: String, to path: String) throws {
    try AtomicFile.write(Array(text.utf8), to: path, mode: 0o644)
  }

  static func escape(_ s: String) -> String {
    s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
      .replacingOccurrences(of: "\n", with: "\\n")
  }

  static func format(_ v: Double) -> String {
    if v.isNaN { return "NaN" }
    if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
    return String(v)
  }
}

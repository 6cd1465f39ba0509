import Foundation
import RevenueCore
import Staging

/// `report`: one self-contained `report.html` in the run folder (inline CSS and SVG, no scripts, no
/// network): stage funnel, MRR by month with movements (local vs ChartMogul when `validate.json`
/// exists), top reject reasons with examples, and monitoring figures against thresholds.
/// Everything taken from data is HTML-escaped.
public enum RunReport {
  public static let fileName = "report.html"
  /// Reject codes listed, and examples kept per code.
  static let topReasons = 10
  static let examplesPerReason = 3

  /// Writes the report and returns its path.
  @discardableResult
  public static func write(run: RunFolder, configuration: PipelineConfiguration) throws -> String {
    let html = try render(run: run, configuration: configuration)
    let path = run.path + "/" + fileName
    try AtomicFile.write(Array(html.utf8), to: path)
    return path
  }

  static func render(run: RunFolder, configuration: PipelineConfiguration) throws -> String {
    let pipeline = configuration.pipeline
    var notes: [String] = []
    let cfg: ValidateConfig
    do {
      cfg = try configuration.section(ValidateConfig.self)
    } catch {
      notes.append("validate/monitoring settings could not be read (\(error)); defaults are used")
      cfg = ValidateConfig()
    }
    let record = try RunRecord.read(run)
    var body = header(run: run, pipeline: pipeline, record: record)
    body += try funnelSection(run)
    body += try mrrSection(run: run, cfg: cfg, notes: &notes)
    body += try rejectSection(run)
    body += try monitoringSection(run: run, cfg: cfg)
    if !notes.isEmpty {
      body +=
        "<section><h2>Notes</h2><ul>" + notes.map { "<li>\(HTML.esc(Redactor.shared.redact($0)))</li>" }.joined()
        + "</ul></section>"
    }
    return """
      <!DOCTYPE html>
      <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
      <title>\(HTML.esc("chartmogul-etl · \(pipeline.name) · \(run.id)"))</title>
      <style>\(HTML.style)</style></head>
      <body><main>
      \(body)
      </main></body></html>

      """
  }

  static func header(run: RunFolder, pipeline: PipelineFile, record: JSONObject) -> String {
    let outcome = record["outcome"]?.stringValue
    let badge: String
    switch outcome {
    case "succeeded"?, "success"?, "ok"?: badge = "<span class=\"badge ok\">\(HTML.esc(outcome!))</span>"
    case nil: badge = "<span class=\"badge na\">no outcome recorded</span>"
    case let o?: badge = "<span class=\"badge bad\">\(HTML.esc(o))</span>"
    }
    var sub = "run <code>\(HTML.esc(run.id))</code> · "
    if let s = record["started_at"]?.stringValue { sub += "started \(HTML.esc(s)) · " }
    if let f = record["finished_at"]?.stringValue { sub += "finished \(HTML.esc(f)) · " }
    if let c = record["command"]?.stringValue { sub += "command <code>\(HTML.esc(c))</code> · " }
    sub += badge
    return "<h1>Pipeline \(HTML.esc(pipeline.name))</h1><div class=\"sub\">\(sub)</div>"
  }

  // MARK: - Funnel

  static func funnelSection(_ run: RunFolder) throws -> String {
    var rows: [(stage: String, a: (input: Int, output: Int, rejected: Int, skipped: Int, failed: Int))] = []
    var table = ""
    for stage in RunFolder.stages {
      guard let m = try run.manifest(stage) else {
        table += "<tr><td>\(stage)</td><td colspan=\"5\" class=\"muted\">not complete (no manifest)</td></tr>"
        continue
      }
      let a = m.accounting
      rows.append((stage, (a.input, a.output, a.rejected, a.skipped, a.failed)))
      table +=
        "<tr><td>\(stage)</td>"
        + [a.input, a.output, a.rejected, a.skipped, a.failed].map {
          "<td class=\"n\">\($0.grouped)</td>"
        }.joined() + "</tr>"
      for (source, sa) in m.bySource.sorted(by: { $0.key < $1.key }) {
        table +=
          "<tr class=\"muted\"><td>&nbsp;&nbsp;↳ \(HTML.esc(source))</td>"
          + [sa.input, sa.output, sa.rejected, sa.skipped, sa.failed].map { "<td class=\"n\">\($0.grouped)</td>" }
          .joined()
          + "</tr>"
      }
    }
    var s = "<section><h2>Stage funnel</h2>"
    if !rows.isEmpty {
      s += ReportCharts.legend([
        ("out", "#3d5a99"), ("rejected", "#d9534f"), ("skipped", "#9aa3b2"), ("failed", "#8b1e3f"),
      ])
      s += ReportCharts.funnel(rows)
      s +=
        "<p class=\"muted\" style=\"font-size:12px;margin:4px 0 10px\">Bars are scaled to the largest stage input. Each stage counts its own records: extract raw rows, transform source records, load every object sent (customers, plans, invoices, transactions, cancellations, attributes).</p>"
    }
    s +=
      "<table><tr><th>stage</th><th class=\"n\">in</th><th class=\"n\">out</th><th class=\"n\">rejected</th><th class=\"n\">skipped</th><th class=\"n\">failed</th></tr>\(table)</table></section>"
    return s
  }

  // MARK: - Rejects

  static func rejectSection(_ run: RunFolder) throws -> String {
    let path = run.file("transform", "rejects.ndjson")
    var s = "<section><h2>Top reject reasons</h2>"
    guard FileSystem.exists(path) else {
      return s + "<p class=\"muted\">No transform rejects file in this run.</p></section>"
    }
    var counts: [String: Int] = [:]
    var examples: [String: [DiagnosticRecord]] = [:]
    var unreadable = 0
    try NDJSONReader(path: path).forEachValue { result, _ in
      guard case .success(let v) = result, let d = try? DiagnosticRecord(json: v) else {
        unreadable += 1
        return
      }
      counts[d.code, default: 0] += 1
      if examples[d.code, default: []].count < examplesPerReason {
        var kept = d
        kept.record = nil  // the raw record can hold personal data; file:line points to it
        examples[d.code, default: []].append(kept)
      }
    }
    if counts.isEmpty && unreadable == 0 {
      return s + "<p>No records were rejected. <span class=\"badge ok\">0</span></p></section>"
    }
    let total = counts.values.reduce(0, +)
    s += "<p>\(total.grouped) rejected record\(total == 1 ? "" : "s") in <code>transform/rejects.ndjson</code>.</p>"
    s += "<table><tr><th>code</th><th class=\"n\">count</th><th>examples (reason · where)</th></tr>"
    let sorted = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
    for (code, n) in sorted.prefix(topReasons) {
      let ex = (examples[code] ?? []).map { d in
        var place = "\(d.file):\(d.line)"
        if let e = d.externalID { place += " · \(e)" }
        return
          "<div>\(HTML.esc(Redactor.shared.redact(d.reason))) <span class=\"muted\">· <code>\(HTML.esc(place))</code></span></div>"
      }.joined()
      s += "<tr><td><code>\(HTML.esc(code))</code></td><td class=\"n\">\(n.grouped)</td><td>\(ex)</td></tr>"
    }
    if sorted.count > topReasons {
      let rest = sorted.dropFirst(topReasons).reduce(0) { $0 + $1.value }
      s +=
        "<tr><td class=\"muted\">\(sorted.count - topReasons) other codes</td><td class=\"n\">\(rest.grouped)</td><td></td></tr>"
    }
    if unreadable > 0 {
      s += "<tr><td class=\"muted\">unreadable lines</td><td class=\"n\">\(unreadable)</td><td></td></tr>"
    }
    return s + "</table></section>"
  }

  // MARK: - Monitoring

  static let figureLabels = [
    "sync_success_rate": "Sync success rate (load)", "duration_s": "Run duration",
    "failed_backlog": "Failed backlog (records not yet confirmed, all runs)",
    "mrr_variance": "MRR variance vs ChartMogul",
    "customer_duplication_rate": "Customer duplication rate (merges / customers)",
    "missing_attribute_rate": "Missing-attribute rate", "api_requests": "API requests",
    "api_error_rate": "API error rate", "api_errors_per_hour": "API errors per hour",
    "rate_limited_share": "429 share of requests", "median_response_ms": "Median response time",
    "p95_response_ms": "p95 response time",
  ]

  static func monitoringSection(run: RunFolder, cfg: ValidateConfig) throws -> String {
    let m = try Monitoring.figures(run: run, area: run.area, thresholds: cfg.thresholds)
    let figures = m["figures"]?.objectValue ?? JSONObject()
    let breaches = Set(Monitoring.breaches(in: m).map(\.figure))
    var limits: [String: (Double, Bool)] = [:]
    for r in cfg.thresholds.rules { limits[r.figure] = (r.limit, r.isMinimum) }
    var s =
      "<section><h2>Monitoring</h2><table><tr><th>figure</th><th class=\"n\">value</th><th class=\"n\">threshold</th><th>status</th></tr>"
    for key in Monitoring.figureKeys {
      let v = figures[key]?.doubleValue
      let limit = limits[key].map { ($0.1 ? "≥ " : "≤ ") + Monitoring.display(key, $0.0) } ?? "—"
      let status: String
      if v == nil {
        status = "<span class=\"badge na\">no data</span>"
      } else if breaches.contains(key) {
        status = "<span class=\"badge bad\">crossed</span>"
      } else if limits[key] != nil {
        status = "<span class=\"badge ok\">ok</span>"
      } else {
        status = ""
      }
      s +=
        "<tr><td>\(figureLabels[key] ?? key)</td><td class=\"n\">\(v.map { Monitoring.display(key, $0) } ?? "—")</td><td class=\"n\">\(limit)</td><td>\(status)</td></tr>"
    }
    return s + "</table></section>"
  }
}

import Foundation
import RevenueCore
import Staging

extension RunReport {
  /// MRR by month: from `validate.json` (local vs ChartMogul) when present, else the local engine alone.
  static func mrrSection(run: RunFolder, cfg: ValidateConfig, notes: inout [String]) throws -> String {
    var points: [ReportCharts.MonthPoint] = []
    var currency = cfg.fx.reporting.code
    var drill: [JSONValue] = []
    var verdict = ""
    var threshold = cfg.varianceThreshold
    if let v = try AtomicFile.readJSON(run.path + "/" + ValidationResult.fileName) {
      currency = v["reporting_currency"]?.stringValue ?? currency
      for m in v["months"]?.arrayValue ?? [] {
        var mv = MovementTotals()
        for k in MovementKind.allCases { mv[k] = m["local"]?["movements"]?[k.rawValue]?.int64Value ?? 0 }
        points.append(
          ReportCharts.MonthPoint(
            label: m["month"]?.stringValue ?? "?", local: m["local"]?["mrr"]?.int64Value ?? 0,
            remote: m["chartmogul_mrr"]?.int64Value, movements: mv))
      }
      drill = v["drill_down"]?.arrayValue ?? []
      let passed = v["passed"]?.boolValue ?? false
      let maxV = v["max_variance"]?.doubleValue ?? 0
      let thr = v["threshold"]?.doubleValue ?? cfg.varianceThreshold
      threshold = thr
      verdict =
        "<p>Validation <span class=\"badge \(passed ? "ok" : "bad")\">\(passed ? "passed" : "failed")</span> — largest monthly variance \(HTML.percent(maxV)), threshold \(HTML.percent(thr)).</p>"
    } else if run.isComplete("transform") {
      let local = try LocalMRR.compute(run: run, fx: cfg.fx)
      if !local.currenciesWithoutRate.isEmpty {
        notes.append(
          "local MRR leaves out \(local.currenciesWithoutRate.joined(separator: ", ")): no rate in validate.fx")
      }
      for m in local.monthly(local.monthsWithData) {
        points.append(
          ReportCharts.MonthPoint(label: m.month.description, local: m.mrr, remote: nil, movements: m.movements))
      }
      verdict = "<p class=\"muted\">Not validated yet (no validate.json): local MRR only.</p>"
    }
    var s = "<section><h2>MRR by month (\(HTML.esc(currency)))</h2>\(verdict)"
    guard !points.isEmpty else { return s + "<p class=\"muted\">No MRR data in this run.</p></section>" }
    let exp = Currency(currency)?.exponent ?? 2
    var legend = [("local MRR", ReportCharts.localColor)]
    if points.contains(where: { $0.remote != nil }) { legend.append(("ChartMogul MRR", ReportCharts.remoteColor)) }
    s += ReportCharts.legend(legend) + ReportCharts.mrrBars(points, exponent: exp)
    s += "<h2 style=\"margin-top:18px\">Movements (local)</h2>"
    s += ReportCharts.legend(
      [MovementKind.newBusiness, .expansion, .reactivation, .contraction, .churn].map {
        ($0.rawValue.replacingOccurrences(of: "_", with: " "), ReportCharts.colors[$0]!)
      })
    s += ReportCharts.movementBars(points, exponent: exp)
    s +=
      "<table><tr><th>month</th><th class=\"n\">local MRR</th><th class=\"n\">ChartMogul</th><th class=\"n\">variance</th>"
    s += MovementKind.allCases.map { "<th class=\"n\">\($0.rawValue.replacingOccurrences(of: "_", with: " "))</th>" }
      .joined()
    s += "</tr>"
    for p in points {
      var variance = "—"
      if let r = p.remote {
        let v = r == 0 ? (p.local == 0 ? 0 : 1) : Double((p.local - r).magnitude) / Double(r.magnitude)
        let cls = v > threshold ? "badge bad" : "badge ok"
        variance = "<span class=\"\(cls)\">\(HTML.percent(v))</span>"
      }
      s += "<tr><td>\(HTML.esc(p.label))</td><td class=\"n\">\(HTML.money(p.local, exponent: exp))</td>"
      s +=
        "<td class=\"n\">\(p.remote.map { HTML.money($0, exponent: exp) } ?? "—")</td><td class=\"n\">\(variance)</td>"
      s += MovementKind.allCases.map { "<td class=\"n\">\(HTML.money(p.movements[$0], exponent: exp))</td>" }.joined()
      s += "</tr>"
    }
    s += "</table>"
    if !drill.isEmpty {
      s += "<h2 style=\"margin-top:18px\">Customers whose MRR differs most</h2>"
      s +=
        "<table><tr><th>customer</th><th class=\"n\">local</th><th class=\"n\">ChartMogul</th><th class=\"n\">difference</th></tr>"
      for d in drill {
        let cm = d["chartmogul_mrr"]?.int64Value.map { HTML.money($0, exponent: exp) } ?? "absent"
        s += "<tr><td><code>\(HTML.esc(d["external_id"]?.stringValue ?? "?"))</code></td>"
        s +=
          "<td class=\"n\">\(HTML.money(d["local_mrr"]?.int64Value ?? 0, exponent: exp))</td><td class=\"n\">\(cm)</td>"
        s += "<td class=\"n\">\(HTML.money(d["difference"]?.int64Value ?? 0, exponent: exp))</td></tr>"
      }
      s += "</table>"
    }
    return s + "</section>"
  }
}

import Foundation
import RevenueCore

/// Inline SVG charts for the report (no scripts, no external resources).
enum ReportCharts {
  struct MonthPoint {
    var label: String
    var local: Int64
    var remote: Int64?
    var movements: MovementTotals
  }

  static let colors: [MovementKind: String] = [
    .newBusiness: "#2f9e6a", .expansion: "#7cc49b", .reactivation: "#3d7bd9", .contraction: "#f0a35e",
    .churn: "#d9534f",
  ]
  static let localColor = "#3d5a99"
  static let remoteColor = "#c9a227"

  static func legend(_ items: [(String, String)]) -> String {
    "<div class=\"legend\">"
      + items.map { "<span><i class=\"sw\" style=\"background:\($0.1)\"></i>\(HTML.esc($0.0))</span>" }.joined()
      + "</div>"
  }

  /// Grouped bars: local MRR and ChartMogul MRR per month.
  static func mrrBars(_ points: [MonthPoint], exponent: Int) -> String {
    let w = 1040.0
    let h = 260.0
    let left = 64.0
    let bottom = 34.0
    let top = 12.0
    let scale = pow(10.0, Double(exponent))
    let maxV = max(1, points.map { Double(max($0.local, $0.remote ?? 0)) / scale }.max() ?? 1)
    let (ticks, top_) = niceTicks(maxV)
    let plotH = h - bottom - top
    let slot = (w - left - 8) / Double(max(points.count, 1))
    let bw = min(28, slot * 0.36)
    var s = "<svg viewBox=\"0 0 \(Int(w)) \(Int(h))\" role=\"img\" aria-label=\"MRR by month\">"
    s += axis(ticks: ticks, top: top_, left: left, width: w, plotTop: top, plotH: plotH)
    for (i, p) in points.enumerated() {
      let cx = left + slot * (Double(i) + 0.5)
      let lh = Double(p.local) / scale / top_ * plotH
      s += rect(cx - bw - 1, top + plotH - lh, bw, lh, localColor, "local \(p.label)")
      if let r = p.remote {
        let rh = Double(r) / scale / top_ * plotH
        s += rect(cx + 1, top + plotH - rh, bw, rh, remoteColor, "ChartMogul \(p.label)")
      }
      s += label(p.label, cx, h - bottom + 16, points.count)
    }
    return s + "</svg>"
  }

  /// Stacked movement bars per month: gains above the zero line, losses below.
  static func movementBars(_ points: [MonthPoint], exponent: Int) -> String {
    let w = 1040.0
    let h = 240.0
    let left = 64.0
    let bottom = 34.0
    let top = 12.0
    let scale = pow(10.0, Double(exponent))
    let ups: [MovementKind] = [.newBusiness, .expansion, .reactivation]
    let downs: [MovementKind] = [.contraction, .churn]
    let maxUp = points.map { p in ups.reduce(0.0) { $0 + Double(max(0, p.movements[$1])) } }.max() ?? 0
    let maxDown = points.map { p in downs.reduce(0.0) { $0 + Double(-min(0, p.movements[$1])) } }.max() ?? 0
    // Round steps: the same step above and below the zero line.
    let step = niceStep(max(maxUp, maxDown) / scale / 2)
    let upTop = max(step, (maxUp / scale / step).rounded(.up) * step)
    let downTop = maxDown > 0 ? (maxDown / scale / step).rounded(.up) * step : 0
    let plotH = h - bottom - top
    let unit = plotH / (upTop + downTop)
    let zeroY = top + upTop * unit
    let slot = (w - left - 8) / Double(max(points.count, 1))
    let bw = min(40, slot * 0.6)
    var s = "<svg viewBox=\"0 0 \(Int(w)) \(Int(h))\" role=\"img\" aria-label=\"MRR movements by month\">"
    var v = -downTop
    while v <= upTop + step / 2 {
      let y = zeroY - v * unit
      s +=
        "<line x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(w - 4))\" y2=\"\(f(y))\" stroke=\"\(abs(v) < step / 2 ? "#8a93a3" : "#e6e9ef")\"/>"
      s +=
        "<text x=\"\(f(left - 6))\" y=\"\(f(y + 4))\" text-anchor=\"end\" font-size=\"11\" fill=\"#5b6578\">\(HTML.compact(abs(v) < step / 2 ? 0 : v))</text>"
      v += step
    }
    for (i, p) in points.enumerated() {
      let x = left + slot * (Double(i) + 0.5) - bw / 2
      var y = zeroY
      for k in ups {
        let v = Double(max(0, p.movements[k])) / scale * unit
        guard v > 0 else { continue }
        y -= v
        s += rect(x, y, bw, v, colors[k]!, "\(k.rawValue) \(p.label)")
      }
      y = zeroY
      for k in downs {
        let v = Double(-min(0, p.movements[k])) / scale * unit
        guard v > 0 else { continue }
        s += rect(x, y, bw, v, colors[k]!, "\(k.rawValue) \(p.label)")
        y += v
      }
      s += label(p.label, x + bw / 2, h - bottom + 16, points.count)
    }
    return s + "</svg>"
  }

  /// One horizontal stacked bar per stage: out / rejected / skipped / failed, scaled to the largest `in`.
  static func funnel(_ rows: [(stage: String, a: (input: Int, output: Int, rejected: Int, skipped: Int, failed: Int))])
    -> String
  {
    let w = 1040.0
    let rowH = 34.0
    let left = 90.0
    let right = 20.0
    let h = rowH * Double(rows.count) + 8
    let maxIn = Double(max(1, rows.map(\.a.input).max() ?? 1))
    var s = "<svg viewBox=\"0 0 \(Int(w)) \(Int(h))\" role=\"img\" aria-label=\"stage funnel\">"
    for (i, r) in rows.enumerated() {
      let y = 4 + Double(i) * rowH
      s +=
        "<text x=\"\(f(left - 10))\" y=\"\(f(y + 19))\" text-anchor=\"end\" font-size=\"13\" fill=\"#1d2433\">\(HTML.esc(r.stage))</text>"
      var x = left
      let parts: [(Int, String, String)] = [
        (r.a.output, "#3d5a99", "out"), (r.a.rejected, "#d9534f", "rejected"), (r.a.skipped, "#9aa3b2", "skipped"),
        (r.a.failed, "#8b1e3f", "failed"),
      ]
      for (v, color, name) in parts where v > 0 {
        let bw = Double(v) / maxIn * (w - left - right)
        s += rect(x, y + 4, max(bw, 1.5), rowH - 12, color, "\(r.stage) \(name) \(v)")
        x += bw
      }
      if r.a.input == 0 {
        s += "<text x=\"\(f(left + 4))\" y=\"\(f(y + 19))\" font-size=\"12\" fill=\"#6b7588\">no records</text>"
      }
    }
    return s + "</svg>"
  }

  // MARK: - Pieces

  static func f(_ v: Double) -> String { String(format: "%.1f", v) }

  static func rect(_ x: Double, _ y: Double, _ w: Double, _ h: Double, _ color: String, _ title: String) -> String {
    "<rect x=\"\(f(x))\" y=\"\(f(y))\" width=\"\(f(w))\" height=\"\(f(max(h, 0)))\" fill=\"\(color)\"><title>\(HTML.esc(title))</title></rect>"
  }

  static func label(_ text: String, _ x: Double, _ y: Double, _ count: Int) -> String {
    // Thin out labels when there are many months.
    let size = count > 18 ? 9 : 11
    return
      "<text x=\"\(f(x))\" y=\"\(f(y))\" text-anchor=\"middle\" font-size=\"\(size)\" fill=\"#5b6578\">\(HTML.esc(text))</text>"
  }

  static func axis(ticks: [Double], top: Double, left: Double, width: Double, plotTop: Double, plotH: Double) -> String
  {
    var s = ""
    for t in ticks {
      let y = plotTop + plotH - t / top * plotH
      s +=
        "<line x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(width - 4))\" y2=\"\(f(y))\" stroke=\"\(t == 0 ? "#8a93a3" : "#e6e9ef")\"/>"
      s +=
        "<text x=\"\(f(left - 6))\" y=\"\(f(y + 4))\" text-anchor=\"end\" font-size=\"11\" fill=\"#5b6578\">\(HTML.compact(t))</text>"
    }
    return s
  }

  /// 0 … a round maximum ≥ `maxV`, in 4 steps.
  static func niceTicks(_ maxV: Double) -> ([Double], Double) {
    let step = niceStep(maxV / 4)
    let top = step * 4
    return ((0...4).map { Double($0) * step }, top)
  }

  /// The smallest of 1, 2, 2.5, 5 × 10^k that is ≥ `raw` (1 for raw ≤ 0).
  static func niceStep(_ raw: Double) -> Double {
    guard raw > 0, raw.isFinite else { return 1 }
    let mag = pow(10, floor(log10(raw)))
    return [1.0, 2, 2.5, 5, 10].map { $0 * mag }.first { $0 >= raw * (1 - 1e-12) } ?? raw
  }
}

import RevenueCore

/// Small helpers for writing the self-contained HTML report: every text from data goes through `esc`.
enum HTML {
  static func esc(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.count)
    for c in s.unicodeScalars {
      switch c {
      case "&": out += "&amp;"
      case "<": out += "&lt;"
      case ">": out += "&gt;"
      case "\"": out += "&quot;"
      case "'": out += "&#39;"
      default:
        // Control characters other than tab/newline are dropped (they are invalid in HTML).
        if c.value < 0x20 && c != "\n" && c != "\t" { continue }
        out.unicodeScalars.append(c)
      }
    }
    return out
  }

  /// `123456` cents → `1,234.56`.
  static func money(_ minor: Int64, exponent: Int) -> String {
    let s = Money.format(minor, exponent: exponent)
    let neg = s.hasPrefix("-")
    let body = neg ? String(s.dropFirst()) : s
    let parts = body.split(separator: ".", maxSplits: 1)
    let whole = Int(parts[0]).map { $0.grouped } ?? String(parts[0])
    let frac = parts.count > 1 ? "." + parts[1] : ""
    return (neg ? "-" : "") + whole + frac
  }

  /// Compact axis label: `12.3k`, `1.2M`.
  static func compact(_ v: Double) -> String {
    let a = abs(v)
    if a >= 1e6 { return String(format: "%.1fM", v / 1e6) }
    if a >= 1e3 { return String(format: "%.1fk", v / 1e3) }
    return String(format: "%.0f", v)
  }

  static func percent(_ v: Double) -> String { String(format: "%.2f%%", v * 100) }

  static let style = """
    *{box-sizing:border-box}
    body{font:14px/1.45 -apple-system,"Segoe UI",Roboto,"DejaVu Sans",Arial,sans-serif;color:#1d2433;background:#f4f6f9;margin:0}
    main{max-width:1100px;margin:0 auto;padding:24px}
    h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:0 0 12px}
    .sub{color:#5b6578;margin-bottom:20px}
    section{background:#fff;border:1px solid #dde2ea;border-radius:8px;padding:18px 20px;margin-bottom:18px}
    table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
    th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #edf0f4;vertical-align:top}
    th{font-weight:600;color:#3c4658;background:#f8f9fb}
    td.n,th.n{text-align:right;white-space:nowrap}
    .badge{display:inline-block;padding:2px 8px;border-radius:10px;font-size:12px;font-weight:600}
    .ok{background:#e3f5e8;color:#17692f} .bad{background:#fde7e7;color:#a11d1d} .na{background:#eef0f3;color:#5b6578}
    .legend{display:flex;flex-wrap:wrap;gap:14px;margin:6px 0 10px;font-size:12px;color:#3c4658}
    .legend span{display:inline-flex;align-items:center;gap:5px}
    .sw{width:12px;height:12px;border-radius:2px;display:inline-block}
    .muted{color:#6b7588} code{font:12px/1.4 ui-monospace,Menlo,Consolas,monospace;word-break:break-all}
    svg{display:block;max-width:100%;height:auto}
    .grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:10px}
    .card{border:1px solid #e3e7ee;border-radius:6px;padding:10px 12px}
    .card .k{font-size:12px;color:#5b6578} .card .v{font-size:18px;font-weight:600;margin-top:2px}
    """
}

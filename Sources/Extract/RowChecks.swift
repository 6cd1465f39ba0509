import Foundation
import RevenueCore

/// Record-level checks of export rows before they are staged.
enum RowChecks {
  /// Columns holding identifiers or e-mail addresses (ids become ChartMogul external ids): names
  /// ending in `id`/`ID`, naming an e-mail, a code or a number (`Transaktionscode`, `Invoice Number`).
  static func isIdentifierColumn(_ name: String) -> Bool {
    let n = name.lowercased()
    if n == "id" || n.hasSuffix(" id") || n.hasSuffix("_id") || n.hasPrefix("id.") { return true }
    return ["mail", "code", "number", "nummer", "numéro", "numero", "numer ", "referen", "remitente", "destinatario"]
      .contains { n.contains($0) }
  }

  /// Why a row is refused for a control byte (U+0000–U+001F, U+007F) in an identifier or e-mail
  /// column; nil when it has none. Such a byte would reach a ChartMogul external id or e-mail unseen.
  static func controlCharacter(_ fields: [String], names: [String], checked: [Bool]) -> String? {
    for i in fields.indices where i < checked.count && checked[i] {
      for (pos, u) in fields[i].unicodeScalars.enumerated() where u.value < 0x20 || u.value == 0x7F {
        let hex = String(u.value, radix: 16, uppercase: true)
        return
          "column '\(names[i])' has the control character U+\(String(repeating: "0", count: 4 - hex.count))\(hex) at position \(pos + 1): identifiers and e-mail addresses must be printable text; fix the export"
      }
    }
    return nil
  }
}

extension FilesSource {
  /// First pass over a PayPal Activity file: the date order of its `Date` column (`DateOrder`).
  func settleDateOrder(_ path: String, entry: Entry) throws -> String {
    let declared = entry.originExtras["date_format"]?.stringValue
    let spellings = Set(PayPalActivityLanguage.spellings(of: "Date"))
    var column: Int? = nil
    var sawHeader = false
    var order = DateOrder()
    try CSVReader(path: path, maxRowBytes: maxRowBytes).forEachRow { row in
      guard sawHeader else {
        sawHeader = true
        // The layout first: a statement CSV or missing columns say so before any date is judged.
        if row.problem == nil { _ = try checkHeader(row.fields, path: path, line: row.line, entry: entry) }
        column = row.fields.firstIndex { spellings.contains($0.trimmingCharacters(in: .whitespaces)) }
        return
      }
      guard let c = column, row.problem == nil, c < row.fields.count else { return }
      order.add(row.fields[c], line: row.line)
    }
    switch order.decide(declared: declared, path: path) {
    case .success(let f): return f
    case .failure(let e): throw e
    }
  }
}

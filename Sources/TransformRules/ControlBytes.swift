import RevenueCore

/// Control characters (U+0000–U+001F, U+007F) in a record's identifiers or e-mail addresses: such a
/// record is rejected with the field named, because the value would reach a ChartMogul external id or
/// e-mail unseen (a NUL from a broken export, a pasted BEL). Export CSV rows are screened the same way
/// at extract (`RowChecks`); this covers API and NDJSON records.
package enum ControlBytes {
  /// Keys holding identifiers or e-mails: `id`, `…_id`, `… ID`, `email…`, `…_email`, `…mail…`.
  package static func isIdentifierKey(_ key: String) -> Bool {
    let k = key.lowercased()
    return k == "id" || k.hasSuffix("_id") || k.hasSuffix(" id") || k.contains("mail") || k == "customer"
      || k == "charge" || k == "invoice" || k == "subscription" || k == "payment_intent"
  }

  /// Why the record is refused, or nil. Looks at string fields of the record and of the objects
  /// nested in it (two levels: `billing_details.email`, `payer_info.email_address`).
  package static func problem(_ r: JSONValue, path: String = "", depth: Int = 0) -> String? {
    guard case .object(let o) = r else { return nil }
    for f in o.fields {
      let name = path.isEmpty ? f.key : path + "." + f.key
      if let s = f.value.stringValue, isIdentifierKey(f.key) {
        for (pos, u) in s.unicodeScalars.enumerated() where u.value < 0x20 || u.value == 0x7F {
          let hex = String(u.value, radix: 16, uppercase: true)
          return
            "field '\(name)' has the control character U+\(String(repeating: "0", count: 4 - hex.count))\(hex) at position \(pos + 1): identifiers and e-mail addresses must be printable text; fix the source record"
        }
      } else if depth < 2, case .object = f.value, let p = problem(f.value, path: name, depth: depth + 1) {
        return p
      }
    }
    return nil
  }
}

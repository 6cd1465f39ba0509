import RevenueCore

/// Reads a PayPal Activity download in any language PayPal offers by translating each row's
/// header names and value words (`Status`, `Type`, `Balance Impact`) to the English download's,
/// using the language its header row names (`PayPalActivityLanguage.detect`). Amount and date
/// formats stay per file (`decimal`, `date_format`); cells other than those three keep their text.
package enum PayPalLocales {
  /// The row in the English download's terms (the row itself when it already is English).
  package static func english(_ r: JSONValue) -> JSONValue {
    guard case .object(let o) = r, o["Transaction ID"] == nil,
      let lang = PayPalActivityLanguage.detect(o.fields.map(\.key))
    else { return r }
    var out = JSONObject()
    out.fields.reserveCapacity(o.fields.count)
    for f in o.fields {
      let key = lang.columns[f.key] ?? f.key
      var value = f.value
      if let s = f.value.stringValue {
        let table: [String: String]? =
          key == "Status" ? lang.statuses : key == "Type" ? lang.types : key == "Balance Impact" ? lang.impacts : nil
        if let table, let e = table[s.trimmingASCIIWhitespace().lowercased()] { value = .string(e) }
      }
      if out[key] == nil { out.fields.append(JSONField(key, value)) }
    }
    return .object(out)
  }
}

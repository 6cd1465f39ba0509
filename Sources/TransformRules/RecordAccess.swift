import RevenueCore

/// Small typed reads over raw gateway/app records, tolerant of the shapes sources actually send
/// (CSV cells are text, `""` means empty; API nulls; numbers as JSON numbers or text).
extension JSONValue {
  /// Non-empty text of a scalar at `key` (strings trimmed; `""` and null are nil).
  package func text(_ key: String) -> String? {
    guard let v = self[key], let s = v.scalarText else { return nil }
    let t = s.trimmingASCIIWhitespace()
    return t.isEmpty ? nil : t
  }

  /// Follows a path of object keys.
  package func at(_ path: String...) -> JSONValue? {
    var cur: JSONValue? = self
    for k in path { cur = cur?[k] }
    if let c = cur, c.isNull { return nil }
    return cur
  }

  /// Integer at `key`: a JSON integer or integer text.
  package func integer(_ key: String) -> Int64? {
    guard let v = self[key] else { return nil }
    if let n = v.int64Value { return n }
    if let s = v.stringValue { return Int64(s.trimmingASCIIWhitespace()) }
    return nil
  }

  /// Boolean at `key`: JSON boolean or `true`/`false` text (any case).
  package func flag(_ key: String) -> Bool? {
    guard let v = self[key] else { return nil }
    if let b = v.boolValue { return b }
    switch v.stringValue?.trimmingASCIIWhitespace().lowercased() {
    case "true", "t", "yes", "1": return true
    case "false", "f", "no", "0": return false
    default: return nil
    }
  }

  /// A timestamp at `key`: ISO/Postgres text, or Unix seconds (Stripe).
  package func time(_ key: String) -> Timestamp? {
    guard let v = self[key] else { return nil }
    if let n = v.int64Value { return Timestamp(seconds: n) }
    guard let s = v.stringValue?.trimmingASCIIWhitespace(), !s.isEmpty else { return nil }
    return Timestamp.parse(s)
  }
}

/// Strict reads for gateway API records: absent or null is nil, but a value that is present and
/// malformed (wrong type, beyond Int64, not a timestamp) is a `FieldProblem` naming the record and
/// field — never silently read as 0 or as another field's value.
extension JSONValue {
  /// An integer (JSON integer or integer text) at `key`; `what` names the record in the message.
  package func strictInteger(_ key: String, _ what: String, code: String = "bad_amount") throws(FieldProblem) -> Int64?
  {
    guard let v = self[key], !v.isNull else { return nil }
    if let n = v.int64Value { return n }
    if let s = v.stringValue, let n = Int64(s.trimmingASCIIWhitespace()) { return n }
    if let t = v.numberText ?? v.stringValue?.trimmingASCIIWhitespace(), !t.isEmpty,
      t.drop(while: { $0 == "-" }).allSatisfy({ $0.isASCII && $0.isNumber })
    {
      throw FieldProblem(code, "\(what): '\(key)' \(JSONValue.brief(v)) does not fit in a 64-bit integer (minor units)")
    }
    throw FieldProblem(code, "\(what): '\(key)' must be an integer, not \(JSONValue.brief(v))")
  }

  /// A timestamp (Unix seconds, or ISO/Postgres text) at `key`; `""` counts as absent.
  package func strictTime(_ key: String, _ what: String) throws(FieldProblem) -> Timestamp? {
    guard let v = self[key], !v.isNull else { return nil }
    if let n = v.int64Value { return Timestamp(seconds: n) }
    if let s = v.stringValue?.trimmingASCIIWhitespace() {
      if s.isEmpty { return nil }
      if let t = Timestamp.parse(s) { return t }
    }
    throw FieldProblem("bad_date", "\(what): '\(key)' \(JSONValue.brief(v)) is not a timestamp")
  }

  /// A short quoted form of a value for messages (long text cut at 40 characters).
  package static func brief(_ v: JSONValue) -> String {
    let text = JSONWriter.string(v)
    return text.count > 40 ? String(text.prefix(40)) + "…" : text
  }
}

extension ReadOutcome {
  /// A reject for a `FieldProblem`.
  package static func reject(_ p: FieldProblem) -> ReadOutcome { .reject(code: p.code, reason: p.message) }
}

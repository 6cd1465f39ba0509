/// How identity fields are compared and kept: e-mail, country, name.
package enum Normalize {
  /// E-mail comparison form: trimmed (all Unicode whitespace) and lower-cased; nil when empty.
  package static func email(_ s: String?) -> String? {
    guard let s else { return nil }
    if let t = asciiEmail(s) { return t.isEmpty ? nil : t }
    let t = s.filter { !$0.isWhitespace }.lowercased()
    return t.isEmpty ? nil : t
  }

  /// `email` for all-ASCII text without Character iteration: ASCII white space (HT, LF, VT, FF, CR,
  /// space — the ASCII part of Unicode White_Space) dropped, A–Z lower-cased; the text itself when
  /// nothing changes. nil for text with a non-ASCII byte (the general path handles it).
  package static func asciiEmail(_ s: String) -> String? {
    @inline(__always) func space(_ c: UInt8) -> Bool { c == 0x20 || (c >= 0x09 && c <= 0x0D) }
    var changed = false
    for c in s.utf8 {
      if c >= 0x80 { return nil }
      if space(c) || (c >= 0x41 && c <= 0x5A) { changed = true }
    }
    guard changed else { return s }
    var out: [UInt8] = []
    for c in s.utf8 where !space(c) { out.append(c >= 0x41 && c <= 0x5A ? c + 0x20 : c) }
    return String(decoding: out, as: UTF8.self)
  }

  /// Two-letter country code, upper-case; anything else is dropped.
  package static func country(_ s: String?) -> String? {
    guard let s = s?.trimmingASCIIWhitespace(), s.count == 2, s.allSatisfy({ $0.isASCII && $0.isLetter }) else {
      return nil
    }
    return s.uppercased()
  }

  package static func name(_ s: String?) -> String? {
    guard let t = s?.trimmingASCIIWhitespace(), !t.isEmpty else { return nil }
    return t
  }
}

/// An app user id as a dictionary key: a canonical lower-case UUID (`8-4-4-4-12` hex digits) is held
/// as its 16 raw bytes (hashing and comparing two integers instead of a 36-byte heap `String`);
/// any other text is kept as it is (`hi`/`lo` zero). Two keys are equal exactly when their texts are.
struct UserKey: Hashable {
  var hi: UInt64 = 0
  var lo: UInt64 = 0
  var text: String? = nil

  init(_ s: String) {
    let parsed: (UInt64, UInt64)?? = s.utf8.withContiguousStorageIfAvailable { Self.uuid($0) }
    if let (h, l) = parsed ?? nil {
      hi = h
      lo = l
    } else {
      text = s
    }
  }

  /// The 128 bits of a lower-case `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`; nil for anything else
  /// (upper-case hex stays text, so `A…` and `a…` remain different users, as their strings are).
  static func uuid(_ b: UnsafeBufferPointer<UInt8>) -> (UInt64, UInt64)? {
    guard b.count == 36, b[8] == 0x2D, b[13] == 0x2D, b[18] == 0x2D, b[23] == 0x2D else { return nil }
    var words: (UInt64, UInt64) = (0, 0)
    var n = 0
    for i in 0..<36 where i != 8 && i != 13 && i != 18 && i != 23 {
      let c = b[i]
      let v: UInt8
      if c >= 0x30 && c <= 0x39 {
        v = c - 0x30
      } else if c >= 0x61 && c <= 0x66 {
        v = c - 0x61 + 10
      } else {
        return nil
      }
      if n < 16 { words.0 = words.0 << 4 | UInt64(v) } else { words.1 = words.1 << 4 | UInt64(v) }
      n += 1
    }
    return words
  }

  func hash(into h: inout Hasher) {
    if let text { h.combine(text) } else { h.combine(hi ^ (lo &* 0x9E37_79B9_7F4A_7C15)) }
  }
}

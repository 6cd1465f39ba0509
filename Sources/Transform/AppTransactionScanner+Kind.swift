import Foundation
import RevenueCore
import TransformRules

extension AppTransactionScanner {
  /// Does this line's first top-level `kind` read `app.transaction` or `app.refund`? A structural
  /// skim, not a validation: pass 1 leaves such lines to pass 2, which uses the same test to decide
  /// that an invalid one is its to reject, so every line is still counted exactly once.
  static func isAppPaymentLine(_ bytes: UnsafeRawBufferPointer) -> Bool {
    guard let p = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return false }
    let end = bytes.count
    var i = 0
    func ws() { while i < end && (p[i] == 0x20 || p[i] == 0x09 || p[i] == 0x0A || p[i] == 0x0D) { i += 1 } }
    func skipString() -> (Int, Int)? {  // at a quote
      i += 1
      let s = i
      while i < end {
        if p[i] == 0x5C {
          i += 2
          continue
        }
        if p[i] == 0x22 {
          i += 1
          return (s, i - 1)
        }
        i += 1
      }
      return nil
    }
    func skipValue() -> Bool {
      guard i < end else { return false }
      if p[i] == 0x22 { return skipString() != nil }
      if p[i] == 0x7B || p[i] == 0x5B {
        var depth = 0
        while i < end {
          let c = p[i]
          if c == 0x22 {
            if skipString() == nil { return false }
            continue
          }
          if c == 0x7B || c == 0x5B { depth += 1 }
          if c == 0x7D || c == 0x5D {
            depth -= 1
            if depth == 0 {
              i += 1
              return true
            }
          }
          i += 1
        }
        return false
      }
      while i < end && p[i] != 0x2C && p[i] != 0x7D { i += 1 }
      return true
    }
    func equals(_ r: (Int, Int), _ lit: StaticString) -> Bool {
      let n = lit.utf8CodeUnitCount
      guard r.1 - r.0 == n else { return false }
      return memcmp(p + r.0, lit.utf8Start, n) == 0
    }
    ws()
    guard i < end, p[i] == 0x7B else { return false }
    i += 1
    while true {
      ws()
      guard i < end, p[i] == 0x22, let k = skipString() else { return false }
      ws()
      guard i < end, p[i] == 0x3A else { return false }
      i += 1
      ws()
      if equals(k, "kind") {
        guard i < end, p[i] == 0x22, let v = skipString() else { return false }
        return equals(v, "app.transaction") || equals(v, "app.refund")
      }
      guard skipValue() else { return false }
      ws()
      guard i < end, p[i] == 0x2C else { return false }
      i += 1
    }
  }
}

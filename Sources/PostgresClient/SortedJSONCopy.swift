import Foundation

/// Copies a `json`/`jsonb` column's text with object keys sorted, without building a `JSONValue`:
/// the extract's hot path for the `metadata` column (parse + re-write was ~20 % of extract CPU).
///
/// Exactness rule: it writes exactly what `JSONWriter.write(JSONParser.parse(text))` writes, or
/// returns false having written nothing (the caller then takes that generic path). It handles only
/// the plain case: strings (keys and values) of printable ASCII without escapes, numbers, literals,
/// arrays, and objects of at most `maxMembers` distinct keys nested at most `maxDepth` deep. Anything
/// else (a backslash, a byte ≥ 0x80, a control byte, duplicate keys, bad syntax) falls back, so the
/// generic path decides what it means and reports errors. Numbers and literals keep their text, as
/// `JSONValue` does; keys compare by their bytes, as `JSONWriter` sorts them.
enum SortedJSONCopy {
  static let maxMembers = 32
  static let maxDepth = 16

  static func write(_ text: UnsafeRawBufferPointer, into out: inout [UInt8]) -> Bool {
    guard let base = text.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return false }
    let mark = out.count
    var c = Cursor(p: base, n: text.count)
    c.ws()
    guard c.value(depth: 0, emit: true, &out) else {
      out.removeSubrange(mark...)
      return false
    }
    c.ws()
    guard c.i == c.n else {
      out.removeSubrange(mark...)
      return false
    }
    return true
  }

  struct Cursor {
    let p: UnsafePointer<UInt8>
    let n: Int
    var i = 0

    @inline(__always) mutating func ws() {
      while i < n, p[i] == 0x20 || p[i] == 0x0A || p[i] == 0x0D || p[i] == 0x09 { i += 1 }
    }

    @inline(__always) func append(_ s: Int, _ e: Int, _ out: inout [UInt8]) {
      out.append(contentsOf: UnsafeBufferPointer(start: p + s, count: e - s))
    }

    /// At a `"`: moves past the closing quote; false for escapes, control or non-ASCII bytes.
    @inline(__always) mutating func plainString() -> Bool {
      i += 1
      while i < n {
        let c = p[i]
        if c == 0x22 {
          i += 1
          return true
        }
        if c == 0x5C || c < 0x20 || c >= 0x80 { return false }
        i += 1
      }
      return false
    }

    /// Validates (and, when `emit`, writes) one value starting at `i`.
    mutating func value(depth: Int, emit: Bool, _ out: inout [UInt8]) -> Bool {
      guard i < n else { return false }
      let s = i
      switch p[i] {
      case 0x22:
        guard plainString() else { return false }
      case 0x7B: return object(depth: depth + 1, emit: emit, &out)
      case 0x5B: return array(depth: depth + 1, emit: emit, &out)
      case 0x74: guard literal("true") else { return false }
      case 0x66: guard literal("false") else { return false }
      case 0x6E: guard literal("null") else { return false }
      default: guard number() else { return false }
      }
      if emit { append(s, i, &out) }
      return true
    }

    mutating func literal(_ w: StaticString) -> Bool {
      let k = w.utf8CodeUnitCount
      guard n - i >= k else { return false }
      for j in 0..<k where p[i + j] != w.utf8Start[j] { return false }
      i += k
      return true
    }

    /// JSON number grammar, as `JSONParser` checks it.
    mutating func number() -> Bool {
      func digit() -> Bool { i < n && p[i] >= 0x30 && p[i] <= 0x39 }
      if i < n, p[i] == 0x2D { i += 1 }
      guard i < n else { return false }
      if p[i] == 0x30 {
        i += 1
      } else if p[i] >= 0x31 && p[i] <= 0x39 {
        while digit() { i += 1 }
      } else {
        return false
      }
      if i < n, p[i] == 0x2E {
        i += 1
        guard digit() else { return false }
        while digit() { i += 1 }
      }
      if i < n, p[i] == 0x65 || p[i] == 0x45 {
        i += 1
        if i < n, p[i] == 0x2B || p[i] == 0x2D { i += 1 }
        guard digit() else { return false }
        while digit() { i += 1 }
      }
      return true
    }

    mutating func array(depth: Int, emit: Bool, _ out: inout [UInt8]) -> Bool {
      guard depth <= SortedJSONCopy.maxDepth else { return false }
      i += 1
      if emit { out.append(0x5B) }
      ws()
      if i < n, p[i] == 0x5D {
        i += 1
        if emit { out.append(0x5D) }
        return true
      }
      var first = true
      while true {
        ws()
        if emit && !first { out.append(0x2C) }
        first = false
        guard value(depth: depth, emit: emit, &out) else { return false }
        ws()
        guard i < n else { return false }
        let c = p[i]
        i += 1
        if c == 0x2C { continue }
        if c == 0x5D {
          if emit { out.append(0x5D) }
          return true
        }
        return false
      }
    }

    /// Finds the members first (validating), then writes them in key order.
    mutating func object(depth: Int, emit: Bool, _ out: inout [UInt8]) -> Bool {
      guard depth <= SortedJSONCopy.maxDepth else { return false }
      i += 1
      ws()
      if i < n, p[i] == 0x7D {
        i += 1
        if emit { out.append(contentsOf: [0x7B, 0x7D]) }
        return true
      }
      return withUnsafeTemporaryAllocation(of: Member.self, capacity: SortedJSONCopy.maxMembers) { m in
        var count = 0
        while true {
          ws()
          guard i < n, p[i] == 0x22, count < SortedJSONCopy.maxMembers else { return false }
          let ks = i
          guard plainString() else { return false }
          let ke = i
          ws()
          guard i < n, p[i] == 0x3A else { return false }
          i += 1
          ws()
          let vs = i
          var ignored: [UInt8] = []
          guard value(depth: depth, emit: false, &ignored) else { return false }
          m[count] = Member(keyStart: ks, keyEnd: ke, valueStart: vs, valueEnd: i)
          count += 1
          ws()
          guard i < n else { return false }
          let c = p[i]
          i += 1
          if c == 0x2C { continue }
          if c == 0x7D { break }
          return false
        }
        // Insertion sort by key bytes (the keys are few).
        for a in 1..<max(count, 1) {
          let x = m[a]
          var b = a - 1
          while b >= 0, less(x, m[b]) {
            m[b + 1] = m[b]
            b -= 1
          }
          m[b + 1] = x
        }
        for a in 1..<max(count, 1) where !less(m[a - 1], m[a]) { return false }  // duplicate keys
        guard emit else { return true }
        out.append(0x7B)
        let resume = i
        for a in 0..<count {
          if a > 0 { out.append(0x2C) }
          append(m[a].keyStart, m[a].keyEnd, &out)
          out.append(0x3A)
          i = m[a].valueStart
          guard value(depth: depth, emit: true, &out) else { return false }
        }
        i = resume
        out.append(0x7D)
        return true
      }
    }

    struct Member {
      var keyStart: Int, keyEnd: Int, valueStart: Int, valueEnd: Int
    }

    /// Key order of `JSONWriter`: by the bytes between the quotes, a prefix first.
    func less(_ x: Member, _ y: Member) -> Bool {
      let lx = x.keyEnd - x.keyStart - 2
      let ly = y.keyEnd - y.keyStart - 2
      let c = memcmp(p + x.keyStart + 1, p + y.keyStart + 1, min(lx, ly))
      return c != 0 ? c < 0 : lx < ly
    }
  }
}

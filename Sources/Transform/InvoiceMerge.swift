import Foundation
import RevenueCore
import Staging
import TransformRules

extension TransformEngine {
  /// One sorted fragment line split at its tabs (see `Fragment.encode`).
  struct FragmentLine {
    var role: Fragment.Role
    var source: Int
    var line: Int
    var meta: [UInt8]
    var invoice: [UInt8]
  }

  static func parseSmallInt(_ b: Slice<UnsafeRawBufferPointer>) throws -> Int {
    var v = 0
    guard !b.isEmpty else { throw StagingFormatError("empty number in a sort run") }
    for c in b {
      guard c >= 0x30 && c <= 0x39 else { throw StagingFormatError("bad number in a sort run") }
      v = v * 10 + Int(c - 0x30)
    }
    return v
  }

  /// Offsets of the first five tabs of a sort-run line (found with memchr) and how many there are.
  static func firstTabs(_ line: UnsafeRawBufferPointer) -> ([Int], Int) {
    var tabs = [Int](repeating: 0, count: 5)
    var found = 0
    guard let base = line.baseAddress else { return (tabs, 0) }
    var at = 0
    while found < 5, at < line.count, let hit = memchr(base + at, 0x09, line.count - at) {
      let k = UnsafeRawPointer(hit) - base
      tabs[found] = k
      found += 1
      at = k + 1
    }
    return (tabs, found)
  }

  /// Reads the sorted fragments back, groups them by invoice key and writes each group's invoice.
  func writeInvoices(from sorter: ExternalSorter, to out: NDJSONWriter) throws {
    var groupKey: [UInt8] = []
    var group: [FragmentLine] = []
    func flush() throws {
      guard !group.isEmpty else { return }
      defer { group.removeAll(keepingCapacity: true) }
      progress.advance(by: group.count)
      try writeGroup(group, key: String(decoding: groupKey, as: UTF8.self), to: out)
    }
    try sorter.drain { line in
      let (tabs, found) = Self.firstTabs(line)
      guard found == 5 else { throw StagingFormatError("sort run line has \(found) tabs, expected 5") }
      let key = line[..<tabs[0]]
      if !key.elementsEqual(groupKey) {
        try flush()
        groupKey.removeAll(keepingCapacity: true)
        groupKey.append(contentsOf: key)
      }
      group.append(try Self.fragmentLine(line, tabs: tabs))
    }
    try flush()
  }

  static func fragmentLine(_ line: UnsafeRawBufferPointer, tabs: [Int]) throws -> FragmentLine {
    guard let role = Fragment.Role(rawValue: try parseSmallInt(line[(tabs[0] + 1)..<tabs[1]])) else {
      throw StagingFormatError("bad fragment role in a sort run")
    }
    return FragmentLine(
      role: role, source: try parseSmallInt(line[(tabs[1] + 1)..<tabs[2]]),
      line: try parseSmallInt(line[(tabs[2] + 1)..<tabs[3]]), meta: Array(line[(tabs[3] + 1)..<tabs[4]]),
      invoice: Array(line[(tabs[4] + 1)...]))
  }

  /// One invoice key's fragments: a lone payment is its own invoice (copied as written, not parsed
  /// again), a lone refund has no payment to join; several are joined by `InvoiceAssembler`.
  func writeGroup(_ group: [FragmentLine], key: String, to out: NDJSONWriter) throws {
    if group.count == 1 {
      let g = group[0]
      if g.role.isPayment {
        try out.writeLine(g.invoice)
        ledger.out(g.source)
      } else {
        try ledger.reject(
          g.source, g.line, "refund_without_payment", "refund of \(key) but the payment is not in this run's extract",
          externalID: key)
      }
      return
    }
    let list = try Self.decodeInOrder(group, key: key)
    let (outcome, dups) = InvoiceAssembler.assemble(list, place: ledger.place)
    for i in dups.sorted() {
      try ledger.skip(list[i].source, list[i].line, "duplicate", "same record as another in this run", externalID: key)
    }
    let live = list.indices.filter { !dups.contains($0) }.map { list[$0] }
    switch outcome {
    case .invoice(let inv):
      try out.withBuffer { CompactJSONWriter.invoice(inv, &$0) }
      try out.endLine()
      for f in live { ledger.out(f.source) }
    case .rejected(let code, let reason):
      for f in live { try ledger.reject(f.source, f.line, code, reason, externalID: key) }
    }
  }

  /// The group's fragments decoded, in an order that does not depend on the input order: role,
  /// then content, then place.
  static func decodeInOrder(_ group: [FragmentLine], key: String) throws -> [Fragment] {
    var frags: [(Fragment, [UInt8])] = []
    for g in group {
      let f = try g.meta.withUnsafeBytes { m in
        try g.invoice.withUnsafeBytes { i in
          try Fragment.decode(key: key, role: g.role, source: g.source, line: g.line, meta: m, invoice: i)
        }
      }
      frags.append((f, g.invoice))
    }
    frags.sort { a, b in
      if a.0.role != b.0.role { return a.0.role < b.0.role }
      if a.1 != b.1 { return a.1.lexicographicallyPrecedes(b.1) }
      return (a.0.source, a.0.line) < (b.0.source, b.0.line)
    }
    return frags.map(\.0)
  }
}

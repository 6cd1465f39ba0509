import RevenueCore
import TransformRules

/// Hand-written serialisation of the hot records, byte-identical to `JSONWriter.write(record.json)`
/// (keys in sorted order, same escaping, optional fields omitted). Pinned by `CompactJSONWriterTests`.
enum CompactJSONWriter {
  @inline(__always) static func key(_ k: StaticString, _ out: inout [UInt8], first: Bool = false) {
    if !first { out.append(0x2C) }
    out.append(0x22)
    out.append(contentsOf: UnsafeBufferPointer(start: k.utf8Start, count: k.utf8CodeUnitCount))
    out.append(0x22)
    out.append(0x3A)
  }

  @inline(__always) static func int(_ v: Int64, _ out: inout [UInt8]) { JSONWriter.writeInt(v, into: &out) }

  /// Appends literal bytes (no per-call array).
  @inline(__always) static func raw(_ s: StaticString, _ out: inout [UInt8]) {
    out.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
  }

  /// `JSONWriter.writeString`, with a direct copy when no byte needs escaping (the usual case).
  static func string(_ s: String, _ out: inout [UInt8]) {
    var s = s
    let plain = s.withUTF8 { buf -> Bool in
      for c in buf where c < 0x20 || c == 0x22 || c == 0x5C { return false }
      out.append(0x22)
      out.append(contentsOf: buf)
      out.append(0x22)
      return true
    }
    if !plain { JSONWriter.writeString(s, into: &out) }
  }

  /// `"YYYY-MM-DDTHH:MM:SSZ"` with quotes (22 bytes, formatted on the stack and appended once).
  static func time(_ t: Timestamp, _ out: inout [UInt8]) {
    let c = t.components
    guard (0...9999).contains(c.year) else {
      string(t.iso8601, &out)
      return
    }
    var b: (UInt64, UInt64, UInt64) = (0, 0, 0)
    withUnsafeMutableBytes(of: &b) { r in
      func put(_ at: Int, _ v: Int, _ width: Int) {
        var v = v
        for k in stride(from: at + width - 1, through: at, by: -1) {
          r[k] = UInt8(v % 10) + 0x30
          v /= 10
        }
      }
      r[0] = 0x22
      put(1, c.year, 4)
      r[5] = 0x2D
      put(6, c.month, 2)
      r[8] = 0x2D
      put(9, c.day, 2)
      r[11] = 0x54
      put(12, c.hour, 2)
      r[14] = 0x3A
      put(15, c.minute, 2)
      r[17] = 0x3A
      put(18, c.second, 2)
      r[20] = 0x5A
      r[21] = 0x22
      out.append(contentsOf: UnsafeRawBufferPointer(rebasing: r[0..<22]))
    }
  }

  static func invoice(_ v: InvoiceRecord, _ out: inout [UInt8]) {
    out.append(0x7B)
    var first = true
    if let a = v.appTransactionID {
      key("app_transaction_id", &out, first: true)
      string(a, &out)
      first = false
    }
    if let c = v.collectionMethod {
      key("collection_method", &out, first: first)
      string(c, &out)
      first = false
    }
    key("currency", &out, first: first)
    string(v.currency, &out)
    key("customer_external_id", &out)
    string(v.customerExternalID, &out)
    key("date", &out)
    time(v.date, &out)
    if let d = v.dueDate {
      key("due_date", &out)
      time(d, &out)
    }
    key("external_id", &out)
    string(v.externalID, &out)
    key("gateway", &out)
    string(v.gateway, &out)
    key("line_items", &out)
    out.append(0x5B)
    for (i, l) in v.lineItems.enumerated() {
      if i > 0 { out.append(0x2C) }
      line(l, &out)
    }
    out.append(0x5D)
    key("transactions", &out)
    out.append(0x5B)
    for (i, t) in v.transactions.enumerated() {
      if i > 0 { out.append(0x2C) }
      transaction(t, &out)
    }
    out.append(0x5D)
    out.append(0x7D)
  }

  static func line(_ l: LineItemRecord, _ out: inout [UInt8]) {
    out.append(0x7B)
    key("amount_in_cents", &out, first: true)
    int(l.amountInCents, &out)
    if let d = l.description {
      key("description", &out)
      string(d, &out)
    }
    key("discount_amount_in_cents", &out)
    int(l.discountAmountInCents, &out)
    if let d = l.discountCode {
      key("discount_code", &out)
      string(d, &out)
    }
    if let e = l.externalID {
      key("external_id", &out)
      string(e, &out)
    }
    if let p = l.planExternalID {
      key("plan_external_id", &out)
      string(p, &out)
    }
    if l.type == .subscription {
      key("prorated", &out)
      raw(l.prorated ? "true" : "false", &out)
    }
    key("quantity", &out)
    int(l.quantity, &out)
    if let e = l.servicePeriodEnd {
      key("service_period_end", &out)
      time(e, &out)
    }
    if let s = l.servicePeriodStart {
      key("service_period_start", &out)
      time(s, &out)
    }
    if let s = l.subscriptionExternalID {
      key("subscription_external_id", &out)
      string(s, &out)
    }
    key("tax_amount_in_cents", &out)
    int(l.taxAmountInCents, &out)
    key("type", &out)
    string(l.type.rawValue, &out)
    out.append(0x7D)
  }

  static func transaction(_ t: TransactionRecord, _ out: inout [UInt8]) {
    out.append(0x7B)
    var first = true
    if let a = t.amountInCents {
      key("amount_in_cents", &out, first: true)
      int(a, &out)
      first = false
    }
    key("date", &out, first: first)
    time(t.date, &out)
    key("external_id", &out)
    string(t.externalID, &out)
    key("result", &out)
    string(t.result.rawValue, &out)
    key("type", &out)
    string(t.type.rawValue, &out)
    out.append(0x7D)
  }
}

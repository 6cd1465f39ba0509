import RevenueCore
import TransformRules

/// A fragment as one line of the external sort (in the stage's scratch folder):
/// `key \t role \t source \t line \t meta-json \t invoice-json`. JSON written by `JSONWriter` never
/// holds a raw tab or newline, so tabs separate the parts safely, and a group of one fragment is
/// written out by copying `invoice-json` without parsing it again.
extension Fragment {
  /// Serialises to one line (no trailing newline): `key \t role \t source \t line \t meta \t invoice`.
  /// The meta part is only written when it says more than role/source/line (joins need it).
  func encode(into out: inout [UInt8]) {
    out.append(contentsOf: key.utf8)
    out.append(0x09)
    CompactJSONWriter.int(Int64(role.rawValue), &out)
    out.append(0x09)
    CompactJSONWriter.int(Int64(source), &out)
    out.append(0x09)
    CompactJSONWriter.int(Int64(line), &out)
    out.append(0x09)
    writeMeta(into: &out)
    out.append(0x09)
    if let invoice { CompactJSONWriter.invoice(invoice, &out) } else { out.append(contentsOf: [0x7B, 0x7D]) }
  }

  /// `meta()` written by hand (keys in sorted order; read back by `decode`).
  func writeMeta(into out: inout [UInt8]) {
    CompactJSONWriter.raw(#"{"c":"#, &out)
    CompactJSONWriter.string(currency, &out)
    if let (a, b) = givenPeriod {
      CompactJSONWriter.raw(#","gp":["#, &out)
      CompactJSONWriter.int(a.seconds, &out)
      out.append(0x2C)
      CompactJSONWriter.int(b.seconds, &out)
      out.append(0x5D)
    }
    if cumulativeRefund != 0 {
      CompactJSONWriter.raw(#","rc":"#, &out)
      CompactJSONWriter.int(cumulativeRefund, &out)
    }
    if let d = cumulativeRefundDate {
      CompactJSONWriter.raw(#","rd":"#, &out)
      CompactJSONWriter.int(d.seconds, &out)
    }
    if !itemizedRefunds.isEmpty {
      CompactJSONWriter.raw(#","rf":"#, &out)
      JSONWriter.write(.array(itemizedRefunds.map(\.json)), into: &out)
    }
    if refundSynced != 0 {
      CompactJSONWriter.raw(#","rs":"#, &out)
      CompactJSONWriter.int(refundSynced, &out)
    }
    CompactJSONWriter.raw(#","t":"#, &out)
    CompactJSONWriter.int(total, &out)
    CompactJSONWriter.raw(#","x":"#, &out)
    CompactJSONWriter.int(tax, &out)
    out.append(0x7D)
  }

  /// Parses the meta part (and the invoice, when `withInvoice`).
  static func decode(
    key: String, role: Role, source: Int, line: Int, meta: UnsafeRawBufferPointer,
    invoice: UnsafeRawBufferPointer?
  ) throws -> Fragment {
    let m = try JSONParser.parse(meta)
    let r = FieldReader(object: m.objectValue ?? JSONObject())
    var f = Fragment(key: key, role: role, source: source, line: line, currency: try r.string("c"))
    f.total = try r.int("t")
    f.tax = try r.int("x")
    f.cumulativeRefund = try r.optionalInt("rc") ?? 0
    f.cumulativeRefundDate = try r.optionalInt("rd").map { Timestamp(seconds: $0) }
    f.refundSynced = try r.optionalInt("rs") ?? 0
    f.itemizedRefunds = try r.array("rf").map { v throws(RecordShapeError) in try TransactionRecord(json: v) }
    let gp = try r.array("gp")
    if gp.count == 2, let a = gp[0].int64Value, let b = gp[1].int64Value {
      f.givenPeriod = (Timestamp(seconds: a), Timestamp(seconds: b))
    }
    if let invoice, role.isPayment {
      f.invoice = try InvoiceRecord(json: try JSONParser.parse(invoice))
    }
    return f
  }
}

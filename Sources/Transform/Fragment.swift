import RevenueCore

/// What one transaction-like input record says about one invoice, keyed by the invoice's
/// external id (`<gateway>_<canonical gateway id>`). Fragments of the same payment from different
/// sources (Postgres row, gateway API object, export row, refund) are joined after an external sort.
///
/// On disk (one per line in the stage's scratch folder): `key \t meta-json \t invoice-json`. JSON
/// written by `JSONWriter` never holds a raw tab or newline, so tabs separate the parts safely, and a
/// group of one fragment is written out by copying `invoice-json` without parsing it again.
struct Fragment {
  /// Lower rank wins as the group's primary (DESIGN.md §6: the app row decides).
  enum Role: Int, Comparable {
    case appTransaction = 0, appRefund = 1, gatewayInvoice = 2, gatewayPayment = 3, gatewayRefund = 4
    static func < (a: Role, b: Role) -> Bool { a.rawValue < b.rawValue }
    var isPayment: Bool { self != .gatewayRefund }
  }

  var key: String
  var role: Role
  var source: Int
  var line: Int
  var currency: String
  /// Total paid, minor units, tax included (payments only).
  var total: Int64 = 0
  var tax: Int64 = 0
  /// Cumulative refunded amount known from this record (app `refunded_amount_cents`, charge
  /// `amount_refunded`, CSV `Amount Refunded`), its date, and what was already sent (app.refund).
  var cumulativeRefund: Int64 = 0
  var cumulativeRefundDate: Timestamp? = nil
  var refundSynced: Int64 = 0
  /// Refunds the gateway itemises (refund objects/rows with their own ids).
  var itemizedRefunds: [TransactionRecord] = []
  /// The first subscription line's service period when the record gave it (not derived).
  var givenPeriod: (Timestamp, Timestamp)? = nil
  /// The invoice this record alone would produce (payments); nil for refund-only fragments.
  var invoice: InvoiceRecord?

  func meta() -> JSONValue {
    var o = JSONObject()
    o["r"] = .int(role.rawValue)
    o["s"] = .int(source)
    o["l"] = .int(line)
    o["c"] = .string(currency)
    o["t"] = .int(total)
    o["x"] = .int(tax)
    if cumulativeRefund != 0 { o["rc"] = .int(cumulativeRefund) }
    if let d = cumulativeRefundDate { o["rd"] = .int(d.seconds) }
    if refundSynced != 0 { o["rs"] = .int(refundSynced) }
    if !itemizedRefunds.isEmpty { o["rf"] = .array(itemizedRefunds.map(\.json)) }
    if let (a, b) = givenPeriod { o["gp"] = [.int(a.seconds), .int(b.seconds)] }
    return .object(o)
  }

  /// Serialises to one line (no trailing newline): `key \t role \t source \t line \t meta \t invoice`.
  /// The meta part is only written when it says more than role/source/line (joins need it).
  func encode(into out: inout [UInt8]) {
    out.append(contentsOf: key.utf8)
    out.append(0x09)
    FastJSON.int(Int64(role.rawValue), &out)
    out.append(0x09)
    FastJSON.int(Int64(source), &out)
    out.append(0x09)
    FastJSON.int(Int64(line), &out)
    out.append(0x09)
    writeMeta(into: &out)
    out.append(0x09)
    if let invoice { FastJSON.invoice(invoice, &out) } else { out.append(contentsOf: [0x7B, 0x7D]) }
  }

  /// `meta()` written by hand (keys in sorted order; read back by `decode`).
  func writeMeta(into out: inout [UInt8]) {
    FastJSON.raw(#"{"c":"#, &out)
    FastJSON.string(currency, &out)
    if let (a, b) = givenPeriod {
      FastJSON.raw(#","gp":["#, &out)
      FastJSON.int(a.seconds, &out)
      out.append(0x2C)
      FastJSON.int(b.seconds, &out)
      out.append(0x5D)
    }
    if cumulativeRefund != 0 {
      FastJSON.raw(#","rc":"#, &out)
      FastJSON.int(cumulativeRefund, &out)
    }
    if let d = cumulativeRefundDate {
      FastJSON.raw(#","rd":"#, &out)
      FastJSON.int(d.seconds, &out)
    }
    if !itemizedRefunds.isEmpty {
      FastJSON.raw(#","rf":"#, &out)
      JSONWriter.write(.array(itemizedRefunds.map(\.json)), into: &out)
    }
    if refundSynced != 0 {
      FastJSON.raw(#","rs":"#, &out)
      FastJSON.int(refundSynced, &out)
    }
    FastJSON.raw(#","t":"#, &out)
    FastJSON.int(total, &out)
    FastJSON.raw(#","x":"#, &out)
    FastJSON.int(tax, &out)
    out.append(0x7D)
  }

  /// Parses the meta part (and the invoice, when `withInvoice`).
  static func decode(key: String, role: Role, source: Int, line: Int, meta: UnsafeRawBufferPointer,
    invoice: UnsafeRawBufferPointer?) throws -> Fragment
  {
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

struct StagingFormatError: Error, CustomStringConvertible {
  var description: String
  init(_ d: String) { description = d }
}

import RevenueCore

/// What one transaction-like input record says about one invoice, keyed by the invoice's
/// external id (`<gateway>_<canonical gateway id>`). Fragments of the same payment from different
/// sources (Postgres row, gateway API object, export row, refund) are joined after an external sort.
/// The runner sorts fragments on disk (`Fragment+SortLine.swift` in Transform).
package struct Fragment {
  /// Lower rank wins as the group's primary (the app row decides: it is the app's own record of the sale).
  package enum Role: Int, Comparable {
    case appTransaction = 0
    case appRefund = 1
    case gatewayInvoice = 2
    case gatewayPayment = 3
    case gatewayRefund = 4
    package static func < (a: Role, b: Role) -> Bool { a.rawValue < b.rawValue }
    package var isPayment: Bool { self != .gatewayRefund }
  }

  package var key: String
  package var role: Role
  package var source: Int
  package var line: Int
  package var currency: String
  /// Total paid, minor units, tax included (payments only).
  package var total: Int64 = 0
  package var tax: Int64 = 0
  /// Cumulative refunded amount known from this record (app `refunded_amount_cents`, charge
  /// `amount_refunded`, CSV `Amount Refunded`), its date, and what was already sent (app.refund).
  package var cumulativeRefund: Int64 = 0
  package var cumulativeRefundDate: Timestamp? = nil
  package var refundSynced: Int64 = 0
  /// Refunds the gateway itemises (refund objects/rows with their own ids).
  package var itemizedRefunds: [TransactionRecord] = []
  /// The first subscription line's service period when the record gave it (not derived).
  package var givenPeriod: (Timestamp, Timestamp)? = nil
  /// The invoice this record alone would produce (payments); nil for refund-only fragments.
  package var invoice: InvoiceRecord?

  package init(key: String, role: Role, source: Int, line: Int, currency: String) {
    self.key = key
    self.role = role
    self.source = source
    self.line = line
    self.currency = currency
  }

  package func meta() -> JSONValue {
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
}

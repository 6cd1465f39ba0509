import RevenueCore

/// Joins the fragments of one invoice key into the invoice: the app
/// row decides customer, lines and amounts; gateway records fill a missing service period and tax
/// and bring itemised refunds; amount or currency conflicts reject the whole payment with both values.
package enum InvoiceAssembler {
  /// Refund transactions of one payment: the gateway's itemised refunds when any source has them,
  /// else one refund for the cumulative refunded amount not yet sent, with the deterministic id
  /// `<invoice>-refund-<cumulative cents>` (so an app.refund row re-run gives the same id).
  package static func refunds(
    key: String, itemized: [TransactionRecord], cumulative: Int64, synced: Int64, date: Timestamp
  )
    -> [TransactionRecord]
  {
    if !itemized.isEmpty {
      var seen = Set<String>()
      return itemized.filter { seen.insert($0.externalID).inserted }.sorted {
        ($0.date, $0.externalID) < ($1.date, $1.externalID)
      }
    }
    let amount = cumulative - synced
    guard amount > 0 else { return [] }
    return [
      TransactionRecord(
        externalID: "\(key)-refund-\(cumulative)", type: .refund, result: .successful, date: date, amountInCents: amount
      )
    ]
  }

  package enum Outcome {
    case invoice(InvoiceRecord)
    case rejected(code: String, reason: String)
  }

  /// Assembles a group of fragments (already in a deterministic order) into one outcome; reports
  /// exact duplicates through `duplicate` (they are skipped, the rest count as output or rejects).
  package static func assemble(_ group: [Fragment], place: (_ source: Int, _ line: Int) -> String) -> (
    Outcome, duplicates: Set<Int>
  ) {
    var duplicates = Set<Int>()
    var seen: [String: Int] = [:]
    for (i, f) in group.enumerated() {
      let fp =
        "\(f.role.rawValue)|"
        + JSONWriter.string(
          f.meta().objectValue.map { o -> JSONValue in
            var o = o
            o["s"] = nil
            o["l"] = nil
            return .object(o)
          }!) + "|" + (f.invoice.map { JSONWriter.string($0.json) } ?? "")
      if seen[fp] != nil { duplicates.insert(i) } else { seen[fp] = i }
    }
    let live = group.indices.filter { !duplicates.contains($0) }.map { group[$0] }
    guard let primary = live.first(where: { $0.role.isPayment }), var inv = primary.invoice else {
      let f = live[0]
      return (
        .rejected(
          code: "refund_without_payment",
          reason: "refund of \(f.key) but the payment is not in this run's extract (\(place(f.source, f.line)))"),
        duplicates
      )
    }
    let cur = Currency(primary.currency)!
    for f in live where f.role.isPayment && f.line != primary.line || (f.role.isPayment && f.source != primary.source) {
      guard f.role.isPayment else { continue }
      if f.currency != primary.currency || f.total != primary.total {
        let a = "\(Money.format(primary.total, exponent: cur.exponent)) \(primary.currency)"
        let fc = Currency(f.currency)!
        let b = "\(Money.format(f.total, exponent: fc.exponent)) \(f.currency)"
        return (
          .rejected(
            code: "amount_conflict",
            reason:
              "payment \(primary.key): \(place(primary.source, primary.line)) says \(a) but \(place(f.source, f.line)) says \(b)"
          ),
          duplicates
        )
      }
    }
    // Fill what the primary lacks: a stated service period and tax (single-line invoices).
    if primary.givenPeriod == nil, let (s, e) = live.first(where: { $0.givenPeriod != nil })?.givenPeriod,
      let i = inv.lineItems.firstIndex(where: { $0.type == .subscription })
    {
      inv.lineItems[i].servicePeriodStart = s
      inv.lineItems[i].servicePeriodEnd = e
    }
    if primary.tax == 0, inv.lineItems.count == 1, let t = live.first(where: { $0.role.isPayment && $0.tax > 0 })?.tax {
      inv.lineItems[0].taxAmountInCents = t
    }
    // Refunds: itemised from any fragment, else the largest cumulative figure.
    let itemized = live.flatMap(\.itemizedRefunds)
    var cumulative: Int64 = 0
    var date = inv.date
    for f in live where f.cumulativeRefund > cumulative {
      cumulative = f.cumulativeRefund
      date = f.cumulativeRefundDate ?? inv.date
    }
    let synced = live.filter { $0.role == .appRefund }.map(\.refundSynced).max() ?? 0
    let refunds = refunds(key: primary.key, itemized: itemized, cumulative: cumulative, synced: synced, date: date)
    let total = refunds.reduce(Int64(0)) { $0 + ($1.amountInCents ?? 0) } + (itemized.isEmpty ? synced : 0)
    if total > primary.total {
      return (
        .rejected(
          code: "refund_exceeds_payment",
          reason:
            "refunds of \(primary.key) add up to \(Money.format(total, exponent: cur.exponent)), more than the payment \(Money.format(primary.total, exponent: cur.exponent)) \(primary.currency)"
        ),
        duplicates
      )
    }
    inv.transactions = inv.transactions.filter { $0.type == .payment } + refunds
    return (.invoice(inv), duplicates)
  }
}

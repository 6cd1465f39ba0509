import RevenueCore

/// One staged extract line split into its envelope parts (`{"kind", "gateway", "record", "origin"}`,
/// written by Extract), with the rules that depend on the kind alone: which kinds are indexed in the
/// first pass and which are payments, the `<gateway>_<id>` naming a record in rejects, and which ids
/// of a Stripe record name the same payment.
package struct StagedRecord {
  package var kind: String
  package var gateway: String
  package var record: JSONValue
  /// The export file a CSV row came from (`origin.file`).
  package var originFile: String?
  /// The file's `date_format`/`decimal` as extract decided them (export CSVs; `origin.date_format`).
  package var originDateFormat: String?
  package var originDecimal: String?

  /// Kinds describing people, subscriptions and plans (read first, into the indexes).
  package static let indexKinds: Set<String> = [
    "app.user", "app.subscription", "stripe.customer", "stripe-customers-csv", "stripe.subscription",
    "stripe-subscriptions-csv", "paypal.plan", "paypal.subscription",
  ]
  /// Kinds that are payments or refunds (each becomes an invoice fragment).
  package static let paymentKinds: Set<String> = [
    "app.transaction", "app.refund", "stripe.invoice", "stripe.charge", "stripe.refund", "stripe-payments-csv",
    "stripe-refunds-csv", "stripe-invoices-csv", "paypal.transaction", "paypal-activity-csv", "cashier.transaction",
    "cashier-csv",
  ]

  /// nil when the line is not an extracted record (`kind` and `record` are required).
  package init?(_ v: JSONValue) {
    guard case .object(let o) = v, let kind = o["kind"]?.stringValue, let rec = o["record"] else { return nil }
    self.kind = kind
    gateway = o["gateway"]?.stringValue ?? ""
    record = rec
    originFile = o["origin"]?["file"]?.stringValue
    originDateFormat = o["origin"]?["date_format"]?.stringValue
    originDecimal = o["origin"]?["decimal"]?.stringValue
  }

  package var isPayment: Bool { Self.paymentKinds.contains(kind) }

  /// `<gateway>_<id>` of a gateway or export record, for rejects (nil for app rows, which name
  /// themselves through their own fields, and for records without an id).
  package var key: String? {
    let r = record
    let id: String?
    switch kind {
    case "paypal.transaction": id = r.at("transaction_info")?.text("transaction_id")
    case "cashier.transaction", "cashier-csv": id = r.text("transaction_id")
    case "paypal-activity-csv": id = r.text("Transaction ID")
    case let k where k.hasPrefix("app."): return nil
    default: id = r.text("id")
    }
    guard let id, !gateway.isEmpty else { return nil }
    return gateway + "_" + id
  }

  /// The Stripe ids this record shows to name one payment (invoice, charge, payment intent), for
  /// `PaymentAliases.link`; empty for other kinds.
  package var paymentAliases: [String?] {
    let r = record
    switch kind {
    case "stripe.invoice": return StripeReaders.invoiceAliases(r)
    case "stripe.charge": return [r.text("id"), r.text("payment_intent"), r.text("invoice")]
    case "stripe.refund": return [r.text("charge"), r.text("payment_intent")]
    case "stripe-payments-csv": return [r.text("id"), r.text("Invoice ID"), r.text("PaymentIntent ID")]
    case "stripe-refunds-csv": return [r.text("Charge ID"), r.text("PaymentIntent ID"), r.text("Invoice ID")]
    case "stripe-invoices-csv": return StripeReaders.invoiceExportAliases(r)
    default: return []
    }
  }
}

import RevenueCore

/// Which reader reads each payment kind into a `RawPayment`: app rows (`AppMapping`), Stripe API
/// objects and exports (`StripeReaders`), PayPal and Cashier (`PayPalCashierReaders`).
package struct PaymentReaders {
  package let stripe: StripeReaders
  package let paypal: PayPalCashierReaders

  /// `subscriptions`: the index built in the first pass (nil while it is being built: readers then
  /// do without the subscription backfill rules).
  /// Test-mode Stripe payments seen so far (a refund follows the charge it refunds, see `TestMode`).
  package var testPayments: Set<String> = []
  package let includeTestData: Bool

  package init(subscriptions: SubscriptionIndex?, includeTestData: Bool = false) {
    var s = StripeReaders(subscriptions: subscriptions)
    s.includeTestData = includeTestData
    var p = PayPalCashierReaders(subscriptions: subscriptions)
    p.includeTestData = includeTestData
    stripe = s
    paypal = p
    self.includeTestData = includeTestData
  }

  /// `activityFormat`: how the PayPal Activity export a row came from writes dates and decimals.
  /// A record whose identifiers or e-mails carry a control byte is rejected (`ControlBytes`).
  package func read(_ e: StagedRecord, activityFormat: (String?) -> ActivityFormat) -> ReadOutcome {
    if let bad = ControlBytes.problem(e.record) { return .reject(code: "control_character", reason: bad) }
    let r = e.record
    switch e.kind {
    case "app.transaction": return AppMapping.payment(AppTransactionRow(r), refundRow: false)
    case "app.refund": return AppMapping.payment(AppTransactionRow(r), refundRow: true)
    case "stripe.invoice": return stripe.invoice(r)
    case "stripe.charge": return stripe.charge(r)
    case "stripe.refund", "stripe-refunds-csv":
      if let skip = TestMode.refundOfTestPayment(e, testPayments: testPayments, include: includeTestData) {
        return skip
      }
      return e.kind == "stripe.refund" ? stripe.refund(r) : stripe.refundRow(r)
    case "stripe-payments-csv": return stripe.paymentExportRow(r)
    case "stripe-invoices-csv": return stripe.invoiceExportRow(r)
    case "paypal.transaction": return paypal.transaction(r)
    case "paypal-activity-csv":
      // The date order and decimal extract settled for the file (declared and checked, or detected
      // from the whole file), else the pipeline's entry for it.
      let format =
        e.originDateFormat.flatMap { ActivityFormat(dateFormat: $0, decimal: e.originDecimal) }
        ?? activityFormat(e.originFile)
      return paypal.activityRow(PayPalLocales.english(r), format: format)
    case "cashier.transaction", "cashier-csv": return paypal.cashier(r)
    default: return .reject(code: "unknown_kind", reason: "kind '\(e.kind)' is not one Transform reads")
    }
  }
}

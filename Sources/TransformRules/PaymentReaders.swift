import RevenueCore

/// Which reader reads each payment kind into a `RawPayment`: app rows (`AppMapping`), Stripe API
/// objects and exports (`StripeReaders`), PayPal and Cashier (`PayPalCashierReaders`).
package struct PaymentReaders {
  package let stripe: StripeReaders
  package let paypal: PayPalCashierReaders

  /// `subscriptions`: the index built in the first pass (nil while it is being built: readers then
  /// do without the subscription backfill rules).
  package init(subscriptions: SubscriptionIndex?) {
    stripe = StripeReaders(subscriptions: subscriptions)
    paypal = PayPalCashierReaders(subscriptions: subscriptions)
  }

  /// `activityFormat`: how the PayPal Activity export a row came from writes dates and decimals.
  package func read(_ e: StagedRecord, activityFormat: (String?) -> ActivityFormat) -> ReadOutcome {
    let r = e.record
    switch e.kind {
    case "app.transaction": return AppMapping.payment(AppTransactionRow(r), refundRow: false)
    case "app.refund": return AppMapping.payment(AppTransactionRow(r), refundRow: true)
    case "stripe.invoice": return stripe.invoice(r)
    case "stripe.charge": return stripe.charge(r)
    case "stripe.refund": return stripe.refund(r)
    case "stripe-payments-csv": return stripe.paymentRow(r)
    case "stripe-refunds-csv": return stripe.refundRow(r)
    case "paypal.transaction": return paypal.transaction(r)
    case "paypal-activity-csv": return paypal.activityRow(r, format: activityFormat(e.originFile))
    case "cashier.transaction", "cashier-csv": return paypal.cashier(r)
    default: return .reject(code: "unknown_kind", reason: "kind '\(e.kind)' is not one Transform reads")
    }
  }
}

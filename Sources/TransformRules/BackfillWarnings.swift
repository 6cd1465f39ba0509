import RevenueCore

/// Warnings a transform summary carries (stage lines `warning: …` and `details.warnings`).
package enum BackfillWarnings {
  /// Summary detail set when test-mode records were read (the load stage's guard reads it).
  package static let testDataKey = "include_test_data"

  /// A Stripe Payments export alone names no subscription (its rows carry an `Invoice ID`, not a
  /// subscription or service period), so such a backfill yields one-time invoices and no MRR;
  /// the Invoices export (or the Subscriptions export) is what carries them.
  package static func warnings(kinds: Set<String>, includeTestData: Bool) -> [String] {
    var out: [String] = []
    let subscriptionKinds: Set<String> = [
      "stripe-invoices-csv", "stripe-subscriptions-csv", "stripe.invoice", "stripe.subscription",
    ]
    if kinds.contains("stripe-payments-csv"), kinds.isDisjoint(with: subscriptionKinds),
      !kinds.contains("app.transaction")
    {
      out.append(
        "the Stripe Payments export alone yields no subscription MRR (its rows name no subscription or service period): Stripe payments load as one-time invoices; add the Stripe Invoices export (format stripe-invoices-csv) or the Subscriptions export (stripe-subscriptions-csv)"
      )
    }
    if includeTestData {
      out.append(
        "transform.include_test_data is true: test-mode records (Stripe livemode false / Mode Test, Cashier mode test, PayPal sandbox) are included"
      )
    }
    return out
  }
}

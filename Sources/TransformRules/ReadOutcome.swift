import RevenueCore

/// What reading one input record produced.
package enum ReadOutcome {
  case payment(RawPayment)
  /// Consumed into an index (users, customers, subscriptions, plans): counted as output.
  case indexed
  case skip(code: String, reason: String)
  case reject(code: String, reason: String)
}

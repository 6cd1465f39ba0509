import RevenueCore

/// What transform knows of one subscription across runs: how far it was paid, by whom, whether a
/// source cancelled it, and the lapse cancellation we sent (see `Lapse`). One line of
/// `transform/subscription-index.ndjson`:
/// `{"subscription_external_id","customer_external_id","paid_through","cancelled"?:true,
///   "lapsed_at"?,"lapsed_paid_through"?}`.
package struct SubscriptionState: Equatable, Sendable {
  package var subscription: String
  package var customer: String
  /// End of the latest paid service period of any run.
  package var paidThrough: Timestamp
  /// A source's cancellation was sent for it (it never lapses after that).
  package var cancelled = false
  /// The date of the lapse cancellation we sent, and how far it was paid then.
  package var lapsedAt: Timestamp? = nil
  package var lapsedPaidThrough: Timestamp? = nil

  package var json: JSONValue {
    var o = JSONObject()
    o["subscription_external_id"] = .string(subscription)
    o["customer_external_id"] = .string(customer)
    o["paid_through"] = .string(paidThrough.iso8601)
    if cancelled { o["cancelled"] = .bool(true) }
    o.set("lapsed_at", .optional(lapsedAt?.iso8601))
    o.set("lapsed_paid_through", .optional(lapsedPaidThrough?.iso8601))
    return .object(o)
  }

  package init(subscription: String, customer: String, paidThrough: Timestamp) {
    self.subscription = subscription
    self.customer = customer
    self.paidThrough = paidThrough
  }

  package init(json: JSONValue) throws(RecordShapeError) {
    let r = try FieldReader(json, what: "subscription")
    subscription = try r.string("subscription_external_id")
    customer = try r.string("customer_external_id")
    paidThrough = try r.timestamp("paid_through")
    cancelled = try r.bool("cancelled", default: false)
    lapsedAt = try r.optionalTimestamp("lapsed_at")
    lapsedPaidThrough = try r.optionalTimestamp("lapsed_paid_through")
  }

  /// Folds one run's payments into the states: furthest period end; this run's payer.
  package static func merge(_ states: inout [String: SubscriptionState], _ sub: String, _ paid: PaidThrough) {
    if var s = states[sub] {
      if paid.end > s.paidThrough { s.paidThrough = paid.end }
      s.customer = paid.customer
      states[sub] = s
    } else {
      states[sub] = SubscriptionState(subscription: sub, customer: paid.customer, paidThrough: paid.end)
    }
  }
}

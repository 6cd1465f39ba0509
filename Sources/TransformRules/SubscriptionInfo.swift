import RevenueCore

/// A gateway or app subscription as a source states it (for cancellations and plan lookups).
package struct SubscriptionInfo {
  package var gateway: String
  package var id: String
  package var appUserID: String? = nil
  package var identity: Identity? = nil
  package var planID: String? = nil
  package var interval: (IntervalUnit, Int)? = nil
  package var currency: String? = nil
  package var start: Timestamp? = nil
  /// When the customer asked to cancel.
  package var requestedAt: Timestamp? = nil
  /// When the subscription actually ends (Stripe `ended_at`, scheduled `cancel_at`).
  package var endsAt: Timestamp? = nil
  /// End of the last paid service period the source knows.
  package var periodEnd: Timestamp? = nil
  package var cancelled = false
  /// Time of the last payment (PayPal): the period end is this plus the plan interval.
  package var lastPayment: Timestamp? = nil
  package var appSubscriptionID: String? = nil
  /// 0 app database, 1 gateway API, 2 export file: the lowest wins when several sources cancel it.
  package var priority: Int
  package var source = 0
  package var line = 0
  package var key: String { gateway + "_" + id }
}

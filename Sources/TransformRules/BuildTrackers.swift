import RevenueCore

/// Side data gathered while fragments are built (grows with customers, plans and subscriptions).
package struct BuildTrackers {
  /// Every plan an invoice line refers to, by external id (written to plans.ndjson).
  package var plans: [String: PlanRecord] = [:]
  /// Subscription external id → the end of its latest paid service period in this run and the
  /// customer that paid it (the smallest external id when several did). Grows with subscriptions,
  /// not payments; cancellations (dated at period end), lapse detection and the never-invoiced check
  /// read it (see `Lapse`).
  package var paid: [String: PaidThrough] = [:]
  package init() {}
}

/// How far a subscription is paid, as the payments of one run show it.
package struct PaidThrough: Equatable, Sendable {
  package var end: Timestamp
  package var customer: String
  package init(end: Timestamp, customer: String) {
    self.end = end
    self.customer = customer
  }
}

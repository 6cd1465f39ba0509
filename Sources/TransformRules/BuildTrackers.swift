import RevenueCore

/// Side data gathered while fragments are built (grows with customers, plans and subscriptions).
package struct BuildTrackers {
  /// Every plan an invoice line refers to, by external id (written to plans.ndjson).
  package var plans: [String: PlanRecord] = [:]
  /// Subscription external id → end of its latest paid service period (cancellation at period end);
  /// kept only for subscriptions a source cancels, so it grows with cancellations, not payments.
  package var lastPeriodEnd: [String: Timestamp] = [:]
  /// Subscription external id → the customer its invoices went to (smallest id when several).
  package var subscriptionCustomer: [String: String] = [:]
  package init() {}
}

import RevenueCore

/// Lapse detection: the cancellation no source sent.
///
/// ChartMogul keeps a subscription without a renewal active and counting MRR until it is explicitly
/// cancelled ("Subscriptions are active in ChartMogul until they are explicitly canceled",
/// https://dev.chartmogul.com/docs/adding-paused-subscriptions; default past-due handling,
/// https://help.chartmogul.com/article/303-handling-past-due-subscriptions). So a subscription whose
/// last paid service period ended more than `transform.lapse_after_days` before the run's as-of
/// instant, with no later valid payment and no cancellation from any source, is cancelled here.
///
/// The cancellation date follows `churn_recognition`: `period_end` (default) dates it at the end of
/// the last paid period — where the business lost the revenue; `cancel_date` dates it when the lapse
/// became certain (period end + `lapse_after_days`), as no source ever asked to cancel.
///
/// When a payment for a later period arrives on a subscription cancelled as lapsed, the lapse is
/// withdrawn (ChartMogul: change churn history by sending the full `cancellation_dates`,
/// https://dev.chartmogul.com/docs/changing-customer-churn-history), so no false churn and
/// reactivation remains; if that payment is itself long past, the subscription lapses again, later.
package enum Lapse {
  package struct Policy: Sendable, Equatable {
    package var afterDays: Int
    package var churnRecognition: ChurnRecognition
    package init(afterDays: Int, churnRecognition: ChurnRecognition) {
      self.afterDays = afterDays
      self.churnRecognition = churnRecognition
    }
  }

  package enum Decision: Equatable {
    case keep
    /// Send a lapse cancellation dated `at`.
    case lapse(at: Timestamp)
    /// Withdraw the lapse cancellation dated `withdrawn`, then (when `relapse` is set) lapse again.
    case withdraw(withdrawn: Timestamp, relapse: Timestamp?)
  }

  package static func decide(_ s: SubscriptionState, asOf: Timestamp, policy: Policy) -> Decision {
    if s.cancelled { return .keep }
    let due = lapseDate(s.paidThrough, asOf: asOf, policy: policy)
    if let at = s.lapsedAt, let paidThen = s.lapsedPaidThrough {
      guard s.paidThrough > paidThen else { return .keep }
      return .withdraw(withdrawn: at, relapse: due)
    }
    return due.map { .lapse(at: $0) } ?? .keep
  }

  /// The lapse date of a subscription paid through `paidThrough`, or nil while it may still renew.
  package static func lapseDate(_ paidThrough: Timestamp, asOf: Timestamp, policy: Policy) -> Timestamp? {
    let certain = paidThrough.adding(days: policy.afterDays)
    guard certain < asOf else { return nil }
    switch policy.churnRecognition {
    case .periodEnd: return paidThrough
    case .cancelDate: return certain
    }
  }

  /// The cancellation record a decision sends, nil for `.keep`: a lapse carries `[at]` as its full
  /// `cancellation_dates`; a withdrawal carries `[]` and the withdrawn date.
  package static func record(_ d: Decision, subscription: String, customer: String) -> CancellationRecord? {
    switch d {
    case .keep: return nil
    case .lapse(let at), .withdraw(_, .some(let at)):
      return CancellationRecord(
        customerExternalID: customer, subscriptionExternalID: subscription, cancelledAt: at, lapsed: true,
        cancellationDates: [at])
    case .withdraw(let withdrawn, .none):
      return CancellationRecord(
        customerExternalID: customer, subscriptionExternalID: subscription, cancelledAt: withdrawn, withdrawn: true,
        cancellationDates: [])
    }
  }

  /// The state after the decision was sent.
  package static func apply(_ d: Decision, to s: inout SubscriptionState) {
    switch d {
    case .keep: break
    case .lapse(let at):
      s.lapsedAt = at
      s.lapsedPaidThrough = s.paidThrough
    case .withdraw(_, let relapse):
      s.lapsedAt = relapse
      s.lapsedPaidThrough = relapse == nil ? nil : s.paidThrough
    }
  }
}

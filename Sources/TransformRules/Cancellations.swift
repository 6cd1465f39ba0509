import RevenueCore

/// When a cancelled subscription churns: the `transform.churn_recognition` choice.
///
/// ChartMogul's own churn-recognition setting (https://help.chartmogul.com/article/242-churn-recognition)
/// does not apply to data sent through the Import API: there a subscription churns at the
/// `cancelled_at` we send (https://dev.chartmogul.com/reference/import-data-bulk). So the choice is
/// made here, once, and this file is the one place to read or change it.
public enum ChurnRecognition: String, CaseIterable, Sendable {
  /// At the end of the last paid service period (ChartMogul's recommended practice for MRR).
  case periodEnd = "period_end"
  /// When the customer asked to cancel (closer to committed MRR).
  case cancelDate = "cancel_date"

  /// Used when the pipeline file does not say.
  public static let `default` = ChurnRecognition.periodEnd
}

/// The cancellation of a subscription some source reports as cancelled.
package enum Cancellations {
  /// The instant sent as `cancelled_at`: `period_end` → the actual end (Stripe `ended_at`/`cancel_at`),
  /// else the latest paid period end any source shows (`tracked`: invoices' service periods), else
  /// the request date; `cancel_date` → the request date, else the first known end.
  package static func cancelledAt(_ s: SubscriptionInfo, tracked: Timestamp?, rule: ChurnRecognition) -> Timestamp? {
    switch rule {
    case .periodEnd:
      if let e = s.endsAt { return e }
      let ends = [s.periodEnd, tracked].compactMap { $0 }
      return ends.max() ?? s.requestedAt
    case .cancelDate:
      return s.requestedAt ?? s.endsAt ?? s.periodEnd ?? tracked
    }
  }

  /// The end of the last paid period when the subscription does not state it (PayPal gives only
  /// the last payment time): the last payment plus the plan's interval, from `plan_mapping` first,
  /// else the gateway's own plan interval.
  package static func derivedPeriodEnd(
    _ s: SubscriptionInfo, planMapping: [String: PlanSpec], planIntervals: [String: (IntervalUnit, Int)]
  ) -> Timestamp? {
    if let end = s.periodEnd { return end }
    guard let last = s.lastPayment, let p = s.planID else { return nil }
    if let spec = planMapping[p] { return last.adding(spec.intervalUnit, count: spec.intervalCount) }
    if let (u, c) = planIntervals[p] { return last.adding(u, count: c) }
    return nil
  }

  package enum Outcome {
    case cancellation(CancellationRecord)
    /// Every candidate record of the subscription is skipped (test data) or rejected with this reason.
    case skip(code: String, reason: String)
    case reject(code: String, reason: String)
  }

  /// The cancellation of one subscription from its candidates (best first: app database, then
  /// gateway API, then export; see `SubscriptionIndex.cancelledGroups`): sent for the customer its
  /// invoices went to, at the instant `cancelledAt` picks.
  ///
  /// `state` is what this and earlier runs know of the subscription (`SubscriptionState`): nil means
  /// no invoice of it was ever written, so ChartMogul has nothing to cancel (paid only in test mode,
  /// or only failed payments) and the cancellation is skipped, never sent. A subscription cancelled
  /// as lapsed gets its full `cancellation_dates`, replacing the lapse date (see `Lapse`).
  package static func cancellation(
    key: String, group: [SubscriptionInfo], customers: CustomerIndex, planIntervals: [String: (IntervalUnit, Int)],
    trackers: BuildTrackers, state: SubscriptionState?
  ) -> Outcome {
    var info = group[0]
    let customer: String?
    if let u = info.appUserID {
      customer = customers.resolveUser(u)
    } else {
      customer = info.identity.flatMap(customers.resolve)
    }
    guard let customer else {
      return .reject(code: "no_customer", reason: "cancelled subscription \(key) names no customer")
    }
    if customers.isTest(customer) { return .skip(code: "test_data", reason: "customer \(customer) is test data") }
    guard let state else {
      return .skip(
        code: "subscription_never_invoiced",
        reason:
          "subscription \(key) has no invoice in this or any earlier run of this pipeline (paid only in test mode, or only failed payments), so ChartMogul has nothing to cancel"
      )
    }
    let config = customers.config
    info.periodEnd = derivedPeriodEnd(info, planMapping: config.planMapping, planIntervals: planIntervals)
    guard let at = cancelledAt(info, tracked: trackers.paid[key]?.end, rule: config.churnRecognition) else {
      return .reject(
        code: "missing_field", reason: "cancelled subscription \(key) has no cancellation or period end date")
    }
    let record = CancellationRecord(
      customerExternalID: trackers.paid[key]?.customer ?? customer, subscriptionExternalID: key,
      cancelledAt: at, requestedAt: info.requestedAt,
      appSubscriptionID: group.lazy.compactMap(\.appSubscriptionID).first,
      cancellationDates: state.lapsedAt == nil ? nil : [at])
    // Never stage what load could not read back (RecordLimits).
    if let problem = RecordLimits.problem(in: record) { return .reject(code: "out_of_range", reason: problem) }
    return .cancellation(record)
  }
}

import RevenueCore

/// A gateway or app subscription as a source states it (for cancellations and plan lookups).
struct SubscriptionInfo {
  var gateway: String
  var id: String
  var appUserID: String? = nil
  var identity: Identity? = nil
  var planID: String? = nil
  var interval: (IntervalUnit, Int)? = nil
  var currency: String? = nil
  var start: Timestamp? = nil
  /// When the customer asked to cancel.
  var requestedAt: Timestamp? = nil
  /// When the subscription actually ends (Stripe `ended_at`, scheduled `cancel_at`).
  var endsAt: Timestamp? = nil
  /// End of the last paid service period the source knows.
  var periodEnd: Timestamp? = nil
  var cancelled = false
  /// Time of the last payment (PayPal): the period end is this plus the plan interval.
  var lastPayment: Timestamp? = nil
  var appSubscriptionID: String? = nil
  /// 0 app database, 1 gateway API, 2 export file: the lowest wins when several sources cancel it.
  var priority: Int
  var source = 0
  var line = 0
  var key: String { gateway + "_" + id }
}

/// Subscriptions by external id, and by gateway customer (for the Stripe export backfill rule).
final class SubscriptionIndex {
  private(set) var all: [SubscriptionInfo] = []
  private var byKey: [String: [Int]] = [:]
  private var byCustomer: [String: [Int]] = [:]

  func add(_ s: SubscriptionInfo) {
    byKey[s.key, default: []].append(all.count)
    if let c = s.identity?.customerID { byCustomer[s.gateway + ":" + c, default: []].append(all.count) }
    all.append(s)
  }

  func planID(gateway: String, id: String) -> String? {
    byKey[gateway + "_" + id]?.lazy.compactMap { self.all[$0].planID }.first
  }

  /// The one subscription of a gateway customer in `currency` running at `date`, if exactly one.
  func onlyRunning(gateway: String, customer: String, currency: String, at date: Timestamp) -> SubscriptionInfo? {
    var found: [String: SubscriptionInfo] = [:]
    for i in byCustomer[gateway + ":" + customer] ?? [] {
      let s = all[i]
      if let c = s.currency, c.uppercased() != currency.uppercased() { continue }
      if let st = s.start, st > date.adding(days: 1) { continue }
      if let e = s.endsAt, e < date { continue }
      found[s.key] = s
    }
    return found.count == 1 ? found.values.first : nil
  }

  var cancelledKeys: Set<String> { Set(all.lazy.filter(\.cancelled).map(\.key)) }

  /// Cancellation candidates grouped by subscription key, best first (priority, then earliest).
  func cancelledGroups() -> [(String, [SubscriptionInfo])] {
    var groups: [String: [SubscriptionInfo]] = [:]
    for s in all where s.cancelled { groups[s.key, default: []].append(s) }
    return groups.keys.sorted().map { k in
      (k, groups[k]!.sorted { ($0.priority, $0.source, $0.line) < ($1.priority, $1.source, $1.line) })
    }
  }
}

enum Cancellations {
  /// When churn is recognised (DESIGN.md §6, chartmogul-api.md §9 rule 6): `period_end` → the end of
  /// the last paid service period (actual end, else the latest paid period end seen in any source,
  /// else the request date); `cancel_date` → when the customer asked to cancel.
  static func cancelledAt(_ s: SubscriptionInfo, tracked: Timestamp?, rule: TransformConfig.ChurnRecognition)
    -> Timestamp?
  {
    switch rule {
    case .periodEnd:
      if let e = s.endsAt { return e }
      let ends = [s.periodEnd, tracked].compactMap { $0 }
      return ends.max() ?? s.requestedAt
    case .cancelDate:
      return s.requestedAt ?? s.endsAt ?? s.periodEnd ?? tracked
    }
  }
}

import RevenueCore

/// Subscriptions by external id, and by gateway customer (for the Stripe export backfill rule).
package final class SubscriptionIndex {
  package private(set) var all: [SubscriptionInfo] = []
  private var byKey: [String: [Int]] = [:]
  private var byCustomer: [String: [Int]] = [:]

  package init() {}

  package func add(_ s: SubscriptionInfo) {
    byKey[s.key, default: []].append(all.count)
    if let c = s.identity?.customerID { byCustomer[s.gateway + ":" + c, default: []].append(all.count) }
    all.append(s)
  }

  package func planID(gateway: String, id: String) -> String? {
    byKey[gateway + "_" + id]?.lazy.compactMap { self.all[$0].planID }.first
  }

  /// The one subscription of a gateway customer in `currency` running at `date`, if exactly one.
  package func onlyRunning(gateway: String, customer: String, currency: String, at date: Timestamp) -> SubscriptionInfo?
  {
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

  package var cancelledKeys: Set<String> { Set(all.lazy.filter(\.cancelled).map(\.key)) }

  /// Cancellation candidates grouped by subscription key, best first (priority, then earliest).
  package func cancelledGroups() -> [(String, [SubscriptionInfo])] {
    var groups: [String: [SubscriptionInfo]] = [:]
    for s in all where s.cancelled { groups[s.key, default: []].append(s) }
    return groups.keys.sorted().map { k in
      (k, groups[k]!.sorted { ($0.priority, $0.source, $0.line) < ($1.priority, $1.source, $1.line) })
    }
  }
}

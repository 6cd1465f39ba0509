import RevenueCore

/// Ids of one Stripe payment (invoice `in_…`, charge `ch_…`, payment intent `pi_…`) joined so every
/// source names the payment by one canonical id: the invoice when there is one, else the charge,
/// else the payment intent (a charge without an invoice is keyed by the charge: https://docs.stripe.com/api/charges/object).
///
/// This map holds one entry per Stripe id that has a better-ranked alias, so it grows with the number
/// of Stripe payments staged from gateway sources (not with app rows) — the one per-payment structure
/// Transform keeps in memory (about 100 bytes per Stripe payment).
package final class PaymentAliases {
  private var parent: [String: String] = [:]

  package init() {}

  package static func rank(_ id: String) -> Int {
    if id.hasPrefix("in_") { return 0 }
    if id.hasPrefix("ch_") || id.hasPrefix("py_") { return 1 }
    if id.hasPrefix("pi_") { return 2 }
    return 3
  }

  private func find(_ x: String) -> String {
    var x = x
    while let p = parent[x], p != x { x = p }
    return x
  }

  /// Records that these ids name the same payment.
  package func link(_ ids: [String?]) {
    let list = ids.compactMap { $0 }.filter { !$0.isEmpty }
    guard list.count > 1 else { return }
    var roots = Set(list.map { find($0) })
    let best = roots.min { (PaymentAliases.rank($0), $0) < (PaymentAliases.rank($1), $1) }!
    roots.remove(best)
    for r in roots { parent[r] = best }
    for id in list where id != best { parent[id] = best }
  }

  /// Compresses paths after pass 1 so lookups are one step.
  package func finish() {
    for k in Array(parent.keys) { parent[k] = find(k) }
  }

  package func canonical(_ id: String) -> String { parent.isEmpty ? id : parent[id] ?? id }
}

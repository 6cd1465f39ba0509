import RevenueCore

/// Ids of one Stripe payment (invoice `in_…`, charge `ch_…`, payment intent `pi_…`) joined so every
/// source names the payment by one canonical id: the invoice when there is one, else the charge,
/// else the payment intent (gateways.md §7: invoiceless charges are keyed by the charge).
///
/// This map holds one entry per Stripe id that has a better-ranked alias, so it grows with the number
/// of Stripe payments staged from gateway sources (not with app rows) — the one per-payment structure
/// Transform keeps in memory (about 100 bytes per Stripe payment).
final class PaymentAliases {
  private var parent: [String: String] = [:]

  static func rank(_ id: String) -> Int {
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
  func link(_ ids: [String?]) {
    let list = ids.compactMap { $0 }.filter { !$0.isEmpty }
    guard list.count > 1 else { return }
    var roots = Set(list.map { find($0) })
    let best = roots.min { (PaymentAliases.rank($0), $0) < (PaymentAliases.rank($1), $1) }!
    roots.remove(best)
    for r in roots { parent[r] = best }
    for id in list where id != best { parent[id] = best }
  }

  /// Compresses paths after pass 1 so lookups are one step.
  func finish() {
    for k in Array(parent.keys) { parent[k] = find(k) }
  }

  func canonical(_ id: String) -> String { parent.isEmpty ? id : parent[id] ?? id }
}

/// Side data gathered while fragments are built (grows with customers, plans and subscriptions).
struct BuildTrackers {
  var plans: [String: PlanRecord] = [:]
  /// Subscription external id → the end of its latest paid service period in this run and the customer
  /// that paid it (the smallest external id when several did). Grows with subscriptions, not
  /// payments; cancellations (dated at period end), lapse detection and the never-invoiced check
  /// read it (see `SubscriptionHistory`).
  var paid: [String: PaidThrough] = [:]
}

/// How far a subscription is paid, as the payments of one run show it.
struct PaidThrough: Equatable {
  var end: Timestamp
  var customer: String
}

/// Applies the mapping rules to a `RawPayment`: canonical invoice key, customer, plan mapping, money
/// checks, service periods. Produces a `Fragment` or a reject/skip with a reason.
struct FragmentBuilder {
  let config: TransformConfig
  let customers: CustomerIndex
  let aliases: PaymentAliases
  /// Gateway plan id → its own interval (Stripe prices, PayPal plans, subscriptions export).
  let planIntervals: [String: (IntervalUnit, Int)]
  /// The last currency code looked up and its `Currency` (payments come in few currencies; the
  /// lookup trims, upper-cases and hashes the code every time).
  let lastCurrency = CurrencyMemo()
  /// `plan_mapping` key → its `PlanRecord` (building one formats its external id every time).
  let mappedPlans = PlanMemo()
  /// `Normalize.country` of the few country texts rows carry (a pure function; Character checks are slow).
  let countries = CountryMemo()

  final class CountryMemo {
    var known: [String: String?] = [:]
    func normalized(_ s: String?) -> String? {
      guard let s else { return nil }
      if let hit = known[s] { return hit }
      let n = Normalize.country(s)
      if known.count < 1024 { known[s] = .some(n) }
      return n
    }
  }

  final class PlanMemo {
    var plans: [String: PlanRecord] = [:]
    func plan(_ key: String, _ mapping: [String: PlanSpec]) -> PlanRecord? {
      if let p = plans[key] { return p }
      guard let spec = mapping[key] else { return nil }
      let p = spec.plan
      plans[key] = p
      return p
    }
  }

  final class CurrencyMemo {
    var code: String? = nil
    var currency: Currency? = nil
    func lookup(_ code: String) -> Currency? {
      if let c = currency, code == self.code { return c }
      let found = Currency(code)
      if found != nil {
        self.code = code
        currency = found
      }
      return found
    }
  }

  enum Built {
    case fragment(Fragment)
    case skip(code: String, reason: String)
    case reject(code: String, reason: String)
  }

  func build(_ p: RawPayment, source: Int, line: Int, trackers: inout BuildTrackers) -> Built {
    guard let currency = lastCurrency.lookup(p.currencyCode) else {
      return .reject(code: "unknown_currency", reason: "currency '\(p.currencyCode)' is not in the ISO 4217 table")
    }
    let target = p.role == .gatewayRefund ? (p.refundOf ?? "") : p.id
    guard !target.isEmpty else {
      return .reject(code: "missing_field", reason: "refund does not name the payment it refunds")
    }
    let key = p.gateway + "_" + aliases.canonical(target)
    var frag = Fragment(key: key, role: p.role, source: source, line: line, currency: currency.code)
    let limit = config.rejectAmountAbove
    func money(_ v: Int64, _ what: String, allowNegative: Bool = false) -> String? {
      if v < 0 && !allowNegative {
        return "\(what) \(Money.format(v, exponent: currency.exponent)) \(currency.code) is negative"
      }
      if v.magnitude > UInt64(limit) {
        return "\(what) \(Money.format(v, exponent: currency.exponent)) \(currency.code) is above the limit \(Money.format(limit, exponent: currency.exponent)) (reject_amount_above)"
      }
      return nil
    }
    for r in p.refunds {
      if let m = money(r.amount, "refund \(r.id)") { return .reject(code: "bad_amount", reason: m) }
      frag.itemizedRefunds.append(
        TransactionRecord(externalID: p.gateway + "_" + r.id, type: .refund, result: .successful, date: r.date,
          amountInCents: r.amount))
    }
    if p.role == .gatewayRefund { return .fragment(frag) }

    // Customer.
    let customer: String?
    var slot: Int32? = nil
    var test = false
    if let u = p.appUserID {
      let route = customers.appUserRoute(u, key: p.appUserKey)
      customer = route.customer
      slot = route.slot
      test = route.isTest
    } else if let id = p.identity {
      customer = customers.resolve(id)
      test = customer.map(customers.isTest) ?? false
    } else {
      customer = nil
    }
    guard let customer else {
      return .reject(code: "no_customer", reason: "the record names no customer (no user id, customer id or e-mail)")
    }
    if test {
      return .skip(code: "test_data", reason: "customer \(customer) is test data (users.is_test or test_emails)")
    }
    if let m = money(p.total, "amount") { return .reject(code: "bad_amount", reason: m) }
    if let m = money(p.cumulativeRefund, "refunded amount") { return .reject(code: "bad_amount", reason: m) }
    frag.total = p.total
    frag.cumulativeRefund = p.cumulativeRefund
    frag.cumulativeRefundDate = p.cumulativeRefundDate
    frag.refundSynced = p.refundSynced

    var items: [LineItemRecord] = []
    var planRefs: [PlanRecord] = []
    var subEnds: [(String, Timestamp)] = []
    for (n, l) in p.lines.enumerated() {
      if let m = money(l.amount, "line amount", allowNegative: l.prorated) { return .reject(code: "bad_amount", reason: m) }
      if let m = money(l.tax, "tax") ?? money(l.discount, "discount") { return .reject(code: "bad_amount", reason: m) }
      var item = LineItemRecord(
        type: l.type, externalID: l.externalID.map { p.gateway + "_" + $0 } ?? "\(key)-\(n + 1)",
        amountInCents: l.amount, quantity: l.quantity, taxAmountInCents: l.tax, discountAmountInCents: l.discount,
        discountCode: l.discountCode, description: l.description, prorated: l.prorated)
      frag.tax += l.tax
      if l.type == .subscription {
        guard let plan = planFor(l, currency: currency) else {
          let ids = ([l.planID].compactMap { $0 } + l.planCandidates).map { "'\($0)'" }.joined(separator: ", ")
          return .reject(
            code: "unmapped_plan",
            reason: "plan id \(ids.isEmpty ? "(none)" : ids) is not in transform.plan_mapping"
              + (config.unmappedPlans == .passThrough ? " and the record gives no billing interval" : ""))
        }
        if plan.currency != currency.code {
          return .reject(
            code: "plan_currency_mismatch",
            reason: "plan '\(l.planID ?? plan.name)' is \(plan.currency) but the payment is \(currency.code) (plans never mix currencies)")
        }
        guard let sid = l.subscriptionID, !sid.isEmpty else {
          return .reject(code: "no_subscription", reason: "subscription line without a subscription id")
        }
        let start = l.periodStart ?? p.date
        let end = l.periodEnd ?? start.adding(plan.intervalUnit, count: plan.intervalCount)
        guard end > start else {
          return .reject(code: "bad_period", reason: "service period \(start.iso8601) … \(end.iso8601) is empty")
        }
        if frag.givenPeriod == nil, let a = l.periodStart, let b = l.periodEnd { frag.givenPeriod = (a, b) }
        item.planExternalID = plan.externalID
        item.subscriptionExternalID = p.gateway + "_" + sid
        item.servicePeriodStart = start
        item.servicePeriodEnd = end
        planRefs.append(plan)
        subEnds.append((p.gateway + "_" + sid, end))
      }
      items.append(item)
    }
    guard !items.isEmpty else { return .reject(code: "no_lines", reason: "payment has no invoice lines") }
    var txs = [TransactionRecord(externalID: key + "-payment", type: .payment, result: .successful, date: p.date)]
    let refunds = InvoiceAssembler.refunds(
      key: key, itemized: frag.itemizedRefunds, cumulative: frag.cumulativeRefund, synced: frag.refundSynced,
      date: frag.cumulativeRefundDate ?? p.date)
    let refunded = refunds.reduce(Int64(0)) { $0 + ($1.amountInCents ?? 0) }
    if refunded + (p.role == .appRefund ? p.refundSynced : 0) > p.total {
      return .reject(
        code: "refund_exceeds_payment",
        reason: "refunds \(Money.format(refunded, exponent: currency.exponent)) exceed the payment \(Money.format(p.total, exponent: currency.exponent)) \(currency.code)")
    }
    txs += refunds
    frag.invoice = InvoiceRecord(
      externalID: key, customerExternalID: customer, date: p.date, currency: currency.code, lineItems: items,
      transactions: txs, gateway: p.gateway, appTransactionID: p.appTransactionID)

    for plan in planRefs where trackers.plans[plan.externalID] == nil { trackers.plans[plan.externalID] = plan }
    for (sub, end) in subEnds {
      if var known = trackers.paid[sub] {
        if end > known.end { known.end = end }
        if customer < known.customer { known.customer = customer }
        if known != trackers.paid[sub] { trackers.paid[sub] = known }
      } else {
        trackers.paid[sub] = PaidThrough(end: end, customer: customer)
      }
    }
    let country = countries.normalized(p.countryHint ?? p.identity?.country)
    if let slot, customers.slots.addGateway(slot, p.gateway) {
      let s = customers.slots
      if let c = country { s.offer(.country, slot, p.date, c) }
      if let n = p.identity?.name { s.offer(.name, slot, p.date, n) }
      if let r = p.referrerHint { s.offer(.referrer, slot, p.date, r) }
      return .fragment(frag)
    }
    // Most payments repeat a gateway the customer already has: look before taking the mutable path.
    if customers.gatewaysByCustomer[customer]?.contains(p.gateway) != true {
      customers.gatewaysByCustomer[customer, default: []].insert(p.gateway)
    }
    if let c = country { customers.offer(.country, customer, p.date, c) }
    if let n = p.identity?.name { customers.offer(.name, customer, p.date, n) }
    if let r = p.referrerHint { customers.offer(.referrer, customer, p.date, r) }
    return .fragment(frag)
  }

  /// `plan_mapping[planID]` (then the other candidate keys); with `pass_through`, a plan named after
  /// the gateway id with the record's own interval.
  func planFor(_ l: RawLine, currency: Currency) -> PlanRecord? {
    if let k = l.planID, let plan = mappedPlans.plan(k, config.planMapping) { return plan }
    for k in l.planCandidates {
      if let plan = mappedPlans.plan(k, config.planMapping) { return plan }
    }
    guard config.unmappedPlans == .passThrough, let id = l.planID ?? l.planCandidates.first else { return nil }
    guard let (unit, count) = l.interval ?? planIntervals[id] else { return nil }
    return PlanRecord(name: id, intervalCount: count, intervalUnit: unit, currency: currency.code)
  }
}

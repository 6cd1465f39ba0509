import RevenueCore

/// Applies the mapping rules to a `RawPayment` (ChartMogul invoice import:
/// https://dev.chartmogul.com/reference/import-customers-invoices): the invoice's canonical key,
/// its customer, plan mapping, money checks and service periods. Produces a `Fragment` (and the
/// customer facts the payment adds) or a reject/skip with a reason.
package struct FragmentBuilder {
  package enum Built {
    case fragment(Fragment, facts: CustomerFacts?)
    case skip(code: String, reason: String)
    case reject(code: String, reason: String)
  }

  package let config: TransformConfig
  package let aliases: PaymentAliases
  /// Gateway plan id → its own interval (Stripe prices, PayPal plans, subscriptions export).
  package let planIntervals: [String: (IntervalUnit, Int)]
  /// `plan_mapping` as ChartMogul plans, built once.
  package let mappedPlans: [String: PlanRecord]
  /// ISO 4217 lookup of a payment's currency code; a runner may pass a cached equivalent.
  package var currencyOf: (String) -> Currency? = { Currency($0) }

  package init(config: TransformConfig, aliases: PaymentAliases, planIntervals: [String: (IntervalUnit, Int)]) {
    self.config = config
    self.aliases = aliases
    self.planIntervals = planIntervals
    mappedPlans = config.planMapping.mapValues(\.plan)
  }

  /// One payment → one fragment. `payer` resolves the customer (`CustomerIndex.payer(of:)` or an
  /// equivalent); it is not asked for refund records, which join their payment's invoice.
  package func build(
    _ p: RawPayment, source: Int, line: Int, trackers: inout BuildTrackers, payer: (RawPayment) -> Payer?
  ) -> Built {
    guard let currency = currencyOf(p.currencyCode) else {
      return .reject(code: "unknown_currency", reason: "currency '\(p.currencyCode)' is not in the ISO 4217 table")
    }
    guard let key = invoiceKey(p) else {
      return .reject(code: "missing_field", reason: "refund does not name the payment it refunds")
    }
    let money = MoneyCheck(currency: currency, limit: config.rejectAmountAbove)
    var frag = Fragment(key: key, role: p.role, source: source, line: line, currency: currency.code)
    do throws(Rejected) {
      frag.itemizedRefunds = try itemizedRefunds(p, money)
      // Never stage what load could not read back (RecordLimits): the source record is rejected.
      for t in frag.itemizedRefunds {
        if let problem = RecordLimits.problem(in: t) { throw Rejected("out_of_range", problem) }
      }
      if p.role == .gatewayRefund { return .fragment(frag, facts: nil) }
      guard let who = payer(p) else {
        return .reject(code: "no_customer", reason: "the record names no customer (no user id, customer id or e-mail)")
      }
      if who.isTest {
        return .skip(code: "test_data", reason: "customer \(who.customer) is test data (users.is_test or test_emails)")
      }
      try money.check(p.total, "amount")
      try money.check(p.cumulativeRefund, "refunded amount")
      frag.total = p.total
      frag.cumulativeRefund = p.cumulativeRefund
      frag.cumulativeRefundDate = p.cumulativeRefundDate
      frag.refundSynced = p.refundSynced
      let lines = try lineItems(p, key: key, currency: currency, money)
      frag.tax = p.lines.reduce(0) { $0 + $1.tax }
      frag.givenPeriod = lines.givenPeriod
      frag.invoice = try invoice(p, key: key, customer: who.customer, currency: currency, items: lines.items, frag)
      if let problem = RecordLimits.problem(in: frag.invoice!) { throw Rejected("out_of_range", problem) }
      track(lines, customer: who.customer, in: &trackers)
      return .fragment(frag, facts: facts(p, customer: who.customer))
    } catch {
      return .reject(code: error.code, reason: error.reason)
    }
  }

  /// The invoice external id: `<gateway>_<canonical id>` of the payment (for a refund, of the
  /// payment it refunds), so every source's record of one payment lands on one invoice.
  package func invoiceKey(_ p: RawPayment) -> String? {
    let target = p.role == .gatewayRefund ? (p.refundOf ?? "") : p.id
    return target.isEmpty ? nil : p.gateway + "_" + aliases.canonical(target)
  }

  /// The refunds the gateway itemises, as refund transactions with `<gateway>_<refund id>`.
  package func itemizedRefunds(_ p: RawPayment, _ money: MoneyCheck) throws(Rejected) -> [TransactionRecord] {
    try p.refunds.map { r throws(Rejected) in
      try money.check(r.amount, "refund \(r.id)")
      return TransactionRecord(
        externalID: p.gateway + "_" + r.id, type: .refund, result: .successful, date: r.date, amountInCents: r.amount)
    }
  }

  /// The invoice's lines with the plans and subscription period ends they refer to.
  package struct Lines {
    package var items: [LineItemRecord] = []
    package var plans: [PlanRecord] = []
    package var subscriptionEnds: [(String, Timestamp)] = []
    /// The first subscription line's service period when the record stated it (not derived).
    package var givenPeriod: (Timestamp, Timestamp)? = nil
  }

  package func lineItems(_ p: RawPayment, key: String, currency: Currency, _ money: MoneyCheck) throws(Rejected)
    -> Lines
  {
    var out = Lines()
    for (n, l) in p.lines.enumerated() {
      try money.check(l.amount, "line amount", allowNegative: l.prorated)
      try money.check(l.tax, "tax")
      try money.check(l.discount, "discount")
      var item = LineItemRecord(
        type: l.type, externalID: l.externalID.map { p.gateway + "_" + $0 } ?? "\(key)-\(n + 1)",
        amountInCents: l.amount, quantity: l.quantity, taxAmountInCents: l.tax, discountAmountInCents: l.discount,
        discountCode: l.discountCode, description: l.description, prorated: l.prorated)
      if l.type == .subscription {
        let plan = try plan(for: l, currency: currency)
        let (subscription, start, end) = try servicePeriod(l, gateway: p.gateway, paidAt: p.date, plan: plan)
        if out.givenPeriod == nil, let a = l.periodStart, let b = l.periodEnd { out.givenPeriod = (a, b) }
        item.planExternalID = plan.externalID
        item.subscriptionExternalID = subscription
        item.servicePeriodStart = start
        item.servicePeriodEnd = end
        out.plans.append(plan)
        out.subscriptionEnds.append((subscription, end))
      }
      out.items.append(item)
    }
    guard !out.items.isEmpty else { throw Rejected("no_lines", "payment has no invoice lines") }
    return out
  }

  /// A subscription line's plan: `plan_mapping` (see `planFor`), in the payment's currency
  /// (ChartMogul plans have one currency: https://dev.chartmogul.com/reference/create-a-plan).
  package func plan(for l: RawLine, currency: Currency) throws(Rejected) -> PlanRecord {
    guard let plan = planFor(l, currency: currency) else {
      let ids = ([l.planID].compactMap { $0 } + l.planCandidates).map { "'\($0)'" }.joined(separator: ", ")
      throw Rejected(
        "unmapped_plan",
        "plan id \(ids.isEmpty ? "(none)" : ids) is not in transform.plan_mapping"
          + (config.unmappedPlans == .passThrough ? " and the record gives no billing interval" : ""))
    }
    guard plan.currency == currency.code else {
      throw Rejected(
        "plan_currency_mismatch",
        "plan '\(l.planID ?? plan.name)' is \(plan.currency) but the payment is \(currency.code) (plans never mix currencies)"
      )
    }
    return plan
  }

  /// `plan_mapping[planID]` (then the other candidate keys); with `pass_through`, a plan named after
  /// the gateway id with the record's own interval.
  package func planFor(_ l: RawLine, currency: Currency) -> PlanRecord? {
    if let k = l.planID, let plan = mappedPlans[k] { return plan }
    for k in l.planCandidates {
      if let plan = mappedPlans[k] { return plan }
    }
    guard config.unmappedPlans == .passThrough, let id = l.planID ?? l.planCandidates.first else { return nil }
    guard let (unit, count) = l.interval ?? planIntervals[id] else { return nil }
    return PlanRecord(name: id, intervalCount: count, intervalUnit: unit, currency: currency.code)
  }

  /// The subscription external id and service period of a subscription line: the stated period,
  /// else from the payment date for one plan interval (ChartMogul needs both ends on subscription
  /// lines: https://dev.chartmogul.com/reference/import-customers-invoices).
  package func servicePeriod(_ l: RawLine, gateway: String, paidAt: Timestamp, plan: PlanRecord) throws(Rejected)
    -> (String, Timestamp, Timestamp)
  {
    guard let sid = l.subscriptionID, !sid.isEmpty else {
      throw Rejected("no_subscription", "subscription line without a subscription id")
    }
    let start = l.periodStart ?? paidAt
    let end = l.periodEnd ?? start.adding(plan.intervalUnit, count: plan.intervalCount)
    guard end > start else { throw Rejected("bad_period", "service period \(start.iso8601) … \(end.iso8601) is empty") }
    return (gateway + "_" + sid, start, end)
  }

  /// The invoice this payment alone makes: its lines, the payment transaction and its refunds
  /// (`InvoiceAssembler.refunds`), which may not exceed what was paid.
  package func invoice(
    _ p: RawPayment, key: String, customer: String, currency: Currency, items: [LineItemRecord], _ frag: Fragment
  ) throws(Rejected) -> InvoiceRecord {
    let refunds = InvoiceAssembler.refunds(
      key: key, itemized: frag.itemizedRefunds, cumulative: frag.cumulativeRefund, synced: frag.refundSynced,
      date: frag.cumulativeRefundDate ?? p.date)
    let refunded = refunds.reduce(Int64(0)) { $0 + ($1.amountInCents ?? 0) }
    if refunded + (p.role == .appRefund ? p.refundSynced : 0) > p.total {
      throw Rejected(
        "refund_exceeds_payment",
        "refunds \(Money.format(refunded, exponent: currency.exponent)) exceed the payment \(Money.format(p.total, exponent: currency.exponent)) \(currency.code)"
      )
    }
    let payment = TransactionRecord(externalID: key + "-payment", type: .payment, result: .successful, date: p.date)
    return InvoiceRecord(
      externalID: key, customerExternalID: customer, date: p.date, currency: currency.code, lineItems: items,
      transactions: [payment] + refunds, gateway: p.gateway, appTransactionID: p.appTransactionID)
  }

  /// Remembers the plans used and, for subscriptions some source cancels, the latest paid period
  /// end and the customer (for `Cancellations`).
  package func track(_ lines: Lines, customer: String, in trackers: inout BuildTrackers) {
    for plan in lines.plans where trackers.plans[plan.externalID] == nil { trackers.plans[plan.externalID] = plan }
    for (sub, end) in lines.subscriptionEnds {
      if var known = trackers.paid[sub] {
        let before = known
        if end > known.end { known.end = end }
        if customer < known.customer { known.customer = customer }
        if known != before { trackers.paid[sub] = known }
      } else {
        trackers.paid[sub] = PaidThrough(end: end, customer: customer)
      }
    }
  }

  package func facts(_ p: RawPayment, customer: String) -> CustomerFacts {
    CustomerFacts(
      customer: customer, gateway: p.gateway, date: p.date, country: p.countryHint ?? p.identity?.country,
      name: p.identity?.name, referrer: p.referrerHint)
  }
}

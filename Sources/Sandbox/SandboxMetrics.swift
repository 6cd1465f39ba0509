import Foundation
import RevenueCore

/// The sandbox's MRR engine (independent of the local engine in RevenueCore, so `validate`
/// compares two implementations). Rules, after reference §9:
/// - A subscription line's MRR = (amount_in_cents − tax_amount_in_cents) / plan months, where plan
///   months = interval_count (month), 12 × interval_count (year), interval_count / 30 (day: a
///   30-day month). Prorated lines are scaled by full plan period / actual service period (seconds).
///   Converted to the account currency with the fx table (minor-unit exponents respected) and
///   rounded half away from zero once per line. Quantity is already inside the amount.
/// - One-time and trial lines add nothing; refunds and payments do not change MRR.
/// - A line counts on [service_period_start, service_period_end). At an instant the subscription's
///   MRR is the sum of the lines covering it that share the latest start (a newer line — upgrade,
///   downgrade, renewal — supersedes an older overlapping one).
/// - A cancellation date c (cancelled_at / cancellation_dates / a line's cancelled_at) ends MRR
///   from c on, unless a line starting after c covers the instant (reactivation); a cancellation at
///   the instant a line starts cancels that line.
/// - "Handling past-due subscriptions" (help.chartmogul.com/article/303): by default a subscription
///   no line covers any more stays past due with the MRR it had just before, until a cancellation
///   or a new line; the customer's status is "Past Due". With `autoChurnDays` N, a subscription past
///   due for N days or more (until the next line, or until now when none followed) churns, dated
///   at the end of its last line.
/// - Metric entries are snapshots at 23:59:59 UTC of each interval's last day (the last entry is
///   end-date when it falls inside an interval); movements compare each customer's MRR with the
///   previous snapshot: 0 → >0 new business (first time) or reactivation, >0 → 0 churn, up
///   expansion, down contraction. Changes that cancel out inside one interval are not seen.
struct SandboxMRRModel {
  struct Segment {
    var start: Int64
    var end: Int64
    var mrr: Int64
    var quantity: Int64
  }

  struct Sub {
    var uuid: String
    var customerUUID: String
    var segments: [Segment]
    var cancellations: [Int64]
    /// "Handling past-due subscriptions": nil keeps a past-due subscription's MRR until cancelled.
    var autoChurnDays: Int?
    /// The sandbox's "now": how long a subscription without any later line has been past due.
    var now: Int64

    /// MRR (account currency minor units) at instant `t`.
    func mrr(at t: Int64) -> Int64 {
      if let v = paidMRR(at: t) { return v }
      guard let since = pastDueSince(at: t), let held = paidMRR(at: since - 1), held != 0 else { return 0 }
      if cancellations.contains(where: { since <= $0 && $0 <= t }) { return 0 }
      if let days = autoChurnDays {
        // Churned once past due for `days` (up to the next line or now), dated at `since`.
        let next = segments.first(where: { $0.start > t })?.start ?? now
        if Swift.min(next, now) - since >= Int64(days) * 86_400 { return 0 }
      }
      return held
    }

    /// MRR of the lines covering `t` (nil when none does): the lines sharing the latest start count;
    /// a cancellation at or after that start — also at the very instant it starts — ends it.
    func paidMRR(at t: Int64) -> Int64? {
      var latest: Int64 = .min
      for s in segments where s.start <= t && t < s.end { latest = max(latest, s.start) }
      guard latest != .min else { return nil }
      if let c = cancellations.last(where: { $0 <= t }), latest <= c { return 0 }
      var sum: Int64 = 0
      for s in segments where s.start == latest && t < s.end { sum += s.mrr }
      return sum
    }

    /// End of the last line before `t` when no line covers `t` (the subscription is past due).
    func pastDueSince(at t: Int64) -> Int64? {
      guard !segments.contains(where: { $0.start <= t && t < $0.end }) else { return nil }
      return segments.filter { $0.end <= t }.map(\.end).max()
    }

    /// Past due at `t` and still counted (ChartMogul's customer status "Past Due").
    func isPastDue(at t: Int64) -> Bool { pastDueSince(at: t) != nil && mrr(at: t) > 0 }

    func quantity(at t: Int64) -> Int64 {
      segments.filter { $0.start <= t && t < $0.end }.max { $0.start < $1.start }?.quantity ?? 0
    }
  }

  struct CustomerSummary {
    var mrrNow: Int64
    var status: String
    var customerSince: Int64?
  }

  struct SubSummary {
    var mrrNow: Int64
    var quantity: Int64
    var start: Int64?
    var end: Int64?
  }

  var subs: [Sub] = []
  var subsByCustomer: [String: [Int]] = [:]
  var customers: [String: CustomerSummary] = [:]
  var subscriptions: [String: SubSummary] = [:]
  /// First instant each customer had MRR > 0.
  var firstPositive: [String: Int64] = [:]

  func customerMRR(_ customer: String, at t: Int64) -> Int64 {
    (subsByCustomer[customer] ?? []).reduce(0) { $0 + subs[$1].mrr(at: t) }
  }

  /// MRR of every customer with MRR > 0 at `t`.
  func snapshot(at t: Int64) -> [String: Int64] {
    var out: [String: Int64] = [:]
    for s in subs {
      let m = s.mrr(at: t)
      if m != 0 { out[s.customerUUID, default: 0] += m }
    }
    return out.filter { $0.value > 0 }
  }

  /// Converts a native minor-unit amount to account minor units.
  static func convert(_ native: Double, from currency: String, to account: String, rate: Double) -> Double {
    let expN = Currency(currency)?.exponent ?? 2
    let expA = Currency(account)?.exponent ?? 2
    return native * rate * pow(10, Double(expA - expN))
  }

  static func roundHalfAway(_ x: Double) -> Int64 { Int64((x < 0 ? -1 : 1) * (abs(x) + 0.5).rounded(.down)) }
}

extension SandboxEngine {
  /// Plan length in months (day plans count 30 days as a month).
  static func planMonths(_ p: SBPlan) -> Double {
    switch p.intervalUnit {
    case .month: return Double(p.intervalCount)
    case .year: return Double(12 * p.intervalCount)
    case .day: return Double(p.intervalCount) / 30
    }
  }

  /// MRR of one subscription line in account minor units (0 for lines that carry none).
  func lineMRR(_ li: SBLineItem, currency: String) -> Int64 {
    guard li.type == "subscription", let pu = li.planUUID, let pi = index.plan[pu], let s = li.servicePeriodStart,
      let e = li.servicePeriodEnd, let rate = fxRate(currency)
    else { return 0 }
    let plan = state.plans[pi]
    var native = Double(li.amountInCents - li.taxAmountInCents) / Self.planMonths(plan)
    if li.prorated && e > s {
      let full = Timestamp(seconds: s).adding(plan.intervalUnit, count: plan.intervalCount).seconds - s
      native *= Double(full) / Double(e - s)
    }
    return SandboxMRRModel.roundHalfAway(
      SandboxMRRModel.convert(native, from: currency, to: options.accountCurrency, rate: rate))
  }

  /// The model for the current state (cached until the next change).
  func mrrModel() -> SandboxMRRModel {
    if let m = metricsCache { return m }
    var model = SandboxMRRModel()
    let t = now()
    for sub in state.subscriptions {
      var segs: [SandboxMRRModel.Segment] = []
      var cancels = sub.cancellationDates
      for ref in sub.lineRefs {
        guard let ii = index.invoice[ref.invoiceUUID],
          let li = state.invoices[ii].lineItems.first(where: { $0.uuid == ref.lineUUID }),
          let s = li.servicePeriodStart, let e = li.servicePeriodEnd
        else { continue }
        if let x = li.cancelledAt { cancels.append(x) }
        guard li.type == "subscription" else { continue }
        segs.append(
          .init(start: s, end: e, mrr: lineMRR(li, currency: state.invoices[ii].currency), quantity: li.quantity))
      }
      segs.sort { $0.start < $1.start }
      let m = SandboxMRRModel.Sub(
        uuid: sub.uuid, customerUUID: sub.customerUUID, segments: segs, cancellations: Array(Set(cancels)).sorted(),
        autoChurnDays: options.autoChurnDays, now: t)
      model.subsByCustomer[sub.customerUUID, default: []].append(model.subs.count)
      model.subs.append(m)
      model.subscriptions[sub.uuid] = .init(
        mrrNow: m.mrr(at: t), quantity: m.quantity(at: t), start: segs.first?.start, end: segs.map(\.end).max())
      if let first = segs.first(where: { $0.mrr > 0 })?.start {
        model.firstPositive[sub.customerUUID] = min(model.firstPositive[sub.customerUUID] ?? .max, first)
      }
    }
    for c in state.customers {
      let mrr = model.customerMRR(c.uuid, at: t)
      let since = model.firstPositive[c.uuid].flatMap { $0 <= t ? $0 : nil }
      let pastDue = (model.subsByCustomer[c.uuid] ?? []).contains { model.subs[$0].isPastDue(at: t) }
      let status = mrr > 0 ? (pastDue ? "Past Due" : "Active") : (since != nil ? "Cancelled" : "New Lead")
      model.customers[c.uuid] = .init(mrrNow: mrr, status: status, customerSince: since)
    }
    metricsCache = model
    return model
  }
}

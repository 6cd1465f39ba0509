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
///   from c on, unless a line starting at or after c covers the instant (reactivation).
/// - Without cancellation and without renewal the subscription is active through the end of its
///   last service period and churns there (a gap between periods churns and reactivates).
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

    /// MRR (account currency minor units) at instant `t`.
    func mrr(at t: Int64) -> Int64 {
      var latest: Int64 = .min
      for s in segments where s.start <= t && t < s.end { latest = max(latest, s.start) }
      guard latest != .min else { return 0 }
      if let c = cancellations.last(where: { $0 <= t }), latest < c { return 0 }
      var sum: Int64 = 0
      for s in segments where s.start == latest && t < s.end { sum += s.mrr }
      return sum
    }

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
        segs.append(.init(start: s, end: e, mrr: lineMRR(li, currency: state.invoices[ii].currency), quantity: li.quantity))
      }
      segs.sort { $0.start < $1.start }
      let m = SandboxMRRModel.Sub(
        uuid: sub.uuid, customerUUID: sub.customerUUID, segments: segs, cancellations: Array(Set(cancels)).sorted())
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
      model.customers[c.uuid] = .init(
        mrrNow: mrr, status: mrr > 0 ? "Active" : (since != nil ? "Cancelled" : "New Lead"),
        customerSince: since)
    }
    metricsCache = model
    return model
  }
}

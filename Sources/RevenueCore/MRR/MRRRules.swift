/// ChartMogul's per-line MRR rules (docs/chartmogul.md "How ChartMogul computes MRR", "MRR computation rules").
///
/// `MRR = (amount_in_cents − tax_amount_in_cents) × subscription_duration_ratio × prorate_factor`, rounded
/// half away from zero to a whole minor unit. `amount_in_cents` is after discounts and includes tax;
/// transaction fees and discounts are not deducted again. One-time lines have no MRR (rule 4).
public enum MRRRules {
  /// Days in the "month" a daily plan is normalised to: a `day × n` plan has ratio 30/n.
  /// (ChartMogul does not publish its day factor; 30 keeps a 30-day plan equal to a monthly one.)
  public static let daysPerMonth: Int64 = 30

  /// The plan interval normalised to one month as a fraction `num/den`: month×n → 1/n,
  /// year×n → 1/(12n), day×n → 30/n.
  public static func durationRatio(unit: IntervalUnit, count: Int) -> (num: Int64, den: Int64) {
    let n = Int64(max(count, 1))
    switch unit {
    case .month: return (1, n)
    case .year: return (1, 12 * n)
    case .day: return (daysPerMonth, n)
    }
  }

  /// The MRR of one subscription line in the invoice currency's minor units; nil for one-time lines.
  ///
  /// Prorated lines (`prorated: true`, rule 3) are scaled by the full plan period starting at
  /// `service_period_start` over the line's actual service period (both in seconds).
  public static func lineMRR(_ line: LineItemRecord, plan: PlanRecord) -> Int64? {
    guard line.type == .subscription else { return nil }
    let net = line.amountInCents - line.taxAmountInCents
    let (num, den) = durationRatio(unit: plan.intervalUnit, count: plan.intervalCount)
    if line.prorated, let s = line.servicePeriodStart, let e = line.servicePeriodEnd, e > s {
      let full = s.adding(plan.intervalUnit, count: plan.intervalCount).seconds - s.seconds
      let actual = e.seconds - s.seconds
      let v = Double(net) * Double(num) * Double(full) / (Double(den) * Double(actual))
      return Int64(clamping: v.rounded(.toNearestOrAwayFromZero))
    }
    return roundedDivision(net * num, den)
  }

  /// `a / b` rounded half away from zero (b > 0).
  public static func roundedDivision(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    let r = a % b
    if r == 0 { return q }
    if 2 * r.magnitude >= b.magnitude { return a < 0 ? q - 1 : q + 1 }
    return q
  }
}

extension Int64 {
  init(clamping d: Double) {
    if d.isNaN {
      self = 0
    } else if d >= 9.2e18 {
      self = .max
    } else if d <= -9.2e18 {
      self = .min
    } else {
      self = Int64(d)
    }
  }
}

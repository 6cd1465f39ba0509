extension MRREngine {
  /// The MRR changes of one subscription, in its own currency: `(instant, value from then on)`.
  static func steps(of t: Timeline, mode: MRRMode) -> [(Int64, Int64)] {
    let segments = t.allSegments
    var points = Set<Int64>()
    for s in segments {
      points.insert(s.start)
      points.insert(s.end)
    }
    points.formUnion(t.cancellations)
    var value: Int64 = 0
    var out: [(Int64, Int64)] = []
    for p in points.sorted() {
      let v = MRREngine.value(of: segments, cancellations: t.cancellations, at: p, mode: mode)
      if v != value {
        out.append((p, v))
        value = v
      }
    }
    return out
  }

  /// Evaluates every subscription and aggregates per customer, per currency and in total.
  public func finish() -> MRRResult {
    var customerDeltas: [String: [Int64: Int64]] = [:]
    var currencyDeltas: [String: [Int64: Int64]] = [:]
    for (key, t) in timelines where t.lineCount > 0 {
      guard let currency = t.currency else { continue }
      var prev: Int64 = 0
      var prevConverted: Int64 = 0
      for (time, v) in MRREngine.steps(of: t, mode: mode) {
        currencyDeltas[currency, default: [:]][time, default: 0] += v - prev
        let converted = fx.convert(v, from: currency) ?? 0
        customerDeltas[key.customer, default: [:]][time, default: 0] += converted - prevConverted
        prev = v
        prevConverted = converted
      }
    }
    var customers: [String: StepFunction] = [:]
    var totalDeltas: [Int64: Int64] = [:]
    var countDeltas: [Int64: Int64] = [:]
    var movements: [YearMonth: MovementTotals] = [:]
    for (customer, deltas) in customerDeltas {
      let f = StepFunction(deltas: deltas)
      if f.isEmpty { continue }
      customers[customer] = f
      var before: Int64 = 0
      var everActive = false
      for (i, time) in f.times.enumerated() {
        let after = f.values[i]
        totalDeltas[time, default: 0] += max(after, 0) - max(before, 0)
        if let kind = MovementKind.classify(before: before, after: after, everActive: everActive) {
          let month = YearMonth(Timestamp(seconds: time))
          movements[month, default: MovementTotals()][kind] += after - before
          if kind == .newBusiness || kind == .reactivation { countDeltas[time, default: 0] += 1 }
          if kind == .churn { countDeltas[time, default: 0] -= 1 }
        }
        if after > 0 { everActive = true }
        before = after
      }
    }
    var byCurrency: [String: StepFunction] = [:]
    for (c, d) in currencyDeltas { byCurrency[c] = StepFunction(deltas: d) }
    return MRRResult(
      reportingCurrency: fx.reporting.code, total: StepFunction(deltas: totalDeltas),
      customerCount: StepFunction(deltas: countDeltas), byCurrency: byCurrency, customers: customers,
      movementsByMonth: movements, issues: issues, subscriptions: subscriptionCount, invoices: invoicesSeen,
      subscriptionLines: subscriptionLines, currenciesWithoutRate: currenciesWithoutRate)
  }
}

/// What the engine computed: step functions of MRR over time and movements per month.
public struct MRRResult: Sendable {
  public let reportingCurrency: String
  /// Total MRR in the reporting currency (minor units).
  public let total: StepFunction
  /// Customers with MRR > 0.
  public let customerCount: StepFunction
  /// MRR per original currency, in that currency's minor units.
  public let byCurrency: [String: StepFunction]
  /// MRR per customer external id, reporting currency.
  public let customers: [String: StepFunction]
  public let movementsByMonth: [YearMonth: MovementTotals]
  public let issues: MRREngine.Issues
  public let subscriptions: Int
  public let invoices: Int
  public let subscriptionLines: Int
  /// Currencies left out of reporting-currency figures because `validate.fx` has no rate for them.
  public let currenciesWithoutRate: [String]

  public func mrr(at t: Timestamp) -> Int64 { total.value(at: t) }

  /// Every customer's MRR at `t` (customers with MRR ≠ 0 only).
  public func customerMRR(at t: Timestamp) -> [String: Int64] {
    var out: [String: Int64] = [:]
    for (c, f) in customers {
      let v = f.value(at: t)
      if v != 0 { out[c] = v }
    }
    return out
  }

  /// First and last month in which any MRR changed (nil when there is no subscription MRR).
  public var monthsWithData: [YearMonth] {
    guard let a = total.firstInstant, let b = total.lastInstant else { return [] }
    return YearMonth.range(YearMonth(a), YearMonth(b))
  }

  public func monthly(_ months: [YearMonth]) -> [MonthlyMRR] {
    months.map { m in
      let t = m.endInstant
      var cur: [String: Int64] = [:]
      for (c, f) in byCurrency {
        let v = f.value(at: t)
        if v != 0 { cur[c] = v }
      }
      return MonthlyMRR(
        month: m, mrr: total.value(at: t), byCurrency: cur, customers: Int(customerCount.value(at: t)),
        movements: movementsByMonth[m] ?? MovementTotals())
    }
  }

  /// End-of-day figures for each UTC day from `from` to `to` inclusive.
  public func daily(from: Timestamp, to: Timestamp) -> [DailyMRR] {
    var out: [DailyMRR] = []
    var day = from.startOfDay
    while day <= to {
      let end = Timestamp(seconds: day.seconds + 86_399)
      var cur: [String: Int64] = [:]
      for (c, f) in byCurrency {
        let v = f.value(at: end)
        if v != 0 { cur[c] = v }
      }
      out.append(
        DailyMRR(
          date: day.dateString, mrr: total.value(at: end), byCurrency: cur,
          customers: Int(customerCount.value(at: end))))
      day = day.adding(days: 1)
    }
    return out
  }
}

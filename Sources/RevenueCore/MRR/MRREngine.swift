/// The local MRR engine: ChartMogul's MRR rules applied to transform output, without any I/O.
///
/// Feed it plans, then cancellations, then invoices, one record at a time (`add`), and call `finish()`.
/// Memory grows with subscriptions, not lines: each subscription keeps a step function of MRR changes
/// (`+mrr` at a line's service-period start, `−mrr` at its end), and the two points where one period
/// ends and an equally priced renewal starts cancel out and are dropped, so a subscription renewed
/// 36 times at one price holds two points.
///
/// Rules (reference/chartmogul-api.md §9, DESIGN.md §6), documented choices marked *choice*:
/// - Line MRR: `MRRRules.lineMRR` (net of tax, plan interval normalised to a month, one-time lines and
///   refunds excluded; transactions play no part — ChartMogul's MRR is invoice-based).
/// - A subscription's MRR at an instant is the sum of the MRR of its lines whose service period
///   `[start, end)` covers it (so differential prorated lines add up, as ChartMogul's do).
/// - *choice*: a gap between two periods of one subscription (a late renewal) keeps the previous MRR;
///   the subscription ends when its last service period ends without renewal, or at a cancellation.
/// - A cancellation (`cancelled_at`) sets the subscription's MRR to 0 from that instant; a line starting
///   at or after it reactivates the subscription. *choice*: lines that started before the cancellation
///   and still run after the reactivation count again from then on.
/// - Values are read at the end of a UTC day (`23:59:59`), the way ChartMogul's daily and month-end
///   entries include the day's events.
public struct MRREngine: Sendable {
  /// What the engine could not use, by reason (each is also a data problem worth reporting).
  public struct Issues: Sendable, Hashable {
    public var oneTimeLines = 0
    public var linesWithoutSubscription = 0
    public var linesWithoutPeriod = 0
    public var linesWithUnknownPlan = 0
    public var linesWithOtherCurrency = 0
    /// Cancellations that arrived after their subscription's lines were compacted (add cancellations first).
    public var lateCancellations = 0
    public init() {}

    public var json: JSONValue {
      [
        "one_time_lines": .int(oneTimeLines), "lines_without_subscription": .int(linesWithoutSubscription),
        "lines_without_period": .int(linesWithoutPeriod), "lines_with_unknown_plan": .int(linesWithUnknownPlan),
        "lines_with_other_currency": .int(linesWithOtherCurrency), "late_cancellations": .int(lateCancellations),
      ]
    }
  }

  struct SubscriptionKey: Hashable, Sendable {
    var customer: String
    var subscription: String
  }

  /// One subscription's accumulated lines and cancellations.
  struct Timeline: Sendable {
    var currency: String?
    /// Instant (seconds) → change of the covering sum of line MRR at that instant.
    var deltas: [Int64: Int64] = [:]
    var cancellations: [Int64] = []
    /// Line starts, tracked only once a cancellation is known (needed to find reactivations).
    var starts: Set<Int64>? = nil
    var firstStart = Int64.max
    var lastEnd = Int64.min
    var lineCount = 0

    mutating func addLine(start: Int64, end: Int64, mrr: Int64) {
      lineCount += 1
      firstStart = min(firstStart, start)
      lastEnd = max(lastEnd, end)
      bump(start, mrr)
      bump(end, -mrr)
      starts?.insert(start)
    }

    private mutating func bump(_ t: Int64, _ d: Int64) {
      let v = (deltas[t] ?? 0) + d
      if v == 0 && starts == nil { deltas[t] = nil } else { deltas[t] = v }
    }
  }

  public let fx: FXTable
  public private(set) var issues = Issues()
  public private(set) var invoicesSeen = 0
  public private(set) var subscriptionLines = 0
  var plans: [String: PlanRecord] = [:]
  var timelines: [SubscriptionKey: Timeline] = [:]

  public init(fx: FXTable) { self.fx = fx }

  public mutating func add(_ plan: PlanRecord) { plans[plan.externalID] = plan }

  /// Registers a cancellation. Add cancellations before invoices so reactivations are exact.
  public mutating func add(_ c: CancellationRecord) {
    let key = SubscriptionKey(customer: c.customerExternalID, subscription: c.subscriptionExternalID)
    var t = timelines[key] ?? Timeline()
    if t.starts == nil {
      if t.lineCount > 0 {
        issues.lateCancellations += 1
        t.starts = Set(t.deltas.filter { $0.value > 0 }.map(\.key))
      } else {
        t.starts = []
      }
    }
    let at = c.cancelledAt.seconds
    if !t.cancellations.contains(at) {
      t.cancellations.append(at)
      t.cancellations.sort()
    }
    timelines[key] = t
  }

  public mutating func add(_ invoice: InvoiceRecord) {
    invoicesSeen += 1
    let currency = invoice.currency.uppercased()
    for line in invoice.lineItems {
      guard line.type == .subscription else {
        issues.oneTimeLines += 1
        continue
      }
      guard let sub = line.subscriptionExternalID, !sub.isEmpty else {
        issues.linesWithoutSubscription += 1
        continue
      }
      guard let s = line.servicePeriodStart, let e = line.servicePeriodEnd, e > s else {
        issues.linesWithoutPeriod += 1
        continue
      }
      guard let planID = line.planExternalID, let plan = plans[planID], let mrr = MRRRules.lineMRR(line, plan: plan)
      else {
        issues.linesWithUnknownPlan += 1
        continue
      }
      let key = SubscriptionKey(customer: invoice.customerExternalID, subscription: sub)
      var t = timelines[key] ?? Timeline()
      if let c = t.currency, c != currency {
        issues.linesWithOtherCurrency += 1
        continue
      }
      t.currency = currency
      t.addLine(start: s.seconds, end: e.seconds, mrr: mrr)
      timelines[key] = t
      subscriptionLines += 1
    }
  }

  /// Step points held in memory over all subscriptions (grows with subscriptions and price changes).
  public var storedPoints: Int { timelines.values.reduce(0) { $0 + $1.deltas.count + $1.cancellations.count } }

  public var subscriptionCount: Int { timelines.values.filter { $0.lineCount > 0 }.count }

  /// Currencies seen on subscription lines that the FX table cannot convert.
  public var currenciesWithoutRate: [String] {
    Set(timelines.values.compactMap(\.currency)).filter { fx.convert(1, from: $0) == nil }.sorted()
  }
}

/// A calendar month in UTC.
public struct YearMonth: Sendable, Hashable, Comparable, CustomStringConvertible {
  public var year: Int
  public var month: Int
  public init(year: Int, month: Int) {
    self.year = year
    self.month = month
  }
  public init(_ t: Timestamp) {
    let c = t.components
    self.init(year: c.year, month: c.month)
  }
  public static func < (a: YearMonth, b: YearMonth) -> Bool { (a.year, a.month) < (b.year, b.month) }
  public var next: YearMonth { month == 12 ? YearMonth(year: year + 1, month: 1) : YearMonth(year: year, month: month + 1) }
  /// `2026-03`.
  public var description: String { "\(year)-\(month < 10 ? "0" : "")\(month)" }
  public var firstInstant: Timestamp { Timestamp.utc(year, month, 1)! }
  /// `23:59:59` of the last day: where month-end figures are read.
  public var endInstant: Timestamp { Timestamp(seconds: next.firstInstant.seconds - 1) }
  /// `2026-03-31` (ChartMogul's month entry `date`).
  public var lastDay: String { endInstant.dateString }
  /// Months from `a` to `b` inclusive.
  public static func range(_ a: YearMonth, _ b: YearMonth) -> [YearMonth] {
    var out: [YearMonth] = []
    var m = a
    while m <= b {
      out.append(m)
      m = m.next
    }
    return out
  }
}

/// The local MRR engine: ChartMogul's MRR rules applied to transform output, without any I/O.
///
/// Feed it plans, then cancellations, then invoices, one record at a time (`add`), and call `finish()`.
/// Memory grows with subscriptions, not lines: while a subscription's service periods do not overlap
/// it keeps a step function of MRR changes (`+mrr` at a period start, `−mrr` at its end), where the
/// point at which one period ends and an equally priced renewal starts cancels out and is dropped —
/// a subscription renewed 36 times at one price holds two points. Only a subscription whose periods
/// overlap (a mid-period plan change) keeps its lines individually.
///
/// Rules (docs/chartmogul.md "How ChartMogul computes MRR", docs/gateways "Identity across sources"), documented choices marked *choice*:
/// - Line MRR: `MRRRules.lineMRR` (net of tax, plan interval normalised to a month, one-time lines and
///   refunds excluded; transactions play no part — ChartMogul's MRR is invoice-based).
/// - A line counts on `[service_period_start, service_period_end)`. *choice*: when lines of one
///   subscription overlap, the lines with the latest start win (a newer line — upgrade, downgrade,
///   renewal — supersedes an older overlapping one); lines sharing that start add up.
/// - `mode` (`MRRMode`) decides a subscription no period covers any more: the business truth
///   (default) churns it at the end of its last service period, a gap churns and the next period
///   reactivates it; ChartMogul's mode keeps it past due with its last MRR until a cancellation.
/// - A cancellation (`cancelled_at`) sets the subscription's MRR to 0 from that instant; a line starting
///   after it reactivates the subscription. *choice*: a cancellation at the instant a line starts wins
///   (a subscription created and cancelled in one second never counts).
/// - Values are read at the end of a UTC day (`23:59:59`), the way ChartMogul's daily and month-end
///   entries include the day's events. Customers with MRR ≤ 0 count as inactive.
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

  /// One line's (or a merged run of equal lines') contribution.
  struct Segment: Sendable, Hashable {
    var start: Int64
    var end: Int64
    var mrr: Int64
  }

  /// One subscription's accumulated lines and cancellations.
  struct Timeline: Sendable {
    struct Change: Sendable, Hashable {
      var mrr: Int64 = 0
      var count: Int32 = 0
    }
    var currency: String?
    /// Compact form (no overlapping periods): instant → change of MRR and of covering line count.
    var changes: [Int64: Change] = [:]
    /// Detailed form, once periods overlap: every line.
    var segments: [Segment]? = nil
    var cancellations: [Int64] = []
    /// Once a cancellation is known, renewal points are kept (they can be reactivations).
    var keepPoints = false
    var lineCount = 0

    mutating func addLine(start: Int64, end: Int64, mrr: Int64) {
      lineCount += 1
      if segments != nil {
        segments!.append(Segment(start: start, end: end, mrr: mrr))
        return
      }
      if overlapsCoverage(start, end) {
        segments = compactSegments() + [Segment(start: start, end: end, mrr: mrr)]
        changes = [:]
        return
      }
      bump(start, Change(mrr: mrr, count: 1))
      bump(end, Change(mrr: -mrr, count: -1))
    }

    private mutating func bump(_ t: Int64, _ d: Change) {
      var c = changes[t] ?? Change()
      c.mrr += d.mrr
      c.count += d.count
      if c == Change() && !keepPoints { changes[t] = nil } else { changes[t] = c }
    }

    /// Does `[start, end)` intersect a period already recorded?
    func overlapsCoverage(_ start: Int64, _ end: Int64) -> Bool {
      var count: Int32 = 0
      let keys = changes.keys.sorted()
      for (i, k) in keys.enumerated() {
        count += changes[k]!.count
        let next = i + 1 < keys.count ? keys[i + 1] : Int64.max
        if count > 0 && k < end && next > start { return true }
      }
      return false
    }

    /// The compact step function as segments between consecutive change points.
    func compactSegments() -> [Segment] {
      var out: [Segment] = []
      var count: Int32 = 0
      var mrr: Int64 = 0
      let keys = changes.keys.sorted()
      for (i, k) in keys.enumerated() {
        count += changes[k]!.count
        mrr += changes[k]!.mrr
        if count > 0, i + 1 < keys.count { out.append(Segment(start: k, end: keys[i + 1], mrr: mrr)) }
      }
      return out
    }

    var allSegments: [Segment] { segments ?? compactSegments() }
    var pointCount: Int { (segments?.count ?? changes.count) + cancellations.count }
  }

  public let fx: FXTable
  public let mode: MRRMode
  public private(set) var issues = Issues()
  public private(set) var invoicesSeen = 0
  public private(set) var subscriptionLines = 0
  var plans: [String: PlanRecord] = [:]
  var timelines: [SubscriptionKey: Timeline] = [:]

  public init(fx: FXTable, mode: MRRMode = .businessTruth) {
    self.fx = fx
    self.mode = mode
  }

  public mutating func add(_ plan: PlanRecord) { plans[plan.externalID] = plan }

  /// Registers a cancellation. Add cancellations before invoices so reactivations are exact.
  public mutating func add(_ c: CancellationRecord) {
    let key = SubscriptionKey(customer: c.customerExternalID, subscription: c.subscriptionExternalID)
    var t = timelines[key] ?? Timeline()
    if !t.keepPoints {
      // Renewal points already compacted away cannot be restored: count it (add cancellations first).
      if t.lineCount > 0 && t.segments == nil { issues.lateCancellations += 1 }
      t.keepPoints = true
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
  public var storedPoints: Int { timelines.values.reduce(0) { $0 + $1.pointCount } }

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
  public var next: YearMonth {
    month == 12 ? YearMonth(year: year + 1, month: 1) : YearMonth(year: year, month: month + 1)
  }
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

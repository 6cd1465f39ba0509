import Foundation
import RevenueCore

/// One interval's figures (account currency minor units; rates in percent).
struct MetricPoint {
  var date: String
  var mrr: Int64 = 0
  var newBusiness: Int64 = 0
  var expansion: Int64 = 0
  var contraction: Int64 = 0
  var churn: Int64 = 0
  var reactivation: Int64 = 0
  var customers = 0
  var previousMRR: Int64 = 0
  var previousCustomers = 0
  var churnedCustomers = 0
  var newCustomers = 0

  var arr: Int64 { mrr * 12 }
  var arpa: Int64 { customers > 0 ? SandboxMRRModel.roundHalfAway(Double(mrr) / Double(customers)) : 0 }
  /// Average MRR of the customers won in the interval.
  var asp: Int64 { newCustomers > 0 ? SandboxMRRModel.roundHalfAway(Double(newBusiness) / Double(newCustomers)) : 0 }
  var customerChurnRate: Double {
    previousCustomers > 0 ? MetricPoint.round2(Double(churnedCustomers) * 100 / Double(previousCustomers)) : 0
  }
  /// Net MRR churn: (churn + contraction − expansion − reactivation) / MRR at the interval start.
  var mrrChurnRate: Double {
    previousMRR > 0
      ? MetricPoint.round2(Double(-churn - contraction - expansion - reactivation) * 100 / Double(previousMRR)) : 0
  }
  /// ARPA / monthly customer churn rate.
  var ltv: Int64 { customerChurnRate > 0 ? SandboxMRRModel.roundHalfAway(Double(arpa) * 100 / customerChurnRate) : 0 }

  static func round2(_ x: Double) -> Double { (x * 100).rounded() / 100 }
  static func change(_ cur: Double, _ prev: Double) -> Double { prev != 0 ? round2((cur - prev) * 100 / prev) : 0 }
}

extension SandboxEngine {
  static let metricNames = [
    "all", "mrr", "arr", "arpa", "asp", "customer-count", "customer-churn-rate", "mrr-churn-rate", "ltv",
  ]

  /// `GET /v1/metrics/{metric}?start-date=&end-date=&interval=` (reference §9).
  func metrics(_ metric: String, _ req: WireRequest) throws(ResponseError) -> WireResponse {
    guard Self.metricNames.contains(metric) else { return Self.code(404, "No such metric: \(metric)", param: nil) }
    for unsupported in ["geo", "plans", "filters"] where req.queryValue(unsupported) != nil {
      return Self.code(400, "The sandbox does not support the \(unsupported) parameter", param: unsupported)
    }
    func date(_ name: String) throws(ResponseError) -> Timestamp {
      guard let text = req.queryValue(name) else {
        throw ResponseError(Self.code(400, "\(name) is required (YYYY-MM-DD)", param: name))
      }
      guard text.count == 10, let t = Timestamp.parse(text) else {
        throw ResponseError(Self.code(400, "\(name) must be a date YYYY-MM-DD, got '\(text)'", param: name))
      }
      return t
    }
    let start = try date("start-date")
    let end = try date("end-date")
    guard end >= start else { return Self.code(400, "end-date must not be before start-date", param: "end-date") }
    let interval = req.queryValue("interval") ?? "month"
    guard ["day", "week", "month", "quarter", "year"].contains(interval) else {
      return Self.code(400, "interval must be day, week, month, quarter or year", param: "interval")
    }
    let points = computePoints(start: start, end: end, interval: interval)
    if points.count > 5000 { return Self.code(400, "Too many intervals requested", param: "interval") }
    return Self.json(200, metricsBody(metric, points))
  }

  /// Interval boundaries: (start of the first interval, [last day of each interval]).
  static func intervalEnds(start: Timestamp, end: Timestamp, interval: String) -> (Timestamp, [Timestamp]) {
    let c = start.components
    var first: Timestamp
    switch interval {
    case "day": first = start.startOfDay
    case "week": first = start.startOfDay.adding(days: -((Int(start.seconds / 86400) + 3) % 7))  // Monday
    case "month": first = Timestamp.utc(c.year, c.month, 1)!
    case "quarter": first = Timestamp.utc(c.year, (c.month - 1) / 3 * 3 + 1, 1)!
    default: first = Timestamp.utc(c.year, 1, 1)!
    }
    var ends: [Timestamp] = []
    var cursor = first
    while cursor <= end && ends.count <= 5000 {
      let next: Timestamp
      switch interval {
      case "day": next = cursor.adding(days: 1)
      case "week": next = cursor.adding(days: 7)
      case "month": next = cursor.adding(months: 1)
      case "quarter": next = cursor.adding(months: 3)
      default: next = cursor.adding(months: 12)
      }
      let lastDay = next.adding(days: -1)
      ends.append(lastDay > end ? end : lastDay)
      cursor = next
    }
    return (first, ends)
  }

  func computePoints(start: Timestamp, end: Timestamp, interval: String) -> [MetricPoint] {
    let model = mrrModel()
    let (first, ends) = Self.intervalEnds(start: start, end: end, interval: interval)
    var prevInstant = first.seconds - 1
    var prev = model.snapshot(at: prevInstant)
    var points: [MetricPoint] = []
    for day in ends {
      let t = day.startOfDay.seconds + 86399
      let cur = model.snapshot(at: t)
      var p = MetricPoint(date: day.dateString)
      p.mrr = cur.values.reduce(0, +)
      p.customers = cur.count
      p.previousMRR = prev.values.reduce(0, +)
      p.previousCustomers = prev.count
      for (cust, q) in cur {
        let before = prev[cust] ?? 0
        if before == 0 {
          if let f = model.firstPositive[cust], f <= prevInstant {
            p.reactivation += q
          } else {
            p.newBusiness += q
            p.newCustomers += 1
          }
        } else if q > before {
          p.expansion += q - before
        } else if q < before {
          p.contraction += q - before
        }
      }
      for (cust, before) in prev where cur[cust] == nil {
        p.churn -= before
        p.churnedCustomers += 1
      }
      points.append(p)
      prev = cur
      prevInstant = t
    }
    return points
  }

  func metricsBody(_ metric: String, _ points: [MetricPoint]) -> JSONValue {
    func num(_ d: Double) -> JSONValue { .number(String(format: "%.2f", d)) }
    let keyed: [(String, (MetricPoint) -> Double, Bool)] = [
      ("mrr", { Double($0.mrr) }, true), ("arr", { Double($0.arr) }, true),
      ("customer-churn-rate", { $0.customerChurnRate }, false), ("mrr-churn-rate", { $0.mrrChurnRate }, false),
      ("ltv", { Double($0.ltv) }, true), ("customers", { Double($0.customers) }, true),
      ("asp", { Double($0.asp) }, true), ("arpa", { Double($0.arpa) }, true),
    ]
    let wanted: [String]
    switch metric {
    case "all": wanted = keyed.map(\.0)
    case "customer-count": wanted = ["customers"]
    default: wanted = [metric]
    }
    var entries: [JSONValue] = []
    var prevPoint: MetricPoint?
    for p in points {
      var o = JSONObject(["date": .string(p.date)])
      for (k, f, integral) in keyed where wanted.contains(k) {
        o[k] = integral ? .int(Int64(f(p))) : num(f(p))
        let base = prevPoint.map(f) ?? (k == "mrr" ? Double(p.previousMRR) : 0)
        o[wanted.count == 1 ? "percentage-change" : "\(k)-percentage-change"] = num(MetricPoint.change(f(p), base))
      }
      if metric == "mrr" {
        o["mrr-new-business"] = .int(p.newBusiness)
        o["mrr-expansion"] = .int(p.expansion)
        o["mrr-contraction"] = .int(p.contraction)
        o["mrr-churn"] = .int(p.churn)
        o["mrr-reactivation"] = .int(p.reactivation)
      }
      entries.append(.object(o))
      prevPoint = p
    }
    // Summary: the last interval against the first one.
    var summary = JSONObject()
    if let last = points.last, let firstPoint = points.first {
      for (k, f, integral) in keyed where wanted.contains(k) {
        let cur: JSONValue = integral ? .int(Int64(f(last))) : num(f(last))
        let prev: JSONValue = integral ? .int(Int64(f(firstPoint))) : num(f(firstPoint))
        if wanted.count == 1 {
          summary["current"] = cur
          summary["previous"] = prev
          summary["percentage-change"] = num(MetricPoint.change(f(last), f(firstPoint)))
        } else {
          summary["current-\(k)"] = cur
          summary["previous-\(k)"] = prev
          summary["\(k)-percentage-change"] = num(MetricPoint.change(f(last), f(firstPoint)))
        }
      }
    }
    return .object(JSONObject(["entries": .array(entries), "summary": .object(summary)]))
  }
}

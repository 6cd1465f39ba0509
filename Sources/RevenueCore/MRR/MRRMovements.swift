/// ChartMogul's MRR movement kinds (docs/chartmogul.md "How ChartMogul computes MRR", `/v1/metrics/mrr` entry fields).
///
/// Movements are classified per customer, at each change of the customer's total MRR:
/// 0 → >0 is new business the first time and reactivation afterwards, >0 → 0 is churn, and a change
/// between two positive values is expansion or contraction. Amounts are signed (churn and
/// contraction negative), in the reporting currency's minor units.
public enum MovementKind: String, Sendable, Hashable, CaseIterable {
  case newBusiness = "new_business"
  case expansion
  case contraction
  case churn
  case reactivation

  /// ChartMogul's `/v1/metrics/mrr` entry key.
  public var metricKey: String {
    switch self {
    case .newBusiness: return "mrr-new-business"
    case .expansion: return "mrr-expansion"
    case .contraction: return "mrr-contraction"
    case .churn: return "mrr-churn"
    case .reactivation: return "mrr-reactivation"
    }
  }

  /// Classifies one change of a customer's MRR from `before` to `after`.
  public static func classify(before: Int64, after: Int64, everActive: Bool) -> MovementKind? {
    let wasActive = before > 0
    let isActive = after > 0
    switch (wasActive, isActive) {
    case (false, true): return everActive ? .reactivation : .newBusiness
    case (true, false): return .churn
    case (true, true): return after > before ? .expansion : (after < before ? .contraction : nil)
    case (false, false): return nil
    }
  }
}

/// Sums of movements in one period, signed.
public struct MovementTotals: Sendable, Hashable {
  public var amounts: [MovementKind: Int64] = [:]
  public init() {}

  public subscript(kind: MovementKind) -> Int64 {
    get { amounts[kind] ?? 0 }
    set { amounts[kind] = newValue }
  }

  /// The net change these movements explain.
  public var net: Int64 { amounts.values.reduce(0, +) }

  public var json: JSONValue {
    var o = JSONObject()
    for k in MovementKind.allCases { o[k.rawValue] = .int(self[k]) }
    return .object(o)
  }
}

/// The figures of one month end.
public struct MonthlyMRR: Sendable, Hashable {
  public var month: YearMonth
  /// Total MRR at `month.endInstant`, reporting currency minor units.
  public var mrr: Int64
  /// MRR per original currency (minor units of that currency), currencies with MRR only.
  public var byCurrency: [String: Int64]
  /// Customers with MRR > 0 at the month end.
  public var customers: Int
  /// Movements whose change happened during the month.
  public var movements: MovementTotals

  public var json: JSONValue {
    var cur = JSONObject()
    for (k, v) in byCurrency.sorted(by: { $0.key < $1.key }) { cur[k] = .int(v) }
    return [
      "month": .string(month.description), "date": .string(month.lastDay), "mrr": .int(mrr),
      "by_currency": .object(cur), "customers": .int(customers), "movements": movements.json,
    ]
  }
}

/// One day's end-of-day figures.
public struct DailyMRR: Sendable, Hashable {
  public var date: String
  public var mrr: Int64
  public var byCurrency: [String: Int64]
  public var customers: Int
}

/// A piecewise-constant function of time: `(instant, value from that instant on)`, sorted by instant.
public struct StepFunction: Sendable, Hashable {
  public private(set) var times: [Int64] = []
  public private(set) var values: [Int64] = []
  public init() {}

  /// Builds the function from changes (instant → delta), summed in time order.
  public init(deltas: [Int64: Int64]) {
    var v: Int64 = 0
    for t in deltas.keys.sorted() {
      let d = deltas[t]!
      if d == 0 { continue }
      v += d
      times.append(t)
      values.append(v)
    }
  }

  /// Appends a step; instants must increase.
  public mutating func append(_ t: Int64, _ v: Int64) {
    if let last = times.last, last == t {
      values[values.count - 1] = v
    } else {
      times.append(t)
      values.append(v)
    }
  }

  /// The value after every step at or before `t` (0 before the first step).
  public func value(at t: Timestamp) -> Int64 {
    var lo = 0
    var hi = times.count
    while lo < hi {
      let mid = (lo + hi) / 2
      if times[mid] <= t.seconds { lo = mid + 1 } else { hi = mid }
    }
    return lo == 0 ? 0 : values[lo - 1]
  }

  public var isEmpty: Bool { times.isEmpty }
  public var firstInstant: Timestamp? { times.first.map { Timestamp(seconds: $0) } }
  public var lastInstant: Timestamp? { times.last.map { Timestamp(seconds: $0) } }
}

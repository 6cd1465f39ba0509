import RevenueCore

/// One `plan_mapping` entry: a gateway plan/price id becomes this ChartMogul plan.
public struct PlanSpec: Sendable, Hashable {
  public var name: String
  public var currency: String
  public var intervalUnit: IntervalUnit
  public var intervalCount: Int

  public init(name: String, currency: String, intervalUnit: IntervalUnit, intervalCount: Int) {
    self.name = name
    self.currency = currency.uppercased()
    self.intervalUnit = intervalUnit
    self.intervalCount = intervalCount
  }

  /// The ChartMogul plan this spec stands for (`<name>_<currency>_<count><unit>`; ChartMogul plans: https://dev.chartmogul.com/reference/create-a-plan).
  public var plan: PlanRecord {
    PlanRecord(name: name, intervalCount: intervalCount, intervalUnit: intervalUnit, currency: currency)
  }

  /// Builds a spec from a gateway interval word (`week` becomes 7 days × count).
  public static func interval(_ word: String, count: Int) -> (IntervalUnit, Int)? {
    let w = word.lowercased()
    if w == "week" || w == "weekly" || w == "weeks" { return (.day, 7 * count) }
    guard let u = IntervalUnit(loose: w) else { return nil }
    return (u, count)
  }
}

import RevenueCore

/// The `transform:` section of a pipeline file.
///
/// ```yaml
/// transform:
///   plan_mapping:                 # gateway plan/price id → ChartMogul plan (required for subscriptions)
///     price_growth_usd: { name: Growth, currency: USD, interval: month, interval_count: 1 }
///     plan_growth_egp_yearly: { name: Growth, currency: EGP, interval: year }   # interval_count defaults to 1
///   unmapped_plans: reject        # reject (default) | pass_through (plan derived from the gateway's own interval)
///   merge_customers_by_email: true  # users sharing an e-mail become one customer under the oldest (default true)
///   churn_recognition: period_end # period_end (default: end of the last paid period) | cancel_date
///   test_emails: ["*@example.test", "qa+*@acme.io"]   # customers whose e-mail matches are test data (skipped)
///   reject_amount_above: 1000000000000   # minor units; larger amounts are rejected (default Money.absurdLimit)
///   sort_chunk_records: 200000    # invoice fragments sorted in memory per chunk (bounds memory; default 200000)
///   lapse_after_days: 30          # cancel subscriptions unpaid this long after their last period (~ = off; `Lapse`)
///   include_test_data: false      # true: load test-mode records (rehearsals); needs destination.chartmogul.allow_test_data
/// ```
/// `interval` is `day`, `week` (= 7 days), `month` or `year`; `interval_count` ≥ 1 (quarterly = month × 3).
public struct TransformConfig: Sendable {
  public enum UnmappedPlans: String, Sendable {
    case reject
    case passThrough = "pass_through"
  }
  /// See `Cancellations.swift` (the one place the choice is made).
  public typealias ChurnRecognition = TransformRules.ChurnRecognition

  public static let allowedKeys = [
    "plan_mapping", "unmapped_plans", "merge_customers_by_email", "churn_recognition", "test_emails",
    "reject_amount_above", "sort_chunk_records", "lapse_after_days", "include_test_data",
  ]
  package static let planKeys = ["name", "currency", "interval", "interval_count"]

  public var planMapping: [String: PlanSpec]
  public var unmappedPlans: UnmappedPlans
  public var mergeCustomersByEmail: Bool
  public var churnRecognition: ChurnRecognition
  public var testEmailPatterns: [String]
  public var rejectAmountAbove: Int64
  public var sortChunkRecords: Int
  /// Days after the end of a subscription's last paid period before transform cancels it as lapsed
  /// (nil: never; see `Lapse`).
  public var lapseAfterDays: Int?
  /// Test-mode records (Stripe `livemode: false`/`Mode=Test`, Cashier `mode=test`, PayPal sandbox
  /// pipelines) are read like live ones; see `TestMode` for the guard.
  public var includeTestData = false

  public init(
    planMapping: [String: PlanSpec] = [:], unmappedPlans: UnmappedPlans = .reject, mergeCustomersByEmail: Bool = true,
    churnRecognition: ChurnRecognition = .default, testEmailPatterns: [String] = [],
    rejectAmountAbove: Int64 = Money.absurdLimit, sortChunkRecords: Int = 200_000, lapseAfterDays: Int? = 30
  ) {
    self.planMapping = planMapping
    self.unmappedPlans = unmappedPlans
    self.mergeCustomersByEmail = mergeCustomersByEmail
    self.churnRecognition = churnRecognition
    self.testEmailPatterns = testEmailPatterns.map { $0.lowercased() }
    self.rejectAmountAbove = rejectAmountAbove
    self.sortChunkRecords = sortChunkRecords
    self.lapseAfterDays = lapseAfterDays
  }

  /// Parses the `transform:` section; every error names the file, line and key.
  public init(pipeline: PipelineFile) throws(ConfigError) {
    self.init()
    guard let t = try pipeline.section("transform", allowed: TransformConfig.allowedKeys) else {
      try TestMode.checkSources(pipeline, includeTestData: false)
      return
    }
    if let pm = try t.mapping("plan_mapping", allowed: nil) {
      for (id, node) in pm.entries {
        let m = try node.mapping(allowed: TransformConfig.planKeys)
        let name = try m.requiredString("name").trimmingASCIIWhitespace()
        let cur = try m.requiredString("currency")
        guard let currency = Currency(cur) else {
          throw m.child("currency")!.error("'\(cur)' is not an ISO 4217 currency this project knows")
        }
        let word = try m.requiredString("interval")
        let count = try m.int("interval_count", default: 1, range: 1...1000)
        guard let (unit, n) = PlanSpec.interval(word, count: count) else {
          throw m.child("interval")!.error("'\(word)' is not day, week, month or year")
        }
        planMapping[id] = PlanSpec(name: name, currency: currency.code, intervalUnit: unit, intervalCount: n)
      }
    }
    let u = try t.choice("unmapped_plans", ["reject", "pass_through"], default: "reject")
    unmappedPlans = UnmappedPlans(rawValue: u)!
    mergeCustomersByEmail = try t.bool("merge_customers_by_email", default: true)
    let c = try t.choice(
      "churn_recognition", ChurnRecognition.allCases.map(\.rawValue), default: ChurnRecognition.default.rawValue)
    churnRecognition = ChurnRecognition(rawValue: c)!
    testEmailPatterns = try t.stringList("test_emails").map { $0.trimmingASCIIWhitespace().lowercased() }
    if let n = t.child("reject_amount_above") {
      let s = try n.scalar().trimmingASCIIWhitespace()
      guard let v = Int64(s), v > 0 else { throw n.error("'\(s)' is not a positive whole number of minor units") }
      rejectAmountAbove = v
    }
    sortChunkRecords = try t.int("sort_chunk_records", default: 200_000, range: 1_000...10_000_000)
    // Present as `~` (null): switched off; absent: 30 days.
    let lapseKeyPresent = t.entries.contains { $0.0 == "lapse_after_days" }
    lapseAfterDays = try t.optionalInt("lapse_after_days", range: 1...3650) ?? (lapseKeyPresent ? nil : 30)
    includeTestData = try t.bool("include_test_data", default: false)
    if includeTestData { try TestMode.checkDestination(pipeline, at: t.child("include_test_data")) }
    try TestMode.checkSources(pipeline, includeTestData: includeTestData)
  }

  /// Is `email` (already normalised) a test address per `test_emails`? Patterns use `*` as a wildcard.
  public func isTestEmail(_ email: String?) -> Bool {
    guard let email, !testEmailPatterns.isEmpty else { return false }
    return testEmailPatterns.contains { Glob.matches($0, email) }
  }
}

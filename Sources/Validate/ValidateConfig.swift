import Foundation
import RevenueCore

/// The `validate:`, `monitoring:` and `alerts:` sections of a pipeline file (this module owns them).
///
/// ```yaml
/// validate:
///   enabled: true                 # `run` validates after load (default true)
///   mrr_variance_threshold: 1%    # 0.01 or "1%": a month above it fails validation (exit 1) and alerts
///   reporting_currency: USD       # ChartMogul account currency; local MRR is converted into it
///   fx: { EGP: 0.0205, EUR: 1.08 }  # reporting units per unit of each other currency
///   months: 12                    # compare the last N complete months (default: all with data)
///   drill_down: 10                # customers listed when MRR differs
/// monitoring:
///   thresholds: { success_rate_min: 0.99, failed_backlog_max: 1000, mrr_variance_max: 0.02,
///                 api_errors_per_hour_max: 10, rate_limited_share_max: …, p95_response_ms_max: …,
///                 customer_duplication_rate_max: …, missing_attribute_rate_max: …, duration_max_s: … }
/// alerts:
///   webhook_url: ${ALERT_WEBHOOK_URL:-}   # Slack-compatible incoming webhook; empty = no alerts
/// ```
public struct ValidateConfig: Sendable {
  public static let validateKeys = [
    "enabled", "mrr_variance_threshold", "reporting_currency", "fx", "months", "drill_down",
  ]
  public static let monitoringKeys = ["thresholds"]
  public static let alertKeys = ["webhook_url"]

  public var enabled: Bool
  /// Fraction (0.01 = 1 %).
  public var varianceThreshold: Double
  public var fx: FXTable
  public var months: Int?
  public var drillDown: Int
  public var thresholds: MonitoringThresholds
  /// The alert webhook; nil when not configured. Treated as a secret (webhook URLs carry a token).
  public var webhookURL: Secret?

  public init(
    enabled: Bool = true, varianceThreshold: Double = 0.01,
    fx: FXTable = FXTable(reporting: Currency("USD")!, rates: [:]),
    months: Int? = nil, drillDown: Int = 10, thresholds: MonitoringThresholds = MonitoringThresholds(),
    webhookURL: Secret? = nil
  ) {
    self.enabled = enabled
    self.varianceThreshold = varianceThreshold
    self.fx = fx
    self.months = months
    self.drillDown = drillDown
    self.thresholds = thresholds
    self.webhookURL = webhookURL
  }
}

/// Limits the monitoring figures are checked against. The first four are the original integration's
/// thresholds; the others are off unless the pipeline file sets them.
public struct MonitoringThresholds: Sendable, Hashable {
  public static let keys = [
    "success_rate_min", "failed_backlog_max", "mrr_variance_max", "api_errors_per_hour_max",
    "rate_limited_share_max", "p95_response_ms_max", "customer_duplication_rate_max",
    "missing_attribute_rate_max", "duration_max_s",
  ]
  public var successRateMin: Double? = 0.99
  public var failedBacklogMax: Double? = 1000
  public var mrrVarianceMax: Double? = 0.02
  public var apiErrorsPerHourMax: Double? = 10
  public var rateLimitedShareMax: Double? = nil
  public var p95ResponseMsMax: Double? = nil
  public var customerDuplicationRateMax: Double? = nil
  public var missingAttributeRateMax: Double? = nil
  public var durationMaxSeconds: Double? = nil
  public init() {}

  /// `(figure key, limit, is a minimum)` for every threshold that is set.
  public var rules: [(figure: String, limit: Double, isMinimum: Bool)] {
    var out: [(String, Double, Bool)] = []
    if let v = successRateMin { out.append(("sync_success_rate", v, true)) }
    if let v = failedBacklogMax { out.append(("failed_backlog", v, false)) }
    if let v = mrrVarianceMax { out.append(("mrr_variance", v, false)) }
    if let v = apiErrorsPerHourMax { out.append(("api_errors_per_hour", v, false)) }
    if let v = rateLimitedShareMax { out.append(("rate_limited_share", v, false)) }
    if let v = p95ResponseMsMax { out.append(("p95_response_ms", v, false)) }
    if let v = customerDuplicationRateMax { out.append(("customer_duplication_rate", v, false)) }
    if let v = missingAttributeRateMax { out.append(("missing_attribute_rate", v, false)) }
    if let v = durationMaxSeconds { out.append(("duration_s", v, false)) }
    return out.map { (figure: $0.0, limit: $0.1, isMinimum: $0.2) }
  }

  /// Reads `monitoring.thresholds`; a key given as `null` switches that check off.
  public static func parse(_ m: ConfigMapping?) throws(ConfigError) -> MonitoringThresholds {
    var t = MonitoringThresholds()
    guard let m else { return t }
    func read(_ key: String, _ current: Double?) throws(ConfigError) -> Double? {
      if let entry = m.entries.first(where: { $0.0 == key }), entry.1.isNull { return nil }
      guard m.has(key) else { return current }
      return try m.double(key, default: 0, range: 0...1e12)
    }
    t.successRateMin = try read("success_rate_min", t.successRateMin)
    t.failedBacklogMax = try read("failed_backlog_max", t.failedBacklogMax)
    t.mrrVarianceMax = try read("mrr_variance_max", t.mrrVarianceMax)
    t.apiErrorsPerHourMax = try read("api_errors_per_hour_max", t.apiErrorsPerHourMax)
    t.rateLimitedShareMax = try read("rate_limited_share_max", t.rateLimitedShareMax)
    t.p95ResponseMsMax = try read("p95_response_ms_max", t.p95ResponseMsMax)
    t.customerDuplicationRateMax = try read("customer_duplication_rate_max", t.customerDuplicationRateMax)
    t.missingAttributeRateMax = try read("missing_attribute_rate_max", t.missingAttributeRateMax)
    t.durationMaxSeconds = try read("duration_max_s", t.durationMaxSeconds)
    return t
  }

  public var json: JSONValue {
    var o = JSONObject()
    for r in rules { o[r.figure + (r.isMinimum ? "_min" : "_max")] = .number(JSONNumber.format(r.limit)) }
    return .object(o)
  }
}

/// Where ChartMogul is: the three `destination.chartmogul` keys validation needs, read tolerantly
/// (the Load module owns that section's full key list).
public struct ChartMogulTarget: Sendable {
  public var apiURL: String
  public var apiKey: Secret
  public var dataSourceUUID: String?

  public init(apiURL: String, apiKey: Secret, dataSourceUUID: String?) {
    self.apiURL = apiURL
    self.apiKey = apiKey
    self.dataSourceUUID = dataSourceUUID
  }

  public static func from(_ pipeline: PipelineFile) throws -> ChartMogulTarget {
    guard let dest = try pipeline.section("destination", allowed: nil),
      let cm = try dest.mapping("chartmogul", allowed: nil)
    else {
      throw ConfigError(
        file: pipeline.path, line: nil, key: "destination.chartmogul",
        message: "is required to validate (api_key, api_url, data_source_uuid)")
    }
    let key = try cm.requiredSecret("api_key")
    let url = try cm.string("api_url") ?? "https://api.chartmogul.com"
    guard URL(string: url)?.host != nil else {
      throw cm.child("api_url")!.error("'\(Redactor.shared.redact(url))' is not an http(s) URL")
    }
    let ds = try cm.string("data_source_uuid")
    return ChartMogulTarget(apiURL: url, apiKey: key, dataSourceUUID: ds?.isEmpty == true ? nil : ds)
  }
}

/// Short decimal text for ratios and figures in JSON (`0.01`, `1000`).
enum JSONNumber {
  static func format(_ d: Double) -> String {
    if d.isNaN || d.isInfinite { return "0" }
    if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
    var s = String(format: "%.6f", d)
    while s.hasSuffix("0") { s.removeLast() }
    if s.hasSuffix(".") { s.removeLast() }
    return s
  }
  static func value(_ d: Double?) -> JSONValue { d.map { .number(format($0)) } ?? .null }
}

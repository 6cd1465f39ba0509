import Foundation
import RevenueCore
import Staging

extension ValidateConfig: PipelineSection {
  /// Reads `validate:`, `monitoring:` and `alerts:` (unknown keys are errors naming file and line).
  /// Without an `alerts` section, `ALERT_WEBHOOK_URL` from the environment is used.
  public static func parse(_ pipeline: PipelineFile, environment: Environment) throws -> ValidateConfig {
    var cfg = ValidateConfig()
    if let v = try pipeline.section("validate", allowed: ValidateConfig.validateKeys) {
      cfg.enabled = try v.bool("enabled", default: true)
      cfg.varianceThreshold = try v.double("mrr_variance_threshold", default: 0.01, range: 0...1)
      let code = try v.string("reporting_currency") ?? "USD"
      guard let reporting = Currency(code) else {
        throw v.child("reporting_currency")!.error("'\(code)' is not an ISO 4217 currency code")
      }
      var rates: [String: Double] = [:]
      if let fx = try v.mapping("fx", allowed: nil) {
        for (k, node) in fx.entries {
          guard Currency(k) != nil else { throw node.error("'\(k)' is not an ISO 4217 currency code") }
          rates[k.uppercased()] = try fx.double(k, default: 0, range: 1e-12...1e9)
        }
      }
      cfg.fx = FXTable(reporting: reporting, rates: rates)
      cfg.months = try v.optionalInt("months", range: 1...1200)
      cfg.drillDown = try v.int("drill_down", default: 10, range: 0...10_000)
    }
    if let m = try pipeline.section("monitoring", allowed: ValidateConfig.monitoringKeys) {
      cfg.thresholds = try MonitoringThresholds.parse(try m.mapping("thresholds", allowed: MonitoringThresholds.keys))
    }
    if let a = try pipeline.section("alerts", allowed: ValidateConfig.alertKeys) {
      cfg.webhookURL = try a.secret("webhook_url")
    } else if let env = environment["ALERT_WEBHOOK_URL"], !env.isEmpty {
      cfg.webhookURL = Secret(env)
    }
    if let w = cfg.webhookURL, URL(string: w.value)?.host == nil {
      throw ConfigError(
        file: pipeline.path, line: nil, key: "alerts.webhook_url", message: "is not an http(s) URL")
    }
    return cfg
  }
}

extension ChartMogulTarget: PipelineSection {
  /// `destination.chartmogul`'s three keys validation needs (the environment is already expanded).
  public static func parse(_ pipeline: PipelineFile, environment: Environment) throws -> ChartMogulTarget {
    try from(pipeline)
  }
}

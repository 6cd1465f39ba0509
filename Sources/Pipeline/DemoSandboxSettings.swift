import Foundation
import RevenueCore

/// `destination.sandbox` of a pipeline file: the in-process ChartMogul stand-in the demo uses.
///
/// Only the settings live here; the Pipeline module does not link the Sandbox. The CLI starts the
/// sandbox from these settings and hands the session a `ChartMogulStandIn` (its URL, key and data
/// source), which the session points `CHARTMOGUL_API_URL`, `CHARTMOGUL_API_KEY` and
/// `CHARTMOGUL_DATA_SOURCE_ID` at.
public struct DemoSandboxSettings: Sendable, Hashable {
  public static let keys = [
    "enabled", "port", "api_key", "data_source_uuid", "state_file", "fx", "account_currency", "auto_churn_days",
  ]

  public var port: Int
  public var apiKey: String
  public var dataSourceUUID: String
  /// The data source's name as the sandbox lists it.
  public var dataSourceName: String
  /// Where the sandbox keeps its state between runs (its folder is created); nil = memory only.
  public var stateFile: String?
  /// Exchange rates the sandbox converts MRR with, by upper-case currency code.
  public var fx: [String: Double]
  public var accountCurrency: String
  /// Cancel subscriptions past due or missing a renewal for this many days (1…90); nil keeps them
  /// in MRR until cancelled, as ChartMogul does by default.
  public var autoChurnDays: Int?

  /// The settings when `destination.sandbox` is present and enabled; nil otherwise. Unknown keys,
  /// wrong types and out-of-range values are `ConfigError`s naming file, line and key.
  public static func parse(_ pipeline: PipelineFile) throws -> DemoSandboxSettings? {
    guard let destination = try pipeline.section("destination", allowed: PipelineSession.destinationKeys),
      let config = try destination.mapping("sandbox", allowed: keys), try config.bool("enabled", default: true)
    else { return nil }
    var fx: [String: Double] = [:]
    if let fxMap = try config.mapping("fx", allowed: nil) {
      for key in fxMap.keys {
        fx[key.uppercased()] = try fxMap.double(key, default: 0, range: 0.000_000_1...1_000_000)
      }
    }
    return DemoSandboxSettings(
      port: try config.int("port", default: 0, range: 0...65535),
      apiKey: try config.string("api_key") ?? "sandbox-demo-key",
      dataSourceUUID: try config.string("data_source_uuid") ?? "ds_sandbox-demo-0000-0000-000000000001",
      dataSourceName: "chartmogul-etl \(pipeline.name)",
      stateFile: try config.string("state_file"), fx: fx,
      accountCurrency: try config.string("account_currency") ?? "USD",
      autoChurnDays: try config.optionalInt("auto_churn_days", range: 1...90))
  }
}

/// A running ChartMogul-compatible server the pipeline should talk to instead of the real API (the
/// demo sandbox, started by the CLI). The session stops it on `close()`.
public protocol ChartMogulStandIn: Sendable {
  var baseURL: String { get }
  var apiKey: String { get }
  var dataSourceUUID: String { get }
  func stop() async
}

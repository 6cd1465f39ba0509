import Foundation
import Logging
import RevenueCore
import Staging
import Transport

/// How load authenticates: an API key (Basic auth, key as user name, empty password —
/// docs/chartmogul.md "Authentication and base URL") or the legacy account token + secret key pair (Basic user/password).
public enum ChartMogulCredentials: Sendable, CustomStringConvertible {
  case apiKey(Secret)
  case legacy(accountToken: Secret, secretKey: Secret)

  /// The `Authorization` header value. Registered with the redactor so it never reaches a log.
  var authorizationHeader: String {
    let pair: String
    switch self {
    case .apiKey(let k): pair = "\(k.value):"
    case .legacy(let t, let s): pair = "\(t.value):\(s.value)"
    }
    let encoded = Data(pair.utf8).base64EncodedString()
    _ = Secret(encoded)
    return "Basic \(encoded)"
  }

  public var description: String {
    switch self {
    case .apiKey: return "api_key [redacted]"
    case .legacy: return "account_token + secret_key [redacted] (deprecated)"
    }
  }
}

/// Settings of `destination.chartmogul` (README "Load settings"). Every key is optional except the
/// credentials and the data source; defaults follow ChartMogul's limits (§10: 40 req/s, 20 connections).
public struct LoadConfig: PipelineSection {
  /// Keys allowed under `destination.chartmogul`; anything else is a configuration error.
  public static let allowedKeys = [
    "api_key", "account_token", "secret_key", "api_url", "data_source_uuid", "requests_per_second",
    "max_connections", "customers_per_batch", "max_batch_bytes", "max_imports_in_flight", "max_attempts",
    "sync_enabled", "write_back", "write_back_url", "poll_interval_seconds", "poll_max_interval_seconds",
    "import_timeout_seconds", "request_timeout_seconds", "max_request_attempts", "max_retry_seconds",
    "retry_base_delay_seconds", "retry_max_delay_seconds", "allow_test_data",
  ]
  /// ChartMogul's bulk payload limit is 5 MB; we stay under it with room for the envelope.
  public static let bulkPayloadLimit = 5_000_000

  public var apiURL: URL
  public var credentials: ChartMogulCredentials
  public var dataSourceUUID: String
  public var requestsPerSecond: Double
  public var maxConnections: Int
  public var customersPerBatch: Int
  public var maxBatchBytes: Int
  public var maxImportsInFlight: Int
  /// `retry` re-sends a failed record while it has had fewer attempts than this.
  public var maxAttempts: Int
  public var syncEnabled: Bool
  /// Postgres URL for the write-back (nil: no write-back).
  public var writeBackURL: Secret?
  public var pollIntervalSeconds: Double
  public var pollMaxIntervalSeconds: Double
  public var importTimeoutSeconds: Double
  public var requestTimeoutSeconds: Double
  public var retryPolicy: RetryPolicy
  /// `allow_test_data: true`: this data source is a test one, so a transform that included
  /// test-mode records (`transform.include_test_data`) may be loaded into it (README "Test-mode rehearsals").
  public var allowTestData = false
  /// True when the deprecated token + secret pair was used (the stage logs a warning).
  public var usesLegacyCredentials: Bool {
    if case .legacy = credentials { return true }
    return false
  }

  public init(
    apiURL: URL, credentials: ChartMogulCredentials, dataSourceUUID: String, requestsPerSecond: Double = 20,
    maxConnections: Int = 8, customersPerBatch: Int = 500, maxBatchBytes: Int = 4_500_000, maxImportsInFlight: Int = 4,
    maxAttempts: Int = 3, syncEnabled: Bool = true, writeBackURL: Secret? = nil, pollIntervalSeconds: Double = 1,
    pollMaxIntervalSeconds: Double = 15, importTimeoutSeconds: Double = 3600, requestTimeoutSeconds: Double = 60,
    retryPolicy: RetryPolicy = RetryPolicy()
  ) {
    self.apiURL = apiURL
    self.credentials = credentials
    self.dataSourceUUID = dataSourceUUID
    self.requestsPerSecond = requestsPerSecond
    self.maxConnections = maxConnections
    self.customersPerBatch = customersPerBatch
    self.maxBatchBytes = maxBatchBytes
    self.maxImportsInFlight = maxImportsInFlight
    self.maxAttempts = maxAttempts
    self.syncEnabled = syncEnabled
    self.writeBackURL = writeBackURL
    self.pollIntervalSeconds = pollIntervalSeconds
    self.pollMaxIntervalSeconds = pollMaxIntervalSeconds
    self.importTimeoutSeconds = importTimeoutSeconds
    self.requestTimeoutSeconds = requestTimeoutSeconds
    self.retryPolicy = retryPolicy
  }

  /// Reads and checks `destination.chartmogul` of a pipeline file.
  public static func parse(_ pipeline: PipelineFile, environment: Environment) throws -> LoadConfig {
    guard let dest = try pipeline.section("destination", allowed: nil),
      let cm = try dest.mapping("chartmogul", allowed: allowedKeys)
    else {
      throw ConfigError(
        file: pipeline.path, line: nil, key: "destination.chartmogul",
        message: "is required for load: give api_key (${CHARTMOGUL_API_KEY}) and data_source_uuid")
    }
    let file = pipeline.path
    func envError(_ key: String, _ variable: String, _ what: String) -> ConfigError {
      ConfigError(
        file: file, line: cm.node.line, key: "destination.chartmogul.\(key)",
        message: "is not set and the environment variable \(variable) is missing: \(what)", missingEnvironment: true)
    }

    // Credentials: api_key, else the legacy pair, else CHARTMOGUL_API_KEY.
    let credentials: ChartMogulCredentials
    if let key = try cm.secret("api_key") {
      credentials = .apiKey(key)
    } else if let token = try cm.secret("account_token") {
      guard let secret = try cm.secret("secret_key") else {
        throw ConfigError(
          file: file, line: cm.node.line, key: "destination.chartmogul.secret_key",
          message: "is required with account_token (better: replace both with api_key)")
      }
      credentials = .legacy(accountToken: token, secretKey: secret)
    } else if let v = environment["CHARTMOGUL_API_KEY"], !v.isEmpty {
      credentials = .apiKey(Secret(v))
    } else {
      throw envError("api_key", "CHARTMOGUL_API_KEY", "set CHARTMOGUL_API_KEY to your ChartMogul API key")
    }

    let urlText = try cm.string("api_url") ?? "https://api.chartmogul.com"
    guard let url = URL(string: urlText.hasSuffix("/") ? String(urlText.dropLast()) : urlText),
      let scheme = url.scheme, scheme == "https" || scheme == "http", url.host != nil
    else {
      throw cm.child("api_url")?.error("'\(Redactor.shared.redact(urlText))' is not an http(s) URL")
        ?? envError("api_url", "CHARTMOGUL_API_URL", "give an http(s) URL")
    }

    let ds: String
    if let v = try cm.string("data_source_uuid"), !v.isEmpty {
      ds = v
    } else if let v = environment["CHARTMOGUL_DATA_SOURCE_ID"], !v.isEmpty {
      ds = v
    } else {
      throw envError(
        "data_source_uuid", "CHARTMOGUL_DATA_SOURCE_ID",
        "set CHARTMOGUL_DATA_SOURCE_ID to the uuid (ds_…) of your custom ChartMogul data source")
    }

    let syncDefault: Bool
    if let v = environment["CHARTMOGUL_SYNC_ENABLED"]?.lowercased(), !v.isEmpty {
      switch v {
      case "true", "yes", "on", "1": syncDefault = true
      case "false", "no", "off", "0": syncDefault = false
      default:
        throw ConfigError(
          file: file, line: nil, key: "CHARTMOGUL_SYNC_ENABLED", message: "'\(v)' is not true or false")
      }
    } else {
      syncDefault = true
    }

    var writeBack: Secret? = nil
    if try cm.bool("write_back", default: true) {
      if let u = try cm.secret("write_back_url") {
        writeBack = u
      } else if let sources = try pipeline.root.mapping("sources", allowed: nil),
        let pg = try sources.mapping("postgres", allowed: nil)
      {
        writeBack = try pg.secret("url")
      }
    }

    let policy = RetryPolicy(
      maxAttempts: try cm.int("max_request_attempts", default: 8, range: 1...50),
      baseDelay: try cm.double("retry_base_delay_seconds", default: 0.5, range: 0...60),
      maxDelay: try cm.double("retry_max_delay_seconds", default: 60, range: 0...600),
      maxTotalSeconds: try cm.double("max_retry_seconds", default: 300, range: 0...7200))

    var config = LoadConfig(
      apiURL: url, credentials: credentials, dataSourceUUID: ds,
      requestsPerSecond: try cm.double("requests_per_second", default: 20, range: 0.1...40),
      maxConnections: try cm.int("max_connections", default: 8, range: 1...20),
      customersPerBatch: try cm.int("customers_per_batch", default: 500, range: 1...1000),
      maxBatchBytes: try cm.int("max_batch_bytes", default: 4_500_000, range: 10_000...bulkPayloadLimit),
      maxImportsInFlight: try cm.int("max_imports_in_flight", default: 4, range: 1...20),
      maxAttempts: try cm.int("max_attempts", default: 3, range: 1...100),
      syncEnabled: try cm.bool("sync_enabled", default: syncDefault),
      writeBackURL: writeBack,
      pollIntervalSeconds: try cm.double("poll_interval_seconds", default: 1, range: 0.001...600),
      pollMaxIntervalSeconds: try cm.double("poll_max_interval_seconds", default: 15, range: 0.001...3600),
      importTimeoutSeconds: try cm.double("import_timeout_seconds", default: 3600, range: 0.1...86400),
      requestTimeoutSeconds: try cm.double("request_timeout_seconds", default: 60, range: 0.1...600),
      retryPolicy: policy)
    config.allowTestData = try cm.bool("allow_test_data", default: false)
    return config
  }
}

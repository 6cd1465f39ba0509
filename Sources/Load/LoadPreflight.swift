import Foundation
import Logging
import RevenueCore
import Transport

/// The ChartMogul half of the preflight (`check`, and the start of run/load/validate): two read-only
/// requests, made before anything is staged or sent.
///
/// - `GET /v1/ping` answers `{"data":"pong!"}` with a valid key, 401 otherwise
///   (https://dev.chartmogul.com/reference/authentication).
/// - `GET /v1/data_sources/{uuid}` finds the configured custom data source
///   (https://dev.chartmogul.com/reference/retrieve-data-source).
public enum LoadPreflight {
  public static func probe(_ config: LoadConfig, transport: any HTTPTransport = URLSessionTransport(), logger: Logger)
    async throws -> String
  {
    var quick = config
    quick.retryPolicy = RetryPolicy(maxAttempts: 8, baseDelay: 0.25, maxDelay: 2, maxTotalSeconds: 20)
    quick.requestTimeoutSeconds = min(config.requestTimeoutSeconds, 15)
    let client = ChartMogulClient(config: quick, transport: transport, logger: logger)
    let ping = try await client.send("GET", "/v1/ping")
    switch ping.status {
    case 200..<300: break
    case 401, 403:
      throw LoadConfigurationError(
        "ChartMogul at \(client.base) refused the API key (GET /v1/ping → HTTP \(ping.status)): check CHARTMOGUL_API_KEY (destination.chartmogul.api_key)"
      )
    default:
      throw client.error(ping, "GET", "/v1/ping")
    }
    try await client.verifyDataSource(config.dataSourceUUID)
    return "ChartMogul at \(client.base): key accepted (GET /v1/ping), data source \(config.dataSourceUUID) exists"
  }
}

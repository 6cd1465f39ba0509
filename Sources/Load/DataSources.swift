import Foundation
import Logging
import RevenueCore
import Transport

/// ChartMogul's data-sources API, for `chartmogul-etl datasource create|list`: the custom (Import
/// API) source this tool feeds is made once and its uuid goes into `CHARTMOGUL_DATA_SOURCE_ID`.
/// `POST /v1/data_sources {"name"}` (https://dev.chartmogul.com/reference/create-data-source) and
/// `GET /v1/data_sources` (https://dev.chartmogul.com/reference/list-data-sources).
public struct DataSources: Sendable {
  public struct Entry: Sendable, Equatable {
    public var uuid: String
    public var name: String
    public var system: String?
    public var status: String?
  }

  let client: ChartMogulClient

  public init(apiURL: URL, apiKey: Secret, transport: any HTTPTransport = URLSessionTransport(), logger: Logger) {
    let config = LoadConfig(
      apiURL: apiURL, credentials: .apiKey(apiKey), dataSourceUUID: "",
      retryPolicy: RetryPolicy(maxAttempts: 5, baseDelay: 0.25, maxDelay: 4, maxTotalSeconds: 30))
    client = ChartMogulClient(config: config, transport: transport, logger: logger)
  }

  public func create(name: String) async throws -> Entry {
    let r = try await client.send("POST", "/v1/data_sources", body: ["name": .string(name)])
    try refuseCredentials(r)
    guard r.isSuccess, let json = r.json, let e = Self.entry(json) else {
      throw client.error(r, "POST", "/v1/data_sources")
    }
    return e
  }

  public func list() async throws -> [Entry] {
    let r = try await client.send("GET", "/v1/data_sources")
    try refuseCredentials(r)
    guard r.isSuccess, let items = r.json?["data_sources"]?.arrayValue else {
      throw client.error(r, "GET", "/v1/data_sources")
    }
    return items.compactMap(Self.entry)
  }

  func refuseCredentials(_ r: APIResponse) throws {
    if r.status == 401 || r.status == 403 {
      throw LoadConfigurationError(
        "ChartMogul at \(client.base) refused the API key (HTTP \(r.status)): check CHARTMOGUL_API_KEY (it needs write access to create a data source)"
      )
    }
  }

  static func entry(_ v: JSONValue) -> Entry? {
    guard let uuid = v["uuid"]?.stringValue, let name = v["name"]?.stringValue else { return nil }
    return Entry(uuid: uuid, name: name, system: v["system"]?.stringValue, status: v["status"]?.stringValue)
  }
}

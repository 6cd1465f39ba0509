import Foundation
import RevenueCore
import Sandbox

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// A running ChartMogul sandbox on 127.0.0.1 (free port) with one data source, for tests of the
/// loader, the validator and the pipeline. Call `stop()` at the end of the test.
///
///     let sb = try await SandboxHarness.start()
///     // point the pipeline's destination at sb.baseURL / sb.apiKey / sb.dataSourceUUID
///     let snap = await sb.snapshot()
public struct SandboxHarness: Sendable {
  public let server: SandboxServer
  public let baseURL: String
  public let apiKey: String
  public let dataSourceUUID: String
  public let client: SandboxTestClient

  /// Starts a sandbox; `options.dataSources` is replaced by one data source called `dataSource`.
  public static func start(
    dataSource: String = "ETL test source", options: SandboxOptions = SandboxOptions()
  ) async throws -> SandboxHarness {
    var o = options
    let uuid = "ds_" + UUID().uuidString.lowercased()
    if !o.dataSources.contains(where: { $0.name == dataSource }) { o.dataSources.append((dataSource, uuid)) }
    if o.apiKey == nil { o.apiKey = "test_key_" + UUID().uuidString.prefix(8).lowercased() }
    let server = try await SandboxServer.start(o)
    let ds = await server.dataSourceUUID(named: dataSource) ?? uuid
    return SandboxHarness(
      server: server, baseURL: server.baseURL, apiKey: server.apiKey, dataSourceUUID: ds,
      client: SandboxTestClient(baseURL: server.baseURL, apiKey: server.apiKey))
  }

  public func stop() async {
    client.invalidate()
    await server.stop()
  }

  /// Deterministic state dump (see `SandboxServer.stateSnapshot`).
  public func snapshot() async -> JSONValue { await server.stateSnapshot() }

  public func requestCount() async -> Int { await server.requestCount() }

  /// Waits until every json_import has completed (polls; fails after `timeout` seconds).
  public func waitForImports(timeout: Double = 10) async throws {
    let deadline = Date().addingTimeInterval(timeout)
    while await server.pendingImports() > 0 {
      if Date() > deadline { throw SandboxHarnessError("json_imports still pending after \(timeout) s") }
      try await Task.sleep(nanoseconds: 20_000_000)
    }
  }
}

public struct SandboxHarnessError: Error, CustomStringConvertible {
  public var description: String
  public init(_ d: String) { description = d }
}

/// A plain URLSession client over loopback for tests: JSON in, status + parsed JSON out.
public final class SandboxTestClient: Sendable {
  public let baseURL: String
  public let apiKey: String
  let session: URLSession

  public init(baseURL: String, apiKey: String, maxConnections: Int = 8) {
    self.baseURL = baseURL
    self.apiKey = apiKey
    let config = URLSessionConfiguration.ephemeral
    config.httpMaximumConnectionsPerHost = maxConnections
    config.requestCachePolicy = .reloadIgnoringLocalCacheData
    config.timeoutIntervalForRequest = 30
    session = URLSession(configuration: config)
  }

  public struct Reply: Sendable {
    public var status: Int
    public var body: [UInt8]
    public var headers: [String: String]
    public var json: JSONValue? { body.isEmpty ? nil : try? JSONParser.parse(body) }
    public var text: String { String(decoding: body, as: UTF8.self) }
  }

  /// Sends `method path` with an optional JSON body; `key` overrides the API key (`.some(nil)` =
  /// no Authorization header); `authorization` replaces the header entirely.
  public func send(
    _ method: String, _ path: String, json: JSONValue? = nil, rawBody: [UInt8]? = nil, key: String?? = .none,
    authorization: String? = nil
  ) async throws -> Reply {
    guard let url = URL(string: baseURL + path) else { throw SandboxHarnessError("bad path \(path)") }
    var req = URLRequest(url: url)
    req.httpMethod = method
    let k: String? = key ?? apiKey
    if let k { req.setValue("Basic " + Data("\(k):".utf8).base64EncodedString(), forHTTPHeaderField: "Authorization") }
    if let authorization { req.setValue(authorization, forHTTPHeaderField: "Authorization") }
    if let json { req.httpBody = Data(JSONWriter.bytes(json)) }
    if let rawBody { req.httpBody = Data(rawBody) }
    if req.httpBody != nil { req.setValue("application/json", forHTTPHeaderField: "Content-Type") }
    let (data, response) = try await session.data(for: req)
    guard let http = response as? HTTPURLResponse else { throw SandboxHarnessError("not an HTTP response") }
    var headers: [String: String] = [:]
    for (k, v) in http.allHeaderFields { headers[String(describing: k).lowercased()] = String(describing: v) }
    return Reply(status: http.statusCode, body: Array(data), headers: headers)
  }

  public func get(_ path: String) async throws -> Reply { try await send("GET", path) }
  public func post(_ path: String, _ json: JSONValue) async throws -> Reply { try await send("POST", path, json: json) }

  public func invalidate() { session.invalidateAndCancel() }
}

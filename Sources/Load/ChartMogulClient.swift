import Foundation
import Logging
import RevenueCore
import Transport

/// A ChartMogul answer: status, parsed body and the request id ChartMogul support asks for.
struct APIResponse: Sendable {
  var status: Int
  var json: JSONValue?
  var requestID: String?
  var rawBody: String
  var isSuccess: Bool { (200..<300).contains(status) }
}

/// A refused or failed ChartMogul request, decoded from any of the error shapes ChartMogul uses
/// (docs/chartmogul.md "Identity and idempotency"), keeping the raw body (redacted, shortened) and `X-Request-Id`.
public struct ChartMogulError: Error, Sendable, CustomStringConvertible {
  /// HTTP status, nil when no response came back (network errors after all retries).
  public var status: Int?
  public var message: String
  public var requestID: String?
  public var rawBody: String?
  public var request: String
  /// Retries ran out on a 429/5xx/network error: worth another run (`retry`), not a data problem.
  public var isTransient: Bool

  /// ChartMogul's duplicate markers (§10): the object already exists under this external id.
  public var isDuplicate: Bool {
    ChartMogulError.isDuplicateText(message) || ChartMogulError.isDuplicateText(rawBody ?? "")
  }

  static func isDuplicateText(_ s: String) -> Bool {
    let l = s.lowercased()
    return l.contains("already exists in our system") || l.contains("has already been taken")
      || l.contains("already exists")
  }

  public var description: String {
    var s = request
    if let status { s += " → HTTP \(status)" }
    s += ": \(message)"
    if let requestID { s += " (X-Request-Id \(requestID))" }
    return Redactor.shared.redact(s)
  }

  /// Ledger form: message, status, request id and the raw body.
  var ledgerFields: JSONObject {
    var o = JSONObject()
    o["error"] = .string(Redactor.shared.redact(message))
    o.set("http_status", status.map { .int($0) })
    o.set("request_id", .optional(requestID))
    o.set("response", rawBody.map { .string(Redactor.shared.redact($0)) })
    return o
  }

  /// Turns an error body into one readable message, trying each known shape in turn.
  static func message(from body: [UInt8], status: Int) -> String {
    let text = String(decoding: body, as: UTF8.self)
    guard let json = try? JSONParser.parse(body), let o = json.objectValue else {
      let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
      return t.isEmpty ? "HTTP \(status) with an empty body" : String(t.prefix(300))
    }
    var parts: [String] = []
    func flatten(_ v: JSONValue) -> String {
      switch v {
      case .string(let s): return s
      case .array(let a): return a.map(flatten).joined(separator: ", ")
      case .object(let o): return o.map { "\($0.key): \(flatten($0.value))" }.joined(separator: "; ")
      default: return v.scalarText ?? JSONWriter.string(v)
      }
    }
    // {"errors":{field: msg}}
    if let errs = o["errors"] {
      let f = flatten(errs)
      if !f.isEmpty { parts.append(f) }
    }
    // {"invoices":[{"errors":{…}}]}
    if let invs = o["invoices"]?.arrayValue {
      for inv in invs {
        if let e = inv["errors"], let eo = e.objectValue, !eo.fields.isEmpty {
          let id = inv["external_id"]?.stringValue.map { "invoice \($0): " } ?? ""
          parts.append(id + flatten(e))
        }
      }
    }
    // {"error":"…"} and {"message":"…","param":…,"code":…}
    if let e = o["error"]?.stringValue { parts.append(e) }
    if let m = o["message"]?.stringValue {
      var s = m
      if let p = o["param"]?.stringValue { s += " (param \(p))" }
      parts.append(s)
    }
    // error_details: [{"param","code","message"}]
    if let details = o["error_details"]?.arrayValue {
      for d in details {
        let m = d["message"]?.stringValue ?? flatten(d)
        let p = d["param"]?.stringValue.map { "\($0): " } ?? ""
        if !parts.contains(where: { $0.contains(m) }) { parts.append(p + m) }
      }
    }
    // {"field":["msg"], …} (newer style without a wrapper)
    if parts.isEmpty {
      for f in o where f.key != "code" && f.key != "param" {
        if let a = f.value.arrayValue { parts.append("\(f.key): \(a.map(flatten).joined(separator: ", "))") }
      }
    }
    if parts.isEmpty { return String(text.prefix(300)) }
    return parts.joined(separator: "; ")
  }
}

/// Configuration-level failures of load (bad key, missing data source): exit code 2 material.
public struct LoadConfigurationError: ConfigurationProblem, Sendable, CustomStringConvertible {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { Redactor.shared.redact(message) }
}

/// A thin ChartMogul client over `HTTPClient`: Basic auth with the API key as user name, JSON bodies
/// with ChartMogul's own snake_case names, bounded retries on 429/5xx (HTTPClient), base URL from the
/// pipeline so tests point it at the sandbox.
final class ChartMogulClient: Sendable {
  let http: HTTPClient
  let base: String
  let authorization: String
  let timeout: Double
  let logger: Logger

  init(config: LoadConfig, transport: any HTTPTransport, logger: Logger) {
    http = HTTPClient(
      transport: TimeoutTransport(base: transport, seconds: config.requestTimeoutSeconds), policy: config.retryPolicy,
      requestsPerSecond: min(config.requestsPerSecond, 40),
      maxConcurrent: min(config.maxConnections, 20), logger: logger)
    var b = config.apiURL.absoluteString
    while b.hasSuffix("/") { b.removeLast() }
    base = b
    authorization = config.credentials.authorizationHeader
    timeout = config.requestTimeoutSeconds
    self.logger = logger
  }

  /// `/v1/customers` + query, percent-encoded.
  static func pathWithQuery(_ path: String, _ query: [(String, String)]) -> String {
    guard !query.isEmpty else { return path }
    return path + "?" + query.map { "\(percentEncode($0.0))=\(percentEncode($0.1))" }.joined(separator: "&")
  }

  static func percentEncode(_ s: String) -> String {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~")
    return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
  }

  /// One path segment (external ids may contain `/` or `:`).
  static func segment(_ s: String) -> String { percentEncode(s) }

  /// Sends a request; transport failures after all retries become a transient `ChartMogulError`.
  func send(_ method: String, _ path: String, query: [(String, String)] = [], body: JSONValue? = nil) async throws
    -> APIResponse
  {
    let full = ChartMogulClient.pathWithQuery(path, query)
    guard let url = URL(string: base + full) else {
      throw ChartMogulError(
        status: nil, message: "cannot build a URL for \(path)", requestID: nil, rawBody: nil,
        request: "\(method) \(path)", isTransient: false)
    }
    var headers: [(String, String)] = [
      ("Authorization", authorization), ("Accept", "application/json"), ("User-Agent", "chartmogul-etl/1.0"),
    ]
    var bytes: [UInt8]? = nil
    if let body {
      bytes = JSONWriter.bytes(body)
      headers.append(("Content-Type", "application/json"))
    }
    let req = HTTPRequest(method: method, url: url, headers: headers, body: bytes, timeout: timeout)
    do {
      let r = try await http.send(req)
      let raw = String(decoding: r.body.prefix(4000), as: UTF8.self)
      return APIResponse(status: r.status, json: r.json, requestID: r.header("x-request-id"), rawBody: raw)
    } catch let e as HTTPRetryExhausted {
      throw ChartMogulError(
        status: e.lastStatus, message: Redactor.shared.redact(e.unavailableSummary), requestID: nil,
        rawBody: e.lastBody,
        request: "\(method) \(path)", isTransient: true)
    }
  }

  /// Like `send`, but a non-2xx answer is thrown as a decoded `ChartMogulError`.
  func expectSuccess(_ method: String, _ path: String, query: [(String, String)] = [], body: JSONValue? = nil)
    async throws -> APIResponse
  {
    let r = try await send(method, path, query: query, body: body)
    guard r.isSuccess else { throw error(r, method, path) }
    return r
  }

  func error(_ r: APIResponse, _ method: String, _ path: String) -> ChartMogulError {
    ChartMogulError(
      status: r.status, message: ChartMogulError.message(from: Array(r.rawBody.utf8), status: r.status),
      requestID: r.requestID, rawBody: r.rawBody, request: "\(method) \(path)",
      isTransient: [429, 500, 502, 503, 504].contains(r.status))
  }

  /// `GET /v1/data_sources/{uuid}`: the source must exist before anything is sent (clear errors for
  /// a wrong key or a wrong data source id).
  func verifyDataSource(_ uuid: String) async throws {
    let path = "/v1/data_sources/\(ChartMogulClient.segment(uuid))"
    let r = try await send("GET", path)
    switch r.status {
    case 200..<300: return
    case 401, 403:
      throw LoadConfigurationError(
        "ChartMogul refused the credentials (HTTP \(r.status)): check CHARTMOGUL_API_KEY (destination.chartmogul.api_key)"
      )
    case 404, 422, 400:
      throw LoadConfigurationError(
        "ChartMogul has no data source '\(uuid)' (HTTP \(r.status)): check CHARTMOGUL_DATA_SOURCE_ID (destination.chartmogul.data_source_uuid); it must be the ds_… uuid of a custom (Import API) source"
      )
    default:
      throw error(r, "GET", path)
    }
  }
}

import Foundation
import Logging
import RevenueCore
import Staging
import Transport

/// An extract failure: names the source, what went wrong and what to do. Nothing is published when
/// one is thrown (the stage is abandoned).
public struct ExtractError: Error, Sendable, CustomStringConvertible {
  public var source: String
  public var message: String
  /// The source could not be reached or kept failing (network, 429/5xx after every retry): retry later.
  public var isTransient = false

  public init(source: String, _ message: String, transient: Bool = false) {
    self.source = source
    self.message = Redactor.shared.redact(message)
    self.isTransient = transient
  }

  public var description: String { "extract source '\(source)': \(message)" }
}

/// Injectable knobs of the extract stage. Production uses the defaults; tests pass a loopback
/// transport-compatible setup with a short retry policy and a fixed clock.
public struct ExtractOptions: Sendable {
  /// HTTP transport for the API sources (nil: `URLSessionTransport`).
  public var transport: (any HTTPTransport)?
  /// Retry policy for the API sources (docs/chartmogul.md "Rate limits, parallel connections and retries" defaults: 8 tries, full jitter).
  public var retryPolicy: RetryPolicy
  public var sleeper: any Sleeper
  /// The current time (window ends, cursors).
  public var now: @Sendable () -> Timestamp

  public init(
    transport: (any HTTPTransport)? = nil, retryPolicy: RetryPolicy = RetryPolicy(maxDelay: 30),
    sleeper: any Sleeper = TaskSleeper(),
    now: @escaping @Sendable () -> Timestamp = { Timestamp(seconds: Int64(Date().timeIntervalSince1970)) }
  ) {
    self.transport = transport
    self.retryPolicy = retryPolicy
    self.sleeper = sleeper
    self.now = now
  }

  func makeClient(requestsPerSecond: Double, logger: Logger) -> HTTPClient {
    HTTPClient(
      transport: transport ?? URLSessionTransport(), policy: retryPolicy, requestsPerSecond: requestsPerSecond,
      maxConcurrent: 1, sleeper: sleeper, logger: logger)
  }
}

/// Where a setting lives in the pipeline file, for errors that tell the operator which key to check.
struct SettingLocation: Sendable {
  var file: String
  var line: Int?
  var key: String

  init(_ mapping: ConfigMapping, _ key: String) {
    let node = mapping.child(key)
    file = mapping.node.file
    line = node?.line ?? mapping.node.line
    self.key = mapping.node.path.isEmpty ? key : "\(mapping.node.path).\(key)"
  }

  func error(_ message: String) -> ConfigError { ConfigError(file: file, line: line, key: key, message: message) }
}

/// Typed reads of a source's settings. With `checkOnly` (config validation before any command), values
/// that still hold `${VAR}` are not expanded, so `transform` never needs the gateway credentials.
struct SettingsReader {
  let mapping: ConfigMapping
  let checkOnly: Bool

  func isDeferred(_ key: String) -> Bool {
    guard checkOnly, let n = mapping.child(key), case .scalar(let raw) = n.content else { return false }
    return raw.contains("$")
  }

  func string(_ key: String) throws -> String? { isDeferred(key) ? nil : try mapping.string(key) }

  func requiredString(_ key: String, placeholder: String = "") throws -> String {
    if isDeferred(key) { return placeholder }
    return try mapping.requiredString(key)
  }

  func requiredSecret(_ key: String) throws -> Secret {
    if isDeferred(key) { return Secret("") }
    return try mapping.requiredSecret(key)
  }

  func int(_ key: String, default d: Int, range: ClosedRange<Int>) throws -> Int {
    isDeferred(key) ? d : try mapping.int(key, default: d, range: range)
  }

  func double(_ key: String, default d: Double, range: ClosedRange<Double>) throws -> Double {
    isDeferred(key) ? d : try mapping.double(key, default: d, range: range)
  }

  func requiredTimestamp(_ key: String, why: String) throws -> Timestamp {
    if isDeferred(key) { return Timestamp(seconds: 0) }
    guard let t = try mapping.timestamp(key) else {
      throw SettingLocation(mapping, key).error("is required (\(why))")
    }
    return t
  }

  /// An `http(s)://` base URL without a trailing slash.
  func url(_ key: String, default d: String?) throws -> String {
    if isDeferred(key) { return d ?? "http://deferred.invalid" }
    let raw = try mapping.string(key) ?? d
    guard let raw, !raw.isEmpty else { throw SettingLocation(mapping, key).error("is required but missing") }
    var s = raw.trimmingCharacters(in: .whitespaces)
    while s.hasSuffix("/") { s.removeLast() }
    guard s.hasPrefix("http://") || s.hasPrefix("https://"), URL(string: s)?.host != nil else {
      throw SettingLocation(mapping, key).error("'\(raw)' is not an http(s) URL")
    }
    return s
  }
}

/// Query strings with every reserved character percent-encoded (`created[gte]` → `created%5Bgte%5D`).
enum QueryString {
  static func encode(_ items: [(String, String)]) -> String {
    items.map { "\(escape($0.0))=\(escape($0.1))" }.joined(separator: "&")
  }

  static func escape(_ s: String) -> String {
    var out = ""
    for b in s.utf8 {
      switch b {
      case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x2D, 0x2E, 0x5F, 0x7E: out.unicodeScalars.append(UnicodeScalar(b))
      default:
        let hex = String(b, radix: 16, uppercase: true)
        out += "%" + (hex.count == 1 ? "0" + hex : hex)
      }
    }
    return out
  }
}

/// The HTTP side shared by the gateway API sources: URL building, retries (via `HTTPClient`),
/// configuration errors on 401/403 and clear errors for every other refusal.
struct GatewayAPI: Sendable {
  let source: String
  /// `Stripe`, `PayPal`, `Cashier` (for messages).
  let gateway: String
  let baseURL: String
  let client: HTTPClient
  /// The credential settings to check when the gateway refuses them.
  let credentials: [SettingLocation]

  func url(_ path: String, _ query: [(String, String)] = []) throws -> URL {
    let text = baseURL + path + (query.isEmpty ? "" : "?" + QueryString.encode(query))
    guard let u = URL(string: text) else { throw ExtractError(source: source, "cannot build a URL for \(path)") }
    return u
  }

  /// Sends a request; a request that keeps failing becomes an `ExtractError` naming `label`.
  func send(_ request: HTTPRequest, label: String) async throws -> HTTPResponse {
    do {
      return try await client.send(request)
    } catch let e as HTTPRetryExhausted {
      var msg = "\(label) still failed after \(e.attempts) attempts"
      if let s = e.lastStatus {
        msg += " (last status \(s)" + (e.lastBody.map { ": " + GatewayAPI.summary($0) } ?? "") + ")"
      } else if let err = e.lastError {
        msg += " (\(err))"
      }
      msg +=
        " at \(baseURL); nothing was published — check the URL, the network and \(gateway)'s status, then run the extract again"
      throw ExtractError(source: source, msg, transient: true)
    } catch is CancellationError {
      throw CancellationError()
    } catch {
      throw ExtractError(source: source, "\(label) failed: \(error)")
    }
  }

  /// 401/403 → a configuration error naming the credential keys; other non-2xx → `ExtractError`.
  func check(_ response: HTTPResponse, label: String) throws {
    if response.isSuccess { return }
    let detail = GatewayAPI.describe(response)
    if response.status == 401 || response.status == 403 {
      let what =
        response.status == 401
        ? "was rejected by \(gateway) (HTTP 401\(detail)): check that the credential is correct and for the right (live/test) account"
        : "lacks a permission \(gateway) requires for \(label) (HTTP 403\(detail)): grant read access to it"
      let first = credentials.first ?? SettingLocation.fallback(source)
      var e = first.error(what)
      if credentials.count > 1 {
        e.message += " (also check \(credentials.dropFirst().map(\.key).joined(separator: ", ")))"
      }
      throw e
    }
    throw ExtractError(source: source, "\(label) was refused with HTTP \(response.status)\(detail)")
  }

  func json(_ response: HTTPResponse, label: String) throws -> JSONObject {
    do {
      guard let o = try JSONParser.parse(response.body).objectValue else {
        throw ExtractError(source: source, "\(gateway) \(label) returned JSON that is not an object")
      }
      return o
    } catch let e as JSONParseError {
      let type = response.header("content-type") ?? "no Content-Type"
      let what =
        type.lowercased().contains("html")
        ? "an HTML page (\(type)), not JSON" : "a body that is not valid JSON (\(e); \(type))"
      throw ExtractError(
        source: source,
        "\(gateway) \(label) returned \(what); nothing was published — check api_url and \(gateway)'s status, then run the extract again"
      )
    }
  }

  /// GET + status check + JSON.
  func getJSON(_ path: String, _ query: [(String, String)], headers: [(String, String)], label: String) async throws
    -> JSONObject
  {
    let r = try await send(HTTPRequest(method: "GET", url: url(path, query), headers: headers), label: label)
    try check(r, label: label)
    return try json(r, label: label)
  }

  /// `: rate_limit — message (request req_…)` from a gateway error body, redacted.
  static func describe(_ r: HTTPResponse) -> String {
    var parts: [String] = []
    let s = summary(r.bodyText)
    if !s.isEmpty { parts.append(s) }
    if let id = r.header("request-id") ?? r.header("paypal-debug-id") { parts.append("request \(id)") }
    return parts.isEmpty ? "" : ": " + parts.joined(separator: ", ")
  }

  /// Code and message of a Stripe/PayPal/Cashier error body; the raw text (shortened) otherwise.
  static func summary(_ body: String) -> String {
    guard let v = try? JSONParser.parse(body) else {
      return Redactor.shared.redact(String(body.prefix(200)).trimmingCharacters(in: .whitespacesAndNewlines))
    }
    let e = v["error"]?.objectValue.map(JSONValue.object) ?? v
    var bits: [String] = []
    for k in ["name", "type", "code", "param"] { if let t = e[k]?.stringValue { bits.append("\(k) \(t)") } }
    if let m = e["message"]?.stringValue ?? v["error_description"]?.stringValue { bits.append(String(m.prefix(200))) }
    if let d = v["debug_id"]?.stringValue { bits.append("debug_id \(d)") }
    if bits.isEmpty, let s = v["error"]?.stringValue { bits.append(s) }
    return Redactor.shared.redact(bits.joined(separator: " — "))
  }
}

extension JSONValue {
  /// `object`, `array`, `string`, … for messages about a value of the wrong type.
  static func typeName(_ v: JSONValue) -> String {
    switch v {
    case .null: return "null"
    case .bool: return "a boolean"
    case .number: return "a number"
    case .string: return "a string"
    case .array: return "an array"
    case .object: return "an object"
    }
  }
}

extension SettingLocation {
  static func fallback(_ source: String) -> SettingLocation {
    SettingLocation(file: "pipeline", line: nil, key: "sources.\(source)")
  }
  init(file: String, line: Int?, key: String) {
    self.file = file
    self.line = line
    self.key = key
  }
}

/// Counters one source keeps while it reads (becomes its `Accounting`).
struct SourceCounts {
  var input = 0
  var output = 0
  var rejected = 0
  var skipped = 0
  var accounting: Accounting {
    Accounting(input: input, output: output, rejected: rejected, skipped: skipped)
  }
}

extension Timestamp {
  /// Current time for sources.
  static var wallNow: Timestamp { Timestamp(seconds: Int64(Date().timeIntervalSince1970)) }
}

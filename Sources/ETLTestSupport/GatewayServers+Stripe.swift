import Foundation
import RevenueCore

/// A loopback Stripe API over fixture objects with Stripe's list semantics (docs/gateways "Stripe API"): Bearer
/// key check (401 with a Stripe error body), `limit` 1–100, `starting_after`, `has_more`, objects
/// newest first, `created[gte|gt|lt|lte]`, subscriptions without `status` exclude canceled ones,
/// embedded invoice `lines` truncated to `embeddedLines` with the rest at `/v1/invoices/{id}/lines`.
public enum StripeFixtureServer {
  public struct Options: Sendable {
    public var apiKey = "sk_test_fixture_4eC39HqLyjWDarjtT1zdp7dc"
    /// Embedded invoice lines before `lines.has_more` (Stripe embeds a first page).
    public var embeddedLines = 10
    /// Answer `expand[]=data.payments` with 400 (API versions before basil).
    public var refuseExpandPayments = false
    public init() {}
  }

  /// Starts a server over `fixtures/gateways/stripe/*.json` (or the objects given).
  public static func start(_ options: Options = Options(), objects: [String: [JSONValue]]? = nil) async throws
    -> FixtureServer
  {
    var data = objects ?? [:]
    if objects == nil {
      for r in ["customers", "subscriptions", "invoices", "charges", "refunds"] {
        data["/v1/\(r)"] = try FixtureData.list("gateways/stripe/\(r).json")
      }
    }
    let sorted = data.mapValues { list in
      list.sorted {
        let a = $0["created"]?.int64Value ?? 0
        let b = $1["created"]?.int64Value ?? 0
        return a != b ? a > b : ($0["id"]?.stringValue ?? "") > ($1["id"]?.stringValue ?? "")
      }
    }
    return try await FixtureServer.start { r in route(r, sorted, options) }
  }

  static func error(_ status: Int, _ type: String, _ message: String, param: String? = nil) -> FixtureResponse {
    var e: JSONObject = JSONObject(["type": .string(type), "message": .string(message)])
    if let param { e["param"] = .string(param) }
    return .json(["error": .object(e)], status: status, headers: [("Request-Id", "req_fixture0001")])
  }

  static func route(_ r: RecordedRequest, _ data: [String: [JSONValue]], _ o: Options) -> FixtureResponse {
    guard r.headers["authorization"] == "Bearer \(o.apiKey)" else {
      return error(401, "invalid_request_error", "Invalid API Key provided: sk_test_****")
    }
    guard r.method == "GET" else { return error(405, "invalid_request_error", "fixture server only reads") }
    if r.path.hasPrefix("/v1/invoices/"), r.path.hasSuffix("/lines") {
      let id = String(r.path.dropFirst("/v1/invoices/".count).dropLast("/lines".count))
      guard let inv = data["/v1/invoices"]?.first(where: { $0["id"]?.stringValue == id }) else {
        return error(404, "invalid_request_error", "No such invoice: '\(id)'", param: "id")
      }
      return page(inv["lines"]?["data"]?.arrayValue ?? [], r, url: r.path, o)
    }
    guard var list = data[r.path] else {
      return error(404, "invalid_request_error", "Unrecognized request URL (GET: \(r.path))")
    }
    if r.values("expand[]").contains("data.payments"), o.refuseExpandPayments {
      return error(400, "invalid_request_error", "This property cannot be expanded (payments).", param: "expand[0]")
    }
    func bound(_ key: String) -> Int64? { r.value("created[\(key)]").flatMap { Int64($0) } }
    list = list.filter { obj in
      // An object whose `created` is not an integer (a malformed fixture) passes every filter, so it
      // still reaches the client under test.
      guard let c = obj["created"]?.int64Value else { return true }
      if let v = bound("gte"), c < v { return false }
      if let v = bound("gt"), c <= v { return false }
      if let v = bound("lt"), c >= v { return false }
      if let v = bound("lte"), c > v { return false }
      return true
    }
    if r.path == "/v1/subscriptions" {
      let status = r.value("status")
      list = list.filter { s in
        let st = s["status"]?.stringValue ?? ""
        switch status {
        case nil: return st != "canceled"
        case "all": return true
        case "ended": return st == "canceled" || st == "incomplete_expired"
        case let x?: return st == x
        }
      }
    }
    if r.path == "/v1/invoices" {
      list = list.map { truncateLines($0, o.embeddedLines) }
    }
    return page(list, r, url: r.path, o)
  }

  static func truncateLines(_ invoice: JSONValue, _ n: Int) -> JSONValue {
    guard case .object(var inv) = invoice, case .object(var lines)? = inv["lines"],
      let data = lines["data"]?.arrayValue, data.count > n
    else { return invoice }
    lines["data"] = .array(Array(data.prefix(n)))
    lines["has_more"] = .bool(true)
    inv["lines"] = .object(lines)
    return .object(inv)
  }

  static func page(_ list: [JSONValue], _ r: RecordedRequest, url: String, _ o: Options) -> FixtureResponse {
    let limitText = r.value("limit") ?? "10"
    guard let limit = Int(limitText), (1...100).contains(limit) else {
      return error(400, "invalid_request_error", "Invalid integer: \(limitText)", param: "limit")
    }
    var start = 0
    if let after = r.value("starting_after") {
      guard let i = list.firstIndex(where: { $0["id"]?.stringValue == after }) else {
        return error(400, "invalid_request_error", "No such object: '\(after)'", param: "starting_after")
      }
      start = i + 1
    }
    let slice = Array(list.dropFirst(start).prefix(limit))
    return .json([
      "object": "list", "url": .string(url), "has_more": .bool(start + slice.count < list.count), "data": .array(slice),
    ])
  }
}

import Foundation
import RevenueCore

/// A loopback PayPal REST API over fixture data (docs/gateways "PayPal Transaction Search and Subscriptions"): OAuth2 client credentials (Basic
/// auth → bearer token; tokens can be made to expire after N uses to exercise refresh-on-401),
/// Transaction Search with the 31-day limit, `page`/`page_size`/`total_pages`, `400
/// RESULTSET_TOO_LARGE` above `maxItems`, `last_refreshed_datetime`; subscription and plan details
/// (404 `RESOURCE_NOT_FOUND` for unknown ids).
public enum PayPalFixtureServer {
  public struct Options: Sendable {
    public var clientID = "AQfixtureClientId0123"
    public var clientSecret = "EOfixtureSecret4567890"
    public var maxItems = 10_000
    /// Data complete up to here (nil: far future, i.e. no limit).
    public var lastRefreshed: String? = nil
    /// A token stops working after this many API calls (nil: until it expires).
    public var tokenUses: Int? = nil
    public var expiresIn = 32400
    /// Served instead of the fixture files when set (malformed-record corpora).
    public var transactions: [JSONValue]? = nil
    public var subscriptions: [JSONValue]? = nil
    public var plans: [JSONValue]? = nil
    /// Where transactions whose `transaction_initiation_date` cannot be read fall (nil: the epoch,
    /// i.e. outside every window).
    public var undatedAt: Timestamp? = nil
    public init() {}
  }

  actor Tokens {
    var uses: [String: Int] = [:]
    var issued = 0
    func issue() -> String {
      issued += 1
      let t = "A21AAFixtureToken\(issued)xYz"
      uses[t] = 0
      return t
    }
    func use(_ t: String, limit: Int?) -> Bool {
      guard let n = uses[t] else { return false }
      if let limit, n >= limit { return false }
      uses[t] = n + 1
      return true
    }
  }

  public static func start(_ o: Options = Options()) async throws -> FixtureServer {
    let undated = o.undatedAt
    let txs = try (o.transactions ?? FixtureData.list("gateways/paypal/transactions.json")).sorted {
      date($0, undated) < date($1, undated)
    }
    let subs = try o.subscriptions ?? FixtureData.list("gateways/paypal/subscriptions.json")
    let plans = try o.plans ?? FixtureData.list("gateways/paypal/plans.json")
    let tokens = Tokens()
    let basic = "Basic " + Data("\(o.clientID):\(o.clientSecret)".utf8).base64EncodedString()
    return try await FixtureServer.start { r in
      func err(_ s: Int, _ name: String, _ m: String, _ extra: JSONObject = JSONObject()) -> FixtureResponse {
        var b: JSONObject = JSONObject(["name": .string(name), "message": .string(m), "debug_id": "fixture0debug"])
        for f in extra { b[f.key] = f.value }
        return .json(.object(b), status: s, headers: [("Paypal-Debug-Id", "fixture0debug")])
      }
      if r.path == "/v1/oauth2/token" {
        guard r.method == "POST", r.headers["authorization"] == basic, r.bodyText == "grant_type=client_credentials"
        else {
          return .json(["error": "invalid_client", "error_description": "Client Authentication failed"], status: 401)
        }
        let t = await tokens.issue()
        return .json([
          "scope": "https://uri.paypal.com/services/reporting/search/read", "access_token": .string(t),
          "token_type": "Bearer", "app_id": "APP-FIXTURE", "expires_in": .int(o.expiresIn), "nonce": "fixture",
        ])
      }
      let bearer = r.headers["authorization"].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil } ?? ""
      guard await tokens.use(bearer, limit: o.tokenUses) else {
        return err(
          401, "AUTHENTICATION_FAILURE",
          "Authentication failed due to invalid authentication credentials or a missing Authorization header.")
      }
      if r.path == "/v1/reporting/transactions" {
        guard let s = r.value("start_date").flatMap(Timestamp.parse),
          let e = r.value("end_date").flatMap(Timestamp.parse),
          e.seconds >= s.seconds
        else { return err(400, "INVALID_REQUEST", "start_date and end_date are required") }
        if e.seconds - s.seconds > 31 * 86400 {
          return err(
            400, "INVALID_REQUEST", "Request is not well-formed, syntactically incorrect, or violates schema.",
            JSONObject(["details": [["field": "end_date", "issue": "INVALID_DATE_RANGE"]]]))
        }
        let rows = txs.filter {
          let d = date($0, undated)
          return d >= s.seconds && d <= e.seconds
        }
        if rows.count > o.maxItems {
          return err(
            400, "RESULTSET_TOO_LARGE",
            "Result set size is greater than the maximum limit. Change the filter criteria and try again.",
            JSONObject(["total_items": .int(rows.count), "maximum_items": .int(o.maxItems)]))
        }
        let size = Int(r.value("page_size") ?? "100") ?? 100
        let page = Int(r.value("page") ?? "1") ?? 1
        let pages = max(1, (rows.count + size - 1) / size)
        let slice = Array(rows.dropFirst((page - 1) * size).prefix(size))
        return .json([
          "transaction_details": .array(slice), "account_number": "K7WQFAKE2MERCH",
          "start_date": .string(s.iso8601), "end_date": .string(e.iso8601),
          "last_refreshed_datetime": .string(o.lastRefreshed ?? "2099-01-01T00:00:00+0000"),
          "page": .int(page), "total_items": .int(rows.count), "total_pages": .int(pages), "links": [],
        ])
      }
      for (prefix, list, what) in [
        ("/v1/billing/subscriptions/", subs, "subscription"), ("/v1/billing/plans/", plans, "plan"),
      ]
      where r.path.hasPrefix(prefix) {
        let id = String(r.path.dropFirst(prefix.count))
        if let found = list.first(where: { $0["id"]?.stringValue == id }) { return .json(found) }
        return err(404, "RESOURCE_NOT_FOUND", "The specified \(what) does not exist.")
      }
      return err(404, "NOT_FOUND", "unknown path \(r.path)")
    }
  }

  static func date(_ v: JSONValue, _ undated: Timestamp?) -> Int64 {
    v["transaction_info"]?["transaction_initiation_date"]?.stringValue.flatMap(Timestamp.parse)?.seconds
      ?? undated?.seconds ?? 0
  }
}

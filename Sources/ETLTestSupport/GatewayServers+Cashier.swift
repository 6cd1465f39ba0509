import Foundation
import RevenueCore

/// A loopback Cashier API (docs/gateways "Cashier (Kashier)" [CONTRACT]) over fixture rows: Bearer key (401 with
/// `{"error":{…}}`), required `created_gte`/`created_lt` (RFC 3339), `page` from 1, `per_page` ≤ 500,
/// `created_at` ascending then `transaction_id`, `next` = following page or null.
public enum CashierFixtureServer {
  public static let apiKey = "cashier_fixture_key_7Qm2Lx9Pz"

  /// `undatedAt`: where rows whose `created_at` is not RFC 3339 (malformed fixtures) sort and filter
  /// (nil: the epoch, i.e. outside every window).
  public static func start(apiKey: String = apiKey, rows: [JSONValue]? = nil, undatedAt: Timestamp? = nil) async throws
    -> FixtureServer
  {
    let all = try rows ?? FixtureData.list("gateways/cashier/transactions.json")
    let sorted = all.sorted {
      let a = ts($0, undatedAt)
      let b = ts($1, undatedAt)
      return a != b ? a < b : ($0["transaction_id"]?.stringValue ?? "") < ($1["transaction_id"]?.stringValue ?? "")
    }
    return try await FixtureServer.start { r in
      func err(_ s: Int, _ code: String, _ m: String) -> FixtureResponse {
        .json(["error": ["code": .string(code), "message": .string(m)]], status: s)
      }
      guard r.headers["authorization"] == "Bearer \(apiKey)" else { return err(401, "unauthorized", "invalid API key") }
      guard r.path == "/v1/transactions" else { return err(404, "not_found", "unknown path \(r.path)") }
      guard let gte = r.value("created_gte").flatMap(Timestamp.parse),
        let lt = r.value("created_lt").flatMap(Timestamp.parse)
      else { return err(400, "bad_request", "created_gte and created_lt (RFC 3339) are required") }
      let page = Int(r.value("page") ?? "1") ?? 0
      let per = Int(r.value("per_page") ?? "100") ?? 0
      guard page >= 1, (1...500).contains(per) else { return err(400, "bad_request", "bad page or per_page") }
      let rows = sorted.filter {
        let t = ts($0, undatedAt)
        return t >= gte.seconds && t < lt.seconds
      }
      let slice = Array(rows.dropFirst((page - 1) * per).prefix(per))
      let next: JSONValue = page * per < rows.count ? .int(page + 1) : .null
      return .json(["data": .array(slice), "page": .int(page), "per_page": .int(per), "next": next])
    }
  }

  static func ts(_ v: JSONValue, _ undated: Timestamp?) -> Int64 {
    v["created_at"]?.stringValue.flatMap(Timestamp.parse)?.seconds ?? undated?.seconds ?? 0
  }
}

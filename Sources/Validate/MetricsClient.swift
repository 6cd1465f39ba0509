import Foundation
import Logging
import RevenueCore
import Transport

/// The two read endpoints validation needs (docs/chartmogul.md "How ChartMogul computes MRR", "Customers", "Identity and idempotency"): `/v1/metrics/mrr` by month
/// and the `mrr` of every customer of the data source (cursor paging, `per_page` 200).
struct MetricsClient {
  struct MRREntry: Sendable {
    var date: String
    var mrr: Int64
    var movements: MovementTotals
  }

  let target: ChartMogulTarget
  let http: HTTPClient
  let logger: Logger

  /// A ChartMogul error, with the redacted body and what to check.
  struct APIError: Error, CustomStringConvertible {
    var request: String
    var status: Int
    var body: String
    var description: String {
      let hint: String
      switch status {
      case 401, 403: hint = "check destination.chartmogul.api_key"
      case 404: hint = "check destination.chartmogul.api_url and data_source_uuid"
      default: hint = "see the response body"
      }
      return "ChartMogul answered \(status) to \(request) (\(hint)): \(body)"
    }
  }

  func get(_ path: String, _ query: [(String, String)]) async throws -> JSONValue {
    var c = URLComponents(
      string: target.apiURL.hasSuffix("/") ? String(target.apiURL.dropLast()) + path : target.apiURL + path)
    c?.queryItems = query.map { URLQueryItem(name: $0.0, value: $0.1) }
    guard let url = c?.url else { throw APIError(request: "GET \(path)", status: 0, body: "cannot build the URL") }
    let auth = Data("\(target.apiKey.value):".utf8).base64EncodedString()
    let req = HTTPRequest(
      method: "GET", url: url,
      headers: [
        ("Authorization", "Basic \(auth)"), ("Accept", "application/json"), ("User-Agent", "chartmogul-etl/1.0"),
      ])
    let resp = try await http.send(req)
    guard resp.isSuccess else {
      throw APIError(
        request: req.logLabel, status: resp.status, body: Redactor.shared.redact(String(resp.bodyText.prefix(500))))
    }
    guard let json = resp.json else {
      throw APIError(request: req.logLabel, status: resp.status, body: "the body is not JSON")
    }
    return json
  }

  /// Month entries between two dates (`YYYY-MM-DD`); money values are integer cents (a float is rounded).
  func mrr(from: String, to: String) async throws -> [MRREntry] {
    let json = try await get("/v1/metrics/mrr", [("start-date", from), ("end-date", to), ("interval", "month")])
    var out: [MRREntry] = []
    for e in json["entries"]?.arrayValue ?? [] {
      guard let date = e["date"]?.stringValue, let mrr = cents(e["mrr"]) else { continue }
      var m = MovementTotals()
      for k in MovementKind.allCases { m[k] = cents(e[k.metricKey]) ?? 0 }
      out.append(MRREntry(date: String(date.prefix(10)), mrr: mrr, movements: m))
    }
    return out
  }

  /// Customer external id → MRR (cents) for every customer of the data source.
  func customerMRR() async throws -> [String: Int64] {
    var out: [String: Int64] = [:]
    var cursor: String? = nil
    var pages = 0
    repeat {
      var q: [(String, String)] = [("per_page", "200")]
      if let ds = target.dataSourceUUID { q.append(("data_source_uuid", ds)) }
      if let cursor { q.append(("cursor", cursor)) }
      let page = try await get("/v1/customers", q)
      for e in page["entries"]?.arrayValue ?? [] {
        guard let id = e["external_id"]?.stringValue else { continue }
        out[id, default: 0] += cents(e["mrr"]) ?? 0
      }
      pages += 1
      let more = page["has_more"]?.boolValue ?? false
      cursor = more ? page["cursor"]?.stringValue : nil
      if more && cursor == nil { break }
    } while cursor != nil && pages < 100_000
    return out
  }

  /// `mrr` arrives as an int or (older responses) a float: decoded leniently (docs/chartmogul.md "Subscriptions and cancellations").
  func cents(_ v: JSONValue?) -> Int64? {
    guard let v else { return nil }
    if let i = v.int64Value { return i }
    if let d = v.doubleValue { return Int64(d.rounded()) }
    if let s = v.stringValue, let d = Double(s) { return Int64(d.rounded()) }
    return nil
  }
}

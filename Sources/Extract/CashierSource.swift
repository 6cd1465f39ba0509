import Foundation
import Logging
import RevenueCore
import Staging
import Transport

/// Extracts Cashier (Kashier, EGP) transactions from the project's paged JSON API (docs/gateways "Cashier (Kashier)",
/// [CONTRACT]) into `extract/cashier.ndjson`, each record exactly as served (CSV column names as keys,
/// string values, null for empty).
///
/// - `GET {api_url}/v1/transactions?created_gte&created_lt&page&per_page`, Bearer auth; `next` is the
///   page to ask for next, `null` on the last page.
/// - Test-mode rows (`mode: test`) are staged like any other row; transform skips and counts them, so
///   the extract stays a faithful copy of the gateway.
/// - Cursor: `created_at` of the newest non-PENDING row staged; the next run re-reads from 24 h
///   before it. A PENDING row holds the cursor at its own `created_at` so it is read again until it
///   settles — unless it is more than 30 days old (then it no longer holds the cursor back).
/// - Rows are deduplicated on `transaction_id` within a run (the API orders by `created_at`, then id).
public struct CashierSource: ExtractSource {
  public static let keys = ["api_key", "api_url", "since", "per_page", "requests_per_second"]
  public let name = "cashier"
  static let overlapSeconds: Int64 = 24 * 3600
  static let pendingHoldDays = 30

  let apiKey: Secret
  let apiURL: String
  let since: Timestamp
  let perPage: Int
  let requestsPerSecond: Double
  let keyLocation: SettingLocation
  let options: ExtractOptions
  let logger: Logger

  /// Reads `sources.cashier`: `api_key` (secret), `api_url` (required), `since`, `per_page` (default
  /// 100, 1–500), `requests_per_second` (default 5).
  init(config: ConfigMapping, options: ExtractOptions, logger: Logger, checkOnly: Bool) throws {
    let r = SettingsReader(mapping: config, checkOnly: checkOnly)
    apiKey = try r.requiredSecret("api_key")
    apiURL = try r.url("api_url", default: nil)
    since = try r.requiredTimestamp("since", why: "the date the first run starts reading Cashier history from")
    perPage = try r.int("per_page", default: 100, range: 1...500)
    requestsPerSecond = try r.double("requests_per_second", default: 5, range: 0.01...100)
    keyLocation = SettingLocation(config, "api_key")
    self.options = options
    self.logger = logger
  }

  public func extract(into sink: ExtractSink, context: StageContext, cursor: JSONObject) async throws -> ExtractOutcome
  {
    let client = options.makeClient(requestsPerSecond: requestsPerSecond, logger: logger)
    let api = GatewayAPI(source: name, gateway: "Cashier", baseURL: apiURL, client: client, credentials: [keyLocation])
    let end = options.now()
    var start = since
    if let c = cursor["created_at"]?.stringValue, let t = Timestamp.parse(c) {
      start = max(since, Timestamp(seconds: t.seconds - CashierSource.overlapSeconds))
    }
    if start > end { start = end }
    let path = "/v1/transactions"
    let headers = [("Authorization", "Bearer \(apiKey.value)"), ("Accept", "application/json")]
    var counts = SourceCounts()
    var seen = Set<String>()
    var maxSettled: Timestamp? = nil
    var oldestPending: Timestamp? = nil
    var pending = 0
    let pendingFloor = end.adding(days: -CashierSource.pendingHoldDays)
    var page = 1
    var pages = 0
    while true {
      let label = "GET \(path) page \(page)"
      let query: [(String, String)] = [
        ("created_gte", start.iso8601), ("created_lt", end.iso8601), ("page", String(page)),
        ("per_page", String(perPage)),
      ]
      let body = try await api.getJSON(path, query, headers: headers, label: label)
      pages += 1
      guard let data = body["data"]?.arrayValue else {
        throw ExtractError(
          source: name,
          "Cashier \(label) returned no 'data' list (\(body["data"].map { JSONValue.typeName($0) } ?? "missing")); nothing was published — is api_url pointing at the Cashier API?"
        )
      }
      for row in data {
        counts.input += 1
        guard let id = row["transaction_id"]?.stringValue, !id.isEmpty else {
          try sink.reject(
            DiagnosticRecord(
              source: name, file: path, line: page, code: "missing_id",
              reason: "a transaction on page \(page) has no transaction_id", record: row))
          counts.rejected += 1
          continue
        }
        guard seen.insert(id).inserted else {
          counts.skipped += 1
          continue
        }
        if let created = row["created_at"]?.stringValue.flatMap(Timestamp.parse) {
          if row["status"]?.stringValue == "PENDING" {
            pending += 1
            if created >= pendingFloor { oldestPending = min(oldestPending ?? created, created) }
          } else {
            maxSettled = max(maxSettled ?? created, created)
          }
        }
        try sink.emit(
          ExtractedRecord(
            source: name, kind: .cashierTransaction,
            origin: JSONObject(["endpoint": .string(path), "page": .int(page)]), record: row))
        counts.output += 1
      }
      guard let next = body["next"], !next.isNull else { break }
      guard let n = next.int64Value, n > Int64(page) else {
        throw ExtractError(
          source: name, "\(label) returned next = \(JSONWriter.string(next)), which is not a later page number")
      }
      page = Int(n)
    }
    var proposed: JSONObject? = nil
    var mark = maxSettled
    if let p = oldestPending { mark = min(mark ?? p, p) }
    if let mark { proposed = JSONObject(["created_at": .string(mark.iso8601)]) }
    var details: JSONObject = JSONObject([
      "pages": .int(pages), "pending": .int(pending), "window_start": .string(start.iso8601),
      "window_end": .string(end.iso8601),
    ])
    details["http"] = await client.stats.snapshot().json
    return ExtractOutcome(accounting: counts.accounting, proposedCursor: proposed, details: details)
  }
}

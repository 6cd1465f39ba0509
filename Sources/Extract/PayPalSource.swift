import Foundation
import Logging
import RevenueCore
import Staging
import Transport

/// Extracts PayPal transactions (Transaction Search), the subscriptions they reference and those
/// subscriptions' plans (docs/gateways "PayPal Transaction Search and Subscriptions") into `extract/paypal.ndjson`.
///
/// - OAuth2 client credentials; the token is cached until 5 minutes before it expires and refreshed
///   once when a call gets 401 (a second 401 is a configuration error naming the credentials).
/// - `GET /v1/reporting/transactions?fields=all` in windows of at most 31 days, paged with
///   `page`/`page_size` while `page < total_pages`; a window answered `400 RESULTSET_TOO_LARGE` is
///   halved and retried. Reading ends at `min(now − 3 h, last_refreshed_datetime)` (newer transactions
///   may still be missing); the first run starts at `since`, later runs at the cursor minus
///   `lookback_days` (pending → completed changes), never further back than PayPal's 3-year horizon.
/// - Rows are deduplicated on (`transaction_id`, `transaction_event_code`, `transaction_status`): the
///   same id can appear twice in this API. Amounts stay PayPal's decimal strings.
/// - Then `GET /v1/billing/subscriptions/{I-…}` for every `paypal_reference_id_type: SUB` seen and
///   `GET /v1/billing/plans/{P-…}` for their plans; one that PayPal no longer knows (404) is a reject.
public struct PayPalSource: ExtractSource {
  public static let keys = [
    "client_id", "client_secret", "api_url", "since", "lookback_days", "requests_per_second", "page_size",
  ]
  public let name = "paypal"
  static let maxWindowSeconds: Int64 = 31 * 86400
  static let minWindowSeconds: Int64 = 60
  static let refreshLagSeconds: Int64 = 3 * 3600
  static let horizonDays = 3 * 365 - 2

  let clientID: Secret
  let clientSecret: Secret
  let apiURL: String
  let since: Timestamp
  let lookbackDays: Int
  let requestsPerSecond: Double
  let pageSize: Int
  let credentials: [SettingLocation]
  let options: ExtractOptions
  let logger: Logger

  /// Reads `sources.paypal`: `client_id`, `client_secret` (secrets), `api_url` (default
  /// https://api-m.paypal.com), `since`, `lookback_days` (default 3), `requests_per_second` (default
  /// 0.5 = 30/min), `page_size` (default 500, 1–500).
  init(config: ConfigMapping, options: ExtractOptions, logger: Logger, checkOnly: Bool) throws {
    let r = SettingsReader(mapping: config, checkOnly: checkOnly)
    clientID = try r.requiredSecret("client_id")
    clientSecret = try r.requiredSecret("client_secret")
    apiURL = try r.url("api_url", default: "https://api-m.paypal.com")
    since = try r.requiredTimestamp("since", why: "the date the first run starts reading PayPal history from")
    lookbackDays = try r.int("lookback_days", default: 3, range: 0...31)
    requestsPerSecond = try r.double("requests_per_second", default: 0.5, range: 0.01...50)
    pageSize = try r.int("page_size", default: 500, range: 1...500)
    credentials = [SettingLocation(config, "client_id"), SettingLocation(config, "client_secret")]
    self.options = options
    self.logger = logger
  }

  public func extract(into sink: ExtractSink, context: StageContext, cursor: JSONObject) async throws -> ExtractOutcome
  {
    let client = options.makeClient(requestsPerSecond: requestsPerSecond, logger: logger)
    let api = GatewayAPI(source: name, gateway: "PayPal", baseURL: apiURL, client: client, credentials: credentials)
    let session = PayPalSession(api: api, clientID: clientID, clientSecret: clientSecret)
    let now = options.now()
    var end = Timestamp(seconds: now.seconds - PayPalSource.refreshLagSeconds)
    var start = since
    if let c = cursor["end"]?.stringValue, let t = Timestamp.parse(c) {
      start = max(since, t.adding(days: -lookbackDays))
    }
    var details = JSONObject()
    let horizon = now.adding(days: -PayPalSource.horizonDays)
    if start < horizon {
      logger.warning(
        "PayPal keeps 3 years of transactions; starting at \(horizon.dateString) instead of \(start.dateString)")
      details["clamped_start_from"] = .string(start.iso8601)
      start = horizon
    }
    var counts = SourceCounts()
    guard start < end else {
      details["windows"] = 0
      return ExtractOutcome(accounting: counts.accounting, proposedCursor: nil, details: details)
    }
    var state = TransactionState()
    var windows: [(Timestamp, Timestamp)] = []
    var s = start
    while s < end {
      let e = Timestamp(seconds: min(end.seconds, s.seconds + PayPalSource.maxWindowSeconds))
      windows.append((s, e))
      s = e
    }
    var windowCount = 0
    var splits = 0
    while !windows.isEmpty {
      var (ws, we) = windows.removeFirst()
      if ws >= end { continue }
      if we > end { we = end }
      windowCount += 1
      let result = try await readWindow(ws, we, session: session, sink: sink, counts: &counts, state: &state)
      switch result {
      case .tooLarge:
        let span = we.seconds - ws.seconds
        guard span >= 2 * PayPalSource.minWindowSeconds else {
          throw ExtractError(
            source: name,
            "PayPal answered RESULTSET_TOO_LARGE even for the \(span)-second window starting \(ws.iso8601); cannot split further"
          )
        }
        let mid = Timestamp(seconds: ws.seconds + span / 2)
        windows.insert(contentsOf: [(ws, mid), (mid, we)], at: 0)
        splits += 1
      case .done(let lastRefreshed):
        if let lastRefreshed, lastRefreshed < end {
          end = max(lastRefreshed, ws)
        }
      }
    }
    let subscriptionPlans = try await fetchSubscriptions(
      state.subscriptionIDs.sorted(), session: session, sink: sink, counts: &counts)
    try await fetchPlans(subscriptionPlans, session: session, sink: sink, counts: &counts)
    details["windows"] = .int(windowCount)
    details["window_splits"] = .int(splits)
    details["pages"] = .int(state.pages)
    details["window_start"] = .string(start.iso8601)
    details["window_end"] = .string(end.iso8601)
    details[RecordKind.paypalSubscription.rawValue] = .int(state.subscriptionIDs.count)
    details["http"] = await client.stats.snapshot().json
    return ExtractOutcome(
      accounting: counts.accounting, proposedCursor: JSONObject(["end": .string(end.iso8601)]), details: details)
  }

  struct TransactionState {
    var seen = Set<String>()
    var subscriptionIDs = Set<String>()
    var pages = 0
  }

  enum WindowResult {
    case done(lastRefreshed: Timestamp?)
    case tooLarge
  }

  func readWindow(
    _ ws: Timestamp, _ we: Timestamp, session: PayPalSession, sink: ExtractSink, counts: inout SourceCounts,
    state: inout TransactionState
  ) async throws -> WindowResult {
    let path = "/v1/reporting/transactions"
    var page = 1
    var lastRefreshed: Timestamp? = nil
    while true {
      let label = "GET \(path) \(ws.iso8601)…\(we.iso8601) page \(page)"
      let query: [(String, String)] = [
        ("start_date", ws.iso8601), ("end_date", we.iso8601), ("fields", "all"), ("page_size", String(pageSize)),
        ("page", String(page)),
      ]
      let response = try await session.get(path, query, label: label)
      if response.status == 400, GatewayAPI.summary(response.bodyText).contains("RESULTSET_TOO_LARGE") {
        guard page == 1 else {
          throw ExtractError(source: name, "\(label): PayPal answered RESULTSET_TOO_LARGE in the middle of a window")
        }
        return .tooLarge
      }
      try session.api.check(response, label: label)
      let body = try session.api.json(response, label: label)
      state.pages += 1
      if let t = body["last_refreshed_datetime"]?.stringValue.flatMap(Timestamp.parse) {
        lastRefreshed = min(lastRefreshed ?? t, t)
      }
      // A page must carry its list; a missing one is only tolerated on an empty result.
      let details = body["transaction_details"]
      guard
        let items = details?.arrayValue ?? (details == nil && (body["total_items"]?.int64Value ?? 0) == 0 ? [] : nil)
      else {
        throw ExtractError(
          source: name,
          "\(label) returned no 'transaction_details' list (\(details.map { JSONValue.typeName($0) } ?? "missing")); nothing was published — is api_url pointing at PayPal?"
        )
      }
      for item in items {
        counts.input += 1
        let info = item["transaction_info"]
        guard let id = info?["transaction_id"]?.stringValue else {
          try sink.reject(
            DiagnosticRecord(
              source: name, file: path, line: page, code: "missing_id",
              reason: "a transaction on page \(page) of \(ws.iso8601)…\(we.iso8601) has no transaction_id", record: item
            ))
          counts.rejected += 1
          continue
        }
        let key = [
          id, info?["transaction_event_code"]?.stringValue ?? "", info?["transaction_status"]?.stringValue ?? "",
        ]
        .joined(separator: "\u{1F}")
        guard state.seen.insert(key).inserted else {
          counts.skipped += 1
          continue
        }
        if info?["paypal_reference_id_type"]?.stringValue == "SUB", let sub = info?["paypal_reference_id"]?.stringValue,
          !sub.isEmpty
        {
          state.subscriptionIDs.insert(sub)
        }
        let origin: JSONObject = JSONObject([
          "endpoint": .string(path), "page": .int(page), "start_date": .string(ws.iso8601),
          "end_date": .string(we.iso8601),
        ])
        try sink.emit(ExtractedRecord(source: name, kind: .paypalTransaction, origin: origin, record: item))
        counts.output += 1
      }
      let totalPages = body["total_pages"]?.int64Value ?? 0
      if Int64(page) >= totalPages { break }
      page += 1
    }
    return .done(lastRefreshed: lastRefreshed)
  }

  /// Stages each subscription; returns the plan ids they use.
  func fetchSubscriptions(_ ids: [String], session: PayPalSession, sink: ExtractSink, counts: inout SourceCounts)
    async throws -> [String]
  {
    var plans = Set<String>()
    for id in ids {
      if let record = try await fetchOne(
        "/v1/billing/subscriptions/", id, kind: .paypalSubscription, session: session, sink: sink, counts: &counts),
        let plan = record["plan_id"]?.stringValue
      {
        plans.insert(plan)
      }
    }
    return plans.sorted()
  }

  func fetchPlans(_ ids: [String], session: PayPalSession, sink: ExtractSink, counts: inout SourceCounts) async throws {
    for id in ids {
      _ = try await fetchOne("/v1/billing/plans/", id, kind: .paypalPlan, session: session, sink: sink, counts: &counts)
    }
  }

  func fetchOne(
    _ prefix: String, _ id: String, kind: RecordKind, session: PayPalSession, sink: ExtractSink,
    counts: inout SourceCounts
  ) async throws -> JSONValue? {
    let path = prefix + QueryString.escape(id)
    let label = "GET \(path)"
    counts.input += 1
    let response = try await session.get(path, [], label: label)
    if response.status == 404 {
      try sink.reject(
        DiagnosticRecord(
          source: name, file: path, line: 1, code: "not_found",
          reason:
            "PayPal does not know \(kind) \(id) (HTTP 404\(GatewayAPI.describe(response))); it was referenced by a transaction",
          externalID: id))
      counts.rejected += 1
      return nil
    }
    try session.api.check(response, label: label)
    let body = JSONValue.object(try session.api.json(response, label: label))
    try sink.emit(
      ExtractedRecord(
        source: name, kind: kind, origin: JSONObject(["endpoint": .string(path), "page": 1]), record: body))
    counts.output += 1
    return body
  }
}

import Foundation
import Logging
import RevenueCore
import Staging
import Transport

/// Extracts customers, subscriptions, invoices (with all lines), charges and refunds from the Stripe
/// API (docs/gateways "Stripe API") into `extract/stripe.ndjson`, each record exactly as Stripe returned it.
///
/// - List endpoints only (Search is eventually consistent): `limit`, `starting_after` = id of the last
///   object, loop while `has_more`.
/// - Customers, invoices, charges and refunds are read by `created` window `[start, now)`: the first run
///   starts at `since`; later runs at the cursor minus `lookback_days` (late finalisation, payment
///   retries). Subscriptions are listed whole every run with `status=all` (the default excludes
///   canceled ones), because a cancellation changes an old subscription without changing its `created`.
/// - Invoices ask `expand[]=data.payments` (2025-03-31.basil and later); an API version that refuses
///   the expansion is retried without it. Truncated `lines` (`lines.has_more`) are completed from
///   `GET /v1/invoices/{id}/lines` and merged into `lines.data` (then `has_more: false`); the origin
///   then carries `lines_pages`.
/// - Both invoice shapes (pre-basil and basil) are staged as returned; transform reads both.
/// - `livemode` is kept (transform skips test data); duplicates within a run are skipped by id.
public struct StripeSource: ExtractSource {
  public static let keys = [
    "api_key", "api_url", "since", "lookback_days", "api_version", "requests_per_second", "page_size",
  ]
  public let name = "stripe"

  let apiKey: Secret
  let apiURL: String
  let since: Timestamp
  let lookbackDays: Int
  let apiVersion: String?
  let requestsPerSecond: Double
  let pageSize: Int
  let keyLocation: SettingLocation
  let options: ExtractOptions
  let logger: Logger

  /// Reads `sources.stripe`: `api_key` (secret), `api_url` (default https://api.stripe.com), `since`,
  /// `lookback_days` (default 3), `api_version` (optional `Stripe-Version`), `requests_per_second`
  /// (default 20, at most 80), `page_size` (default 100, 1–100).
  init(config: ConfigMapping, options: ExtractOptions, logger: Logger, checkOnly: Bool) throws {
    let r = SettingsReader(mapping: config, checkOnly: checkOnly)
    apiKey = try r.requiredSecret("api_key")
    apiURL = try r.url("api_url", default: "https://api.stripe.com")
    since = try r.requiredTimestamp("since", why: "the date the first run starts reading Stripe history from")
    lookbackDays = try r.int("lookback_days", default: 3, range: 0...90)
    apiVersion = try r.string("api_version").flatMap { $0.isEmpty ? nil : $0 }
    requestsPerSecond = try r.double("requests_per_second", default: 20, range: 0.1...80)
    pageSize = try r.int("page_size", default: 100, range: 1...100)
    keyLocation = SettingLocation(config, "api_key")
    self.options = options
    self.logger = logger
  }

  struct Resource {
    var path: String
    var kind: RecordKind
    var windowed: Bool
    var extra: [(String, String)]
  }

  static let resources = [
    Resource(path: "/v1/customers", kind: .stripeCustomer, windowed: true, extra: []),
    Resource(path: "/v1/subscriptions", kind: .stripeSubscription, windowed: false, extra: [("status", "all")]),
    Resource(path: "/v1/invoices", kind: .stripeInvoice, windowed: true, extra: [("expand[]", "data.payments")]),
    Resource(path: "/v1/charges", kind: .stripeCharge, windowed: true, extra: []),
    Resource(path: "/v1/refunds", kind: .stripeRefund, windowed: true, extra: []),
  ]

  var headers: [(String, String)] {
    var h = [("Authorization", "Bearer \(apiKey.value)"), ("Accept", "application/json")]
    if let apiVersion { h.append(("Stripe-Version", apiVersion)) }
    return h
  }

  public func extract(into sink: ExtractSink, context: StageContext, cursor: JSONObject) async throws -> ExtractOutcome
  {
    let client = options.makeClient(requestsPerSecond: requestsPerSecond, logger: logger)
    let api = GatewayAPI(source: name, gateway: "Stripe", baseURL: apiURL, client: client, credentials: [keyLocation])
    let end = options.now()
    var start = since
    if let last = cursor["created_lt"]?.int64Value {
      start = max(since, Timestamp(seconds: last).adding(days: -lookbackDays))
    }
    if start > end { start = end }
    var counts = SourceCounts()
    var details = JSONObject()
    details["window_start"] = .string(start.iso8601)
    details["window_end"] = .string(end.iso8601)
    var pagesTotal = 0
    for resource in StripeSource.resources {
      let (pages, emitted) = try await list(resource, api: api, start: start, end: end, sink: sink, counts: &counts)
      pagesTotal += pages
      details[resource.kind.rawValue] = .int(emitted)
    }
    details["pages"] = .int(pagesTotal)
    details["http"] = await client.stats.snapshot().json
    let proposed: JSONObject = JSONObject(["created_lt": .int(end.seconds), "created_lt_iso": .string(end.iso8601)])
    return ExtractOutcome(accounting: counts.accounting, proposedCursor: proposed, details: details)
  }

  /// Pages through one list endpoint; returns (pages, records staged).
  func list(
    _ resource: Resource, api: GatewayAPI, start: Timestamp, end: Timestamp, sink: ExtractSink,
    counts: inout SourceCounts
  ) async throws -> (Int, Int) {
    var base: [(String, String)] = [("limit", String(pageSize))]
    if resource.windowed {
      base += [("created[gte]", String(start.seconds)), ("created[lt]", String(end.seconds))]
    }
    var extra = resource.extra
    var seen = Set<String>()
    var after: String? = nil
    var page = 0
    var emitted = 0
    while true {
      page += 1
      let label = "GET \(resource.path) page \(page)"
      let query = base + extra + (after.map { [("starting_after", $0)] } ?? [])
      let response = try await api.send(
        HTTPRequest(method: "GET", url: api.url(resource.path, query), headers: headers), label: label)
      if response.status == 400, extra.contains(where: { $0.0 == "expand[]" }),
        GatewayAPI.summary(response.bodyText).contains("expand")
      {
        logger.info("Stripe refused expand[]=data.payments on this API version; listing invoices without it")
        extra.removeAll { $0.0 == "expand[]" }
        page -= 1
        continue
      }
      try api.check(response, label: label)
      let body = try api.json(response, label: label)
      guard let data = body["data"]?.arrayValue else {
        throw ExtractError(
          source: name,
          "Stripe \(label) returned no 'data' list (\(body["data"].map { JSONValue.typeName($0) } ?? "missing")); nothing was published — is api_url pointing at Stripe?"
        )
      }
      for object in data {
        counts.input += 1
        guard let id = object["id"]?.stringValue else {
          try sink.reject(
            DiagnosticRecord(
              source: name, file: resource.path, line: page, code: "missing_id",
              reason: "a \(resource.kind) object on page \(page) has no id", record: object))
          counts.rejected += 1
          continue
        }
        guard seen.insert(id).inserted else {
          counts.skipped += 1
          continue
        }
        var record = object
        var origin: JSONObject = JSONObject(["endpoint": .string(resource.path), "page": .int(page)])
        if resource.kind == .stripeInvoice, object["lines"]?["has_more"]?.boolValue == true {
          let (full, extraPages) = try await completeLines(object, invoiceID: id, api: api)
          record = full
          origin["lines_pages"] = .int(extraPages + 1)
        }
        try sink.emit(ExtractedRecord(source: name, kind: resource.kind, origin: origin, record: record))
        counts.output += 1
        emitted += 1
      }
      guard body["has_more"]?.boolValue == true else { break }
      guard let last = data.last?["id"]?.stringValue else {
        throw ExtractError(source: name, "\(label) says has_more but its last object has no id to continue after")
      }
      after = last
    }
    return (page, emitted)
  }

  /// Reads the rest of a truncated invoice `lines` list and merges it into the invoice.
  func completeLines(_ invoice: JSONValue, invoiceID: String, api: GatewayAPI) async throws -> (JSONValue, Int) {
    guard case .object(var inv) = invoice, case .object(var lines)? = inv["lines"] else { return (invoice, 0) }
    var data = lines["data"]?.arrayValue ?? []
    var ids = Set(data.compactMap { $0["id"]?.stringValue })
    let path = "/v1/invoices/\(QueryString.escape(invoiceID))/lines"
    var after = data.last?["id"]?.stringValue
    var pages = 0
    var more = true
    while more {
      pages += 1
      let label = "GET \(path) page \(pages)"
      var q: [(String, String)] = [("limit", "100")]
      if let after { q.append(("starting_after", after)) }
      let body = try await api.getJSON(path, q, headers: headers, label: label)
      let chunk = body["data"]?.arrayValue ?? []
      for l in chunk where ids.insert(l["id"]?.stringValue ?? "").inserted { data.append(l) }
      more = body["has_more"]?.boolValue == true && !chunk.isEmpty
      after = chunk.last?["id"]?.stringValue
    }
    lines["data"] = .array(data)
    lines["has_more"] = .bool(false)
    inv["lines"] = .object(lines)
    return (.object(inv), pages)
  }
}

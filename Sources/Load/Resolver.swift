import Foundation
import RevenueCore

/// Finds ChartMogul objects by external id (docs/chartmogul.md "Identity and idempotency": look objects up by
/// `external_id` after a duplicate or an uncertain outcome) and caches what it learns.
actor Resolver {
  let client: ChartMogulClient
  let dataSource: String
  private var customerUUIDs: [String: String]
  private var subscriptionsByCustomer: [String: [JSONValue]] = [:]

  init(client: ChartMogulClient, dataSource: String, knownCustomers: [String: String]) {
    self.client = client
    self.dataSource = dataSource
    customerUUIDs = knownCustomers
  }

  func remember(customer externalID: String, uuid: String) { customerUUIDs[externalID] = uuid }
  func known(customer externalID: String) -> String? { customerUUIDs[externalID] }

  /// `GET /v1/customers?data_source_uuid=&external_id=` → `cus_…`, nil when ChartMogul has none.
  func customerUUID(_ externalID: String) async throws -> String? {
    if let u = customerUUIDs[externalID] { return u }
    let r = try await client.expectSuccess(
      "GET", "/v1/customers", query: [("data_source_uuid", dataSource), ("external_id", externalID)])
    for e in r.json?["entries"]?.arrayValue ?? [] {
      let ids = (e["external_ids"]?.arrayValue ?? []).compactMap(\.stringValue)
      if e["external_id"]?.stringValue == externalID || ids.contains(externalID), let u = e["uuid"]?.stringValue {
        customerUUIDs[externalID] = u
        return u
      }
    }
    return nil
  }

  /// Learns the uuids of `wanted` customers not known yet: up to `lookupLimit` one by one
  /// (`GET /v1/customers?data_source_uuid=&external_id=`), more by paging the data source's customers
  /// 200 at a time (dev.chartmogul.com/reference/customers/list: `per_page` up to 200, `cursor`) and
  /// stopping once all are found — never one request per customer of a large load. Returns the
  /// uuids learned.
  @discardableResult
  func learnCustomers(_ wanted: Set<String>, lookupLimit: Int = 25) async throws -> [String: String] {
    let missing = wanted.filter { customerUUIDs[$0] == nil }
    guard !missing.isEmpty else { return [:] }
    var learned: [String: String] = [:]
    if missing.count <= lookupLimit {
      for id in missing.sorted() {
        if let u = try await customerUUID(id) { learned[id] = u }
      }
      return learned
    }
    var cursor: String? = nil
    pages: for _ in 0..<1_000_000 {
      var q: [(String, String)] = [("data_source_uuid", dataSource), ("per_page", "200")]
      if let cursor { q.append(("cursor", cursor)) }
      let r = try await client.expectSuccess("GET", "/v1/customers", query: q)
      for e in r.json?["entries"]?.arrayValue ?? [] {
        guard let u = e["uuid"]?.stringValue else { continue }
        var ids = (e["external_ids"]?.arrayValue ?? []).compactMap(\.stringValue)
        if let x = e["external_id"]?.stringValue { ids.append(x) }
        for x in ids where missing.contains(x) && learned[x] == nil {
          learned[x] = u
          customerUUIDs[x] = u
        }
      }
      pagesRead += 1
      if learned.count == missing.count { break pages }
      guard r.json?["has_more"]?.boolValue == true, let next = r.json?["cursor"]?.stringValue, !next.isEmpty else {
        break
      }
      cursor = next
    }
    return learned
  }

  /// Pages of the customer list read by `learnCustomers` (for the summary).
  private(set) var pagesRead = 0

  /// `GET /v1/invoices?data_source_uuid=&external_id=` → the invoice (with its transactions), or nil.
  func invoice(_ externalID: String) async throws -> JSONValue? {
    let r = try await client.expectSuccess(
      "GET", "/v1/invoices", query: [("data_source_uuid", dataSource), ("external_id", externalID)])
    for inv in r.json?["invoices"]?.arrayValue ?? [] where inv["external_id"]?.stringValue == externalID {
      if let cid = inv["customer_external_id"]?.stringValue, let cu = inv["customer_uuid"]?.stringValue {
        customerUUIDs[cid] = cu
      }
      return inv
    }
    return nil
  }

  /// `GET /v1/plans?data_source_uuid=&external_id=` → `pl_…`, or nil.
  func planUUID(_ externalID: String) async throws -> String? {
    let r = try await client.expectSuccess(
      "GET", "/v1/plans", query: [("data_source_uuid", dataSource), ("external_id", externalID)])
    for p in r.json?["plans"]?.arrayValue ?? [] where p["external_id"]?.stringValue == externalID {
      return p["uuid"]?.stringValue
    }
    return nil
  }

  /// `GET /v1/import/customers/{cus}/subscriptions` (all pages), cached per customer.
  func subscriptions(customerUUID: String) async throws -> [JSONValue] {
    if let s = subscriptionsByCustomer[customerUUID] { return s }
    var all: [JSONValue] = []
    var cursor: String? = nil
    let path = "/v1/import/customers/\(ChartMogulClient.segment(customerUUID))/subscriptions"
    for _ in 0..<10_000 {
      var q: [(String, String)] = [("per_page", "200")]
      if let cursor { q.append(("cursor", cursor)) }
      let r = try await client.expectSuccess("GET", path, query: q)
      all += r.json?["subscriptions"]?.arrayValue ?? []
      guard r.json?["has_more"]?.boolValue == true, let next = r.json?["cursor"]?.stringValue, !next.isEmpty else {
        break
      }
      cursor = next
    }
    subscriptionsByCustomer[customerUUID] = all
    return all
  }

  func forgetSubscriptions(customerUUID: String) { subscriptionsByCustomer[customerUUID] = nil }
}

/// Builds ledger entries with the fields each kind carries.
struct EntryFactory: Sendable {
  let runID: String
  let prior: PriorLedger

  func attempts(_ kind: LedgerKind, _ key: String) -> Int { (prior.entry(kind, key)?.attempts ?? 0) + 1 }

  func make(
    _ kind: LedgerKind, _ key: String, _ status: LedgerStatus, uuid: String? = nil, fields: JSONObject,
    error: ChartMogulError? = nil, message: String? = nil, sent: Bool = true
  ) -> LedgerEntry {
    var f = fields
    if let error {
      for x in error.ledgerFields { f[x.key] = x.value }
      if error.isTransient { f["transient"] = true }
    }
    if let message { f["error"] = .string(Redactor.shared.redact(message)) }
    let a = sent ? attempts(kind, key) : (prior.entry(kind, key)?.attempts ?? 0)
    return LedgerEntry(kind: kind, key: key, status: status, uuid: uuid, attempts: a, runID: runID, fields: f)
  }

  static func fields(customer id: String) -> JSONObject { ["external_id": .string(id)] }
  static func fields(plan p: PlanRecord) -> JSONObject { ["external_id": .string(p.externalID)] }
  static func fields(invoice i: InvoiceRecord) -> JSONObject {
    var o: JSONObject = ["external_id": .string(i.externalID), "customer_external_id": .string(i.customerExternalID)]
    o.set("app_transaction_id", .optional(i.appTransactionID))
    return o
  }
  static func fields(transaction t: TransactionRecord, invoice i: InvoiceRecord) -> JSONObject {
    var o: JSONObject = [
      "external_id": .string(t.externalID), "invoice_external_id": .string(i.externalID),
      "customer_external_id": .string(i.customerExternalID), "transaction_type": .string(t.type.rawValue),
    ]
    o.set("amount_in_cents", .optional(t.amountInCents))
    o.set("app_transaction_id", .optional(i.appTransactionID))
    return o
  }
  static func fields(cancellation c: CancellationRecord) -> JSONObject {
    var o: JSONObject = [
      "subscription_external_id": .string(c.subscriptionExternalID),
      "customer_external_id": .string(c.customerExternalID), "cancelled_at": .string(c.cancelledAt.iso8601),
    ]
    o.set("app_subscription_id", .optional(c.appSubscriptionID))
    return o
  }
  static func fields(attributes a: AttributeRecord) -> JSONObject {
    ["customer_external_id": .string(a.customerExternalID), "tags": .int(a.tags.count), "custom": .int(a.custom.count)]
  }
}

import RevenueCore

/// ChartMogul request bodies built from the staged records. Only ChartMogul's own field names go on
/// the wire (docs/chartmogul.md "Plans", "Bulk import"): our extras (a plan's currency, an invoice's gateway, app ids,
/// merged ids) are left out.
enum WireFormat {
  /// A customer in a bulk import. The bulk import takes customers as "Create a Customer" does,
  /// including `attributes: {tags, custom: [{type, key, value}]}` (dev.chartmogul.com/reference/import-data-bulk,
  /// /reference/customers/add), so a new customer's attributes travel with it.
  static func customer(_ c: CustomerRecord, attributes: AttributeRecord? = nil) -> JSONValue {
    var o = JSONObject()
    if let a = attributes, !(a.tags.isEmpty && a.custom.isEmpty) {
      var attrs = JSONObject()
      if !a.tags.isEmpty { attrs["tags"] = .array(a.tags.map { .string($0) }) }
      if !a.custom.isEmpty { attrs["custom"] = .array(a.custom.map(\.json)) }
      o["attributes"] = .object(attrs)
    }
    o["external_id"] = .string(c.externalID)
    o.set("name", .optional(c.name))
    o.set("email", .optional(c.email))
    o.set("country", .optional(c.country))
    o.set("lead_created_at", .optional(c.leadCreatedAt?.iso8601))
    o.set("free_trial_started_at", .optional(c.freeTrialStartedAt?.iso8601))
    return .object(o)
  }

  /// A plan in a bulk import: no currency (ChartMogul plans have none; ours is for checking only).
  static func plan(_ p: PlanRecord) -> JSONValue {
    [
      "external_id": .string(p.externalID), "name": .string(p.name), "interval_count": .int(p.intervalCount),
      "interval_unit": .string(p.intervalUnit.rawValue),
    ]
  }

  /// An invoice header in a bulk import (line items and transactions go in their own arrays).
  static func invoice(_ i: InvoiceRecord) -> JSONValue {
    var o = JSONObject()
    o["external_id"] = .string(i.externalID)
    o["customer_external_id"] = .string(i.customerExternalID)
    o["date"] = .string(i.date.iso8601)
    o["currency"] = .string(i.currency)
    o.set("due_date", .optional(i.dueDate?.iso8601))
    o.set("collection_method", .optional(i.collectionMethod))
    return .object(o)
  }

  /// A line item linked to its invoice by `invoice_external_id`.
  static func lineItem(_ l: LineItemRecord, invoice: String) -> JSONValue {
    guard case .object(var o) = l.json else { return l.json }
    o["invoice_external_id"] = .string(invoice)
    return .object(o)
  }

  /// A transaction: standalone (`POST /v1/import/invoices/{uuid}/transactions`) or linked by
  /// `invoice_external_id` in a bulk import.
  static func transaction(_ t: TransactionRecord, invoice: String? = nil) -> JSONValue {
    guard case .object(var o) = t.json else { return t.json }
    o.set("invoice_external_id", .optional(invoice))
    return .object(o)
  }

  /// `POST /v1/customers/{uuid}/attributes/custom` body: always an array (an object gives a 500, §4).
  static func customAttributes(_ a: AttributeRecord) -> JSONValue {
    ["custom": .array(a.custom.map(\.json))]
  }

  static func tags(_ a: AttributeRecord) -> JSONValue { ["tags": .array(a.tags.map { .string($0) })] }

  /// `POST …/attributes/custom` with only the keys ChartMogul does not have yet.
  static func newCustom(_ list: [CustomAttribute]) -> JSONValue { ["custom": .array(list.map(\.json))] }

  /// `PUT …/attributes/custom`: `{"custom": {key: value}}` for keys already defined.
  static func changedCustom(_ list: [CustomAttribute]) -> JSONValue {
    var o = JSONObject()
    for a in list { o[a.key] = a.value }
    return ["custom": .object(o)]
  }

  /// `DELETE …/attributes/custom`: `{"custom": [keys]}`.
  static func removedCustom(_ keys: [String]) -> JSONValue { ["custom": .array(keys.map { .string($0) })] }

  /// `POST` / `DELETE …/attributes/tags`: `{"tags": [...]}`.
  static func tagList(_ tags: [String]) -> JSONValue { ["tags": .array(tags.map { .string($0) })] }

  /// What a dry run shows for a cancellation (the real body also carries the dates ChartMogul
  /// already has, see `cancellationDates`).
  static func cancellation(_ c: CancellationRecord) -> JSONValue {
    if let dates = c.cancellationDates { return cancellationDates(dates) }
    return ["cancelled_at": .string(c.cancelledAt.iso8601)]
  }

  /// `PATCH /v1/import/subscriptions/{uuid}` with the subscription's full list of cancellation
  /// dates, sorted and without repeats: it replaces ChartMogul's list
  /// (https://dev.chartmogul.com/docs/changing-customer-churn-history), so sending it twice changes nothing.
  static func cancellationDates(_ dates: [Timestamp]) -> JSONValue {
    let all = Set(dates.map(\.seconds)).sorted()
    return ["cancellation_dates": .array(all.map { .string(Timestamp(seconds: $0).iso8601) })]
  }
}

/// All pending records of one customer: they always travel in the same bulk request (§8).
struct CustomerUnit: Sendable {
  var customerExternalID: String
  /// The customer object; nil when it is not in this run's input.
  var customer: CustomerRecord?
  /// Is the customer itself still to be confirmed (else it is only sent to carry its new invoices)?
  var customerPending: Bool
  var invoices: [InvoiceRecord]
  /// Tags and custom attributes sent inside the customer object (a customer new to ChartMogul).
  var attributes: AttributeRecord? = nil

  var invoiceCount: Int { invoices.count }
  var transactionCount: Int { invoices.reduce(0) { $0 + $1.transactions.count } }

  /// The unit's objects per bulk array, serialised (for size accounting and the body).
  func parts() -> (customers: [JSONValue], invoices: [JSONValue], lines: [JSONValue], transactions: [JSONValue]) {
    var cs: [JSONValue] = []
    if let customer { cs.append(WireFormat.customer(customer, attributes: attributes)) }
    var inv: [JSONValue] = []
    var lines: [JSONValue] = []
    var txs: [JSONValue] = []
    for i in invoices {
      inv.append(WireFormat.invoice(i))
      for l in i.lineItems { lines.append(WireFormat.lineItem(l, invoice: i.externalID)) }
      for t in i.transactions { txs.append(WireFormat.transaction(t, invoice: i.externalID)) }
    }
    return (cs, inv, lines, txs)
  }

  /// Serialised size of the unit's objects (plus separators).
  func byteSize() -> Int {
    let p = parts()
    var n = 0
    for v in p.customers + p.invoices + p.lines + p.transactions { n += JSONWriter.bytes(v).count + 1 }
    return n
  }
}

/// One `POST /v1/data_sources/{uuid}/json_imports` request. The body is built when it is sent
/// (`body`), not kept: a load holds at most the bodies of the imports in flight.
struct BulkBatch: Sendable {
  var externalID: String
  var plans: [PlanRecord]
  var units: [CustomerUnit]
  var bytes: Int

  var customerIDs: [String] { units.map(\.customerExternalID) }
  var invoiceCount: Int { units.reduce(0) { $0 + $1.invoiceCount } }

  /// The request body: the same bytes every time it is built (sorted keys, content-derived id).
  var body: JSONValue {
    var o = BulkBatch.content(plans: plans, units: units)
    o["external_id"] = .string(externalID)
    return .object(o)
  }

  static func content(plans: [PlanRecord], units: [CustomerUnit]) -> JSONObject {
    var cs: [JSONValue] = []
    var inv: [JSONValue] = []
    var lines: [JSONValue] = []
    var txs: [JSONValue] = []
    for u in units {
      let p = u.parts()
      cs += p.customers
      inv += p.invoices
      lines += p.lines
      txs += p.transactions
    }
    var o = JSONObject()
    o["customers"] = .array(cs)
    o["plans"] = .array(plans.map(WireFormat.plan))
    o["invoices"] = .array(inv)
    o["line_items"] = .array(lines)
    o["transactions"] = .array(txs)
    return o
  }

  /// The import's `external_id` is derived from the content, so a retried or dry-run request is
  /// byte-identical and a re-sent import is recognised as the same one.
  static func make(pipeline: String, runID: String, plans: [PlanRecord], units: [CustomerUnit]) -> BulkBatch {
    let bytes = JSONWriter.bytes(.object(content(plans: plans, units: units)))
    let digest = SHA256.hex(bytes).prefix(16)
    let ext = "\(pipeline)-\(runID)-\(digest)"
    return BulkBatch(externalID: ext, plans: plans, units: units, bytes: bytes.count + ext.utf8.count + 16)
  }

  /// Splits units into batches of at most `maxCustomers` customers and `maxBytes` serialised bytes.
  /// Plans ride in the first batch (which finishes before any other starts, so invoices never
  /// reference a plan that is still being imported).
  static func split(
    pipeline: String, runID: String, plans: [PlanRecord], units: [CustomerUnit], maxCustomers: Int, maxBytes: Int
  ) -> (batches: [BulkBatch], oversized: [CustomerUnit]) {
    var batches: [BulkBatch] = []
    var oversized: [CustomerUnit] = []
    var current: [CustomerUnit] = []
    var size = plans.reduce(512) { $0 + JSONWriter.bytes(WireFormat.plan($1)).count + 1 }
    var pendingPlans = plans
    func close() {
      guard !current.isEmpty || !pendingPlans.isEmpty else { return }
      batches.append(make(pipeline: pipeline, runID: runID, plans: pendingPlans, units: current))
      pendingPlans = []
      current = []
      size = 512
    }
    for u in units {
      let s = u.byteSize()
      if s + 512 > LoadConfig.bulkPayloadLimit {
        oversized.append(u)
        continue
      }
      if !current.isEmpty && (current.count >= maxCustomers || size + s > maxBytes) { close() }
      current.append(u)
      size += s
    }
    close()
    return (batches, oversized)
  }
}

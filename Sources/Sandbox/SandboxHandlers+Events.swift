import Foundation
import RevenueCore

/// A subscription event (dev.chartmogul.com/reference/subscription-events). All references are
/// external ids; the sandbox stores events and does not derive MRR from them (see docs/chartmogul.md,
/// "Sandbox fidelity").
struct SBSubscriptionEvent: Codable, Sendable {
  var id: Int
  var dataSourceUUID: String
  var customerExternalID: String
  var subscriptionExternalID: String
  var subscriptionSetExternalID: String?
  var planExternalID: String?
  var eventType: String
  var eventDate: Int64
  var effectiveDate: Int64
  var externalID: String?
  var currency: String?
  var amountInCents: Int64?
  var quantity: Int64?
  var taxAmountInCents: Int64?
  var retractedEventID: String?
  var eventOrder: Int64?
  var createdAt: Int64
  var updatedAt: Int64
}

extension SandboxEngine {
  static let eventTypes = [
    "subscription_start", "subscription_start_scheduled", "scheduled_subscription_start_retracted",
    "subscription_updated", "subscription_update_scheduled", "scheduled_subscription_update_retracted",
    "subscription_cancelled", "subscription_cancellation_scheduled", "scheduled_subscription_cancellation_retracted",
    "subscription_event_retracted",
  ]
  /// Event types that set a price: they need a plan, a currency and an amount.
  static let pricedEventTypes = [
    "subscription_start", "subscription_start_scheduled", "subscription_updated", "subscription_update_scheduled",
  ]
  static let eventFields = [
    "data_source_uuid", "customer_external_id", "subscription_external_id", "subscription_set_external_id",
    "plan_external_id", "event_type", "event_date", "effective_date", "external_id", "currency", "amount_in_cents",
    "quantity", "tax_amount_in_cents", "retracted_event_id", "event_order",
  ]

  func eventJSON(_ e: SBSubscriptionEvent) -> JSONValue {
    func t(_ s: Int64) -> JSONValue { .string(Timestamp(seconds: s).iso8601) }
    return .object(
      JSONObject([
        "id": .int(e.id), "data_source_uuid": .string(e.dataSourceUUID),
        "customer_external_id": .string(e.customerExternalID),
        "subscription_set_external_id": sbString(e.subscriptionSetExternalID),
        "subscription_external_id": .string(e.subscriptionExternalID), "plan_external_id": sbString(e.planExternalID),
        "event_date": t(e.eventDate), "effective_date": t(e.effectiveDate), "event_type": .string(e.eventType),
        "external_id": sbString(e.externalID), "errors": .object(JSONObject()), "created_at": t(e.createdAt),
        "updated_at": t(e.updatedAt), "quantity": sbInt(e.quantity), "currency": sbString(e.currency),
        "amount_in_cents": sbInt(e.amountInCents), "tax_amount_in_cents": sbInt(e.taxAmountInCents),
        "retracted_event_id": sbString(e.retractedEventID), "event_order": sbInt(e.eventOrder),
      ]))
  }

  /// The `{"subscription_event": {…}}` envelope every write takes.
  func eventEnvelope(_ req: WireRequest) throws(ResponseError) -> JSONObject {
    var c = Checker(try requireBody(req), allowed: ["subscription_event"])
    guard let inner = c.objectField("subscription_event"), c.ok else {
      throw ResponseError(
        Self.errors(
          c.ok ? [("subscription_event", "is required: wrap the event as {\"subscription_event\": {…}}")] : c.errors))
    }
    return inner
  }

  /// Reads and checks every field of `o` over `base` (nil = create: required fields enforced).
  func parseEvent(_ o: JSONObject, over base: SBSubscriptionEvent?, allowed: [String]) -> Result<
    SBSubscriptionEvent, ResponseError
  > {
    var c = Checker(o, allowed: allowed)
    let creating = base == nil
    var e =
      base
      ?? SBSubscriptionEvent(
        id: 0, dataSourceUUID: "", customerExternalID: "", subscriptionExternalID: "", eventType: "", eventDate: 0,
        effectiveDate: 0, createdAt: now(), updatedAt: now())
    if creating {
      e.dataSourceUUID = c.string("data_source_uuid", required: true) ?? ""
      if !e.dataSourceUUID.isEmpty, index.dataSource[e.dataSourceUUID] == nil {
        c.fail("data_source_uuid", "Data source not found")
      }
      e.externalID = c.string("external_id")
    }
    func text(_ k: String, _ required: Bool) -> String? {
      o[k] == nil && !creating ? nil : c.string(k, required: required)
    }
    if let v = text("customer_external_id", creating) { e.customerExternalID = v }
    if let v = text("subscription_external_id", creating) { e.subscriptionExternalID = v }
    if o["subscription_set_external_id"] != nil {
      e.subscriptionSetExternalID = c.string("subscription_set_external_id")
    }
    if o["plan_external_id"] != nil { e.planExternalID = c.string("plan_external_id") }
    if o["event_type"] != nil || creating, let v = c.choice("event_type", Self.eventTypes, required: true) {
      e.eventType = v
    }
    for k in ["event_date", "effective_date"] where o[k] != nil || creating {
      if let t = c.timestamp(k, required: true) {
        if k == "event_date" { e.eventDate = t } else { e.effectiveDate = t }
      }
    }
    if o["currency"] != nil { e.currency = c.currency("currency") }
    if o["amount_in_cents"] != nil { e.amountInCents = c.int("amount_in_cents") }
    if o["quantity"] != nil { e.quantity = c.int("quantity") }
    if o["tax_amount_in_cents"] != nil { e.taxAmountInCents = c.int("tax_amount_in_cents") }
    if o["retracted_event_id"] != nil { e.retractedEventID = c.string("retracted_event_id") }
    if o["event_order"] != nil { e.eventOrder = c.int("event_order") }
    if c.ok, index.customerByExt[SBIndex.key(e.dataSourceUUID, e.customerExternalID)] == nil {
      c.fail("customer_external_id", "Customer not found in data source \(e.dataSourceUUID)")
    }
    if c.ok, Self.pricedEventTypes.contains(e.eventType) {
      if e.planExternalID == nil { c.fail("plan_external_id", "is required for \(e.eventType)") }
      if e.currency == nil { c.fail("currency", "is required for \(e.eventType)") }
      if e.amountInCents == nil { c.fail("amount_in_cents", "is required for \(e.eventType)") }
    }
    if c.ok, let p = e.planExternalID, index.planByExt[SBIndex.key(e.dataSourceUUID, p)] == nil {
      c.fail("plan_external_id", "Plan not found in data source \(e.dataSourceUUID)")
    }
    guard c.ok else { return .failure(ResponseError(Self.errors(c.errors))) }
    return .success(e)
  }

  /// `POST /v1/subscription_events` `{"subscription_event":{…}}` → 201 with the event.
  func createEvent(_ req: WireRequest) throws(ResponseError) -> WireResponse {
    let o = try eventEnvelope(req)
    var e: SBSubscriptionEvent
    switch parseEvent(o, over: nil, allowed: Self.eventFields) {
    case .success(let v): e = v
    case .failure(let err): return err.response
    }
    var events = state.subscriptionEvents ?? []
    if let x = e.externalID, events.contains(where: { $0.dataSourceUUID == e.dataSourceUUID && $0.externalID == x }) {
      return Self.errors([("external_id", "The external ID for this subscription event already exists in our system.")])
    }
    e.id = 378_000_001 + events.count
    events.append(e)
    state.subscriptionEvents = events
    markChanged()
    return Self.json(201, eventJSON(e))
  }

  /// `GET /v1/subscription_events?…` filtered by any of its fields, cursor-paged.
  func listEvents(_ req: WireRequest) throws(ResponseError) -> WireResponse {
    var list = state.subscriptionEvents ?? []
    let filters: [(String, (SBSubscriptionEvent) -> String?)] = [
      ("data_source_uuid", { $0.dataSourceUUID }), ("external_id", { $0.externalID }),
      ("customer_external_id", { $0.customerExternalID }), ("subscription_external_id", { $0.subscriptionExternalID }),
      ("event_type", { $0.eventType }), ("plan_external_id", { $0.planExternalID }),
      ("event_date", { Timestamp(seconds: $0.eventDate).dateString }),
      ("effective_date", { Timestamp(seconds: $0.effectiveDate).dateString }),
    ]
    for (k, f) in filters {
      guard let want = req.queryValue(k) else { continue }
      let day = k.hasSuffix("_date") ? Timestamp.parse(want)?.dateString : nil
      list = list.filter { f($0) == (day ?? want) }
    }
    let page = try paginate(list, req)
    var env = JSONObject([
      "subscription_events": .array(page.items.map(eventJSON)), "cursor": sbString(page.cursor),
      "has_more": .bool(page.hasMore),
    ])
    env["meta"] = .object(JSONObject(["page": .int(page.currentPage), "total_pages": .int(page.totalPages)]))
    return Self.json(200, .object(env))
  }

  /// The event an update or delete names: `id`, or `data_source_uuid` + `external_id`.
  func eventIndex(_ o: JSONObject) throws(ResponseError) -> Int {
    let events = state.subscriptionEvents ?? []
    if let id = o["id"]?.int64Value {
      guard let i = events.firstIndex(where: { Int64($0.id) == id }) else {
        throw ResponseError(Self.notFound("Subscription event"))
      }
      return i
    }
    guard let ds = o["data_source_uuid"]?.stringValue, let ext = o["external_id"]?.stringValue else {
      throw ResponseError(Self.errors([("id", "name the event by id, or by data_source_uuid and external_id")]))
    }
    guard let i = events.firstIndex(where: { $0.dataSourceUUID == ds && $0.externalID == ext }) else {
      throw ResponseError(Self.notFound("Subscription event"))
    }
    return i
  }

  /// `PATCH /v1/subscription_events` `{"subscription_event":{"id":…, changes}}` → 200 with the event.
  func updateEvent(_ req: WireRequest) throws(ResponseError) -> WireResponse {
    var o = try eventEnvelope(req)
    let i = try eventIndex(o)
    for k in ["id", "data_source_uuid", "external_id"] { o[k] = nil }
    let allowed = Self.eventFields.filter { $0 != "data_source_uuid" && $0 != "external_id" }
    switch parseEvent(o, over: state.subscriptionEvents![i], allowed: allowed) {
    case .success(var e):
      e.updatedAt = now()
      state.subscriptionEvents![i] = e
      markChanged()
      return Self.json(200, eventJSON(e))
    case .failure(let err): return err.response
    }
  }

  /// `DELETE /v1/subscription_events` `{"subscription_event":{"id":…}}` → 204.
  func deleteEvent(_ req: WireRequest) throws(ResponseError) -> WireResponse {
    let i = try eventIndex(try eventEnvelope(req))
    state.subscriptionEvents!.remove(at: i)
    markChanged()
    return WireResponse(status: 204, body: [])
  }
}

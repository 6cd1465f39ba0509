import Foundation
import RevenueCore

// Invoices, transactions and subscriptions (reference §5–§7).
extension SandboxEngine {
  func lineItemJSON(_ li: SBLineItem) -> JSONValue {
    var o = JSONObject([
      "uuid": .string(li.uuid), "external_id": sbString(li.externalID), "type": .string(li.type),
      "amount_in_cents": .int(li.amountInCents), "quantity": .int(li.quantity),
      "discount_code": sbString(li.discountCode), "discount_amount_in_cents": .int(li.discountAmountInCents),
      "tax_amount_in_cents": .int(li.taxAmountInCents),
      "transaction_fees_in_cents": .int(li.transactionFeesInCents ?? 0),
      "transaction_fees_currency": sbString(li.transactionFeesCurrency),
      "discount_description": sbString(li.discountDescription), "event_order": sbInt(li.eventOrder),
      "account_code": .string(li.accountCode ?? ""), "description": sbString(li.description),
    ])
    if li.type != "one_time" {
      o["subscription_uuid"] = sbString(li.subscriptionUUID)
      o["subscription_external_id"] = sbString(li.subscriptionExternalID)
      o["subscription_set_external_id"] = sbString(li.subscriptionSetExternalID)
      o["plan_uuid"] = sbString(li.planUUID)
      o["prorated"] = .bool(li.prorated)
      o["proration_type"] = sbString(li.prorationType)
      o["service_period_start"] = sbTime(li.servicePeriodStart)
      o["service_period_end"] = sbTime(li.servicePeriodEnd)
    }
    return .object(o)
  }

  func transactionJSON(_ t: SBTransaction) -> JSONValue {
    .object(
      JSONObject([
        "uuid": .string(t.uuid), "external_id": sbString(t.externalID), "type": .string(t.type),
        "date": sbTime(t.date), "result": .string(t.result), "amount_in_cents": sbInt(t.amountInCents),
        "transaction_fees_in_cents": sbInt(t.transactionFeesInCents),
        "transaction_fees_currency": sbString(t.transactionFeesCurrency),
      ]))
  }

  func invoiceJSON(_ inv: SBInvoice, withCustomer: Bool) -> JSONValue {
    var o = JSONObject([
      "uuid": .string(inv.uuid), "external_id": .string(inv.externalID), "date": sbTime(inv.date),
      "due_date": sbTime(inv.dueDate), "currency": .string(inv.currency), "errors": .object(JSONObject()),
      "line_items": .array(inv.lineItems.map(lineItemJSON)),
      "transactions": .array(inv.transactions.map(transactionJSON)),
    ])
    if withCustomer { o["customer_uuid"] = .string(inv.customerUUID) }
    if let m = inv.collectionMethod { o["collection_method"] = .string(m) }
    return .object(o)
  }

  /// `POST /v1/import/customers/{uuid}/invoices`. All-or-nothing: when any invoice of the request
  /// is invalid, nothing is stored and the 422 lists every invoice with its `errors` (`{}` for the
  /// valid ones) — a client re-sends the valid ones.
  func importInvoices(_ uuid: String, _ req: WireRequest) throws(ResponseError) -> WireResponse {
    guard let ci = index.customer[uuid] else {
      // Recorded real response for a path holding something other than a customer uuid (§5).
      return Self.json(
        404,
        [
          "error": "Invoice not found",
          "error_details": [["param": "invoice", "code": "invalid", "message": "Invoice not found"]],
        ])
    }
    let customer = state.customers[ci]
    var c = Checker(try requireBody(req), allowed: ["invoices"])
    guard let list = c.array("invoices", required: true), c.ok else { return Self.errors(c.errors) }
    if list.isEmpty { return Self.errors([("invoices", "must contain at least one invoice")]) }
    var pending = PendingIDs()
    var parsed: [SBInvoice] = []
    var report: [JSONValue] = []
    var failed = false
    for v in list {
      let (inv, errs) = parseNestedInvoice(v, customer: customer, pending: &pending)
      let ext = v["external_id"] ?? .null
      if let inv {
        parsed.append(inv)
        report.append(["external_id": ext, "errors": .object(JSONObject())])
      } else {
        failed = true
        report.append(["external_id": ext, "errors": .object(Self.errorObject(errs))])
      }
    }
    if failed { return Self.json(422, ["invoices": .array(report)]) }
    for inv in parsed { commitInvoice(inv) }
    markChanged()
    let stored = parsed.map { state.invoices[index.invoice[$0.uuid]!] }
    return Self.json(201, ["invoices": .array(stored.map { invoiceJSON($0, withCustomer: false) })])
  }

  func listCustomerInvoices(_ uuid: String, _ req: WireRequest) throws(ResponseError) -> WireResponse {
    _ = try customerIndex(uuid)
    let list = state.invoices.filter { $0.customerUUID == uuid }
    let page = try paginate(list, req)
    var env = page.envelope("invoices", page.items.map { invoiceJSON($0, withCustomer: false) })
    env["customer_uuid"] = .string(uuid)
    return Self.json(200, .object(env))
  }

  /// `GET /v1/invoices?data_source_uuid=&customer_uuid=&external_id=`.
  func listInvoices(_ req: WireRequest) throws(ResponseError) -> WireResponse {
    let ds = req.queryValue("data_source_uuid")
    let cu = req.queryValue("customer_uuid")
    let ext = req.queryValue("external_id")
    var list: [SBInvoice]
    if let ds, let ext {
      list = index.invoiceByExt[SBIndex.key(ds, ext)].map { [state.invoices[$0]] } ?? []
    } else {
      list = state.invoices.filter { (ds == nil || $0.dataSourceUUID == ds) && (ext == nil || $0.externalID == ext) }
    }
    if let cu { list = list.filter { $0.customerUUID == cu } }
    let page = try paginate(list, req)
    return Self.json(200, .object(page.envelope("invoices", page.items.map { invoiceJSON($0, withCustomer: true) })))
  }

  func getInvoice(_ uuid: String) -> WireResponse {
    guard let i = index.invoice[uuid] else { return Self.notFound("Invoice") }
    return Self.json(200, invoiceJSON(state.invoices[i], withCustomer: true))
  }

  /// `POST /v1/import/invoices/{uuid}/transactions` → 201; refunds beyond the invoiced total → 422.
  func addTransaction(_ uuid: String, _ req: WireRequest) throws(ResponseError) -> WireResponse {
    guard let i = index.invoice[uuid] else { return Self.notFound("Invoice") }
    let inv = state.invoices[i]
    var c = Checker(try requireBody(req), allowed: Self.transactionFields)
    var pending = PendingIDs()
    guard let tx = parseTransaction(&c, dataSourceUUID: inv.dataSourceUUID, pending: &pending), c.ok else {
      return Self.errors(c.errors)
    }
    if let e = Self.transactionTotalsError(total: inv.total, inv.transactions + [tx]) {
      return Self.errors([("amount_in_cents", e)])
    }
    state.invoices[i].transactions.append(tx)
    if let e = tx.externalID { index.transactionExt.insert(SBIndex.key(inv.dataSourceUUID, e)) }
    markChanged()
    return Self.json(201, transactionJSON(tx))
  }

  // MARK: - Subscriptions

  func importSubscriptionJSON(_ s: SBSubscription) -> JSONValue {
    .object(
      JSONObject([
        "uuid": .string(s.uuid), "external_id": .string(s.externalID),
        "subscription_set_external_id": sbString(s.subscriptionSetExternalID),
        "cancellation_dates": .array(s.cancellationDates.map { sbTime($0) }), "plan_uuid": .string(s.planUUID),
        "data_source_uuid": .string(s.dataSourceUUID), "customer_uuid": .string(s.customerUUID),
      ]))
  }

  func importSubscriptions(_ uuid: String, _ req: WireRequest) throws(ResponseError) -> WireResponse {
    _ = try customerIndex(uuid)
    let list = state.subscriptions.filter { $0.customerUUID == uuid }
    let page = try paginate(list, req)
    var env = page.envelope("subscriptions", page.items.map(importSubscriptionJSON))
    env["customer_uuid"] = .string(uuid)
    return Self.json(200, .object(env))
  }

  /// `GET /v1/customers/{uuid}/subscriptions` (metrics view): `mrr`/`arr` in account currency now.
  func metricsSubscriptions(_ uuid: String, _ req: WireRequest) throws(ResponseError) -> WireResponse {
    _ = try customerIndex(uuid)
    let model = mrrModel()
    let list = state.subscriptions.filter { $0.customerUUID == uuid }
    let page = try paginate(list, req)
    let entries: [JSONValue] = page.items.map { s in
      let info = model.subscriptions[s.uuid]
      let plan = index.plan[s.planUUID].map { state.plans[$0] }
      let mrr = info?.mrrNow ?? 0
      return .object(
        JSONObject([
          "id": .int(s.id), "uuid": .string(String(s.uuid.dropFirst(4))), "external_id": .string(s.externalID),
          "subscription_set_external_id": sbString(s.subscriptionSetExternalID), "quantity": .int(info?.quantity ?? 1),
          "mrr": .int(mrr), "arr": .int(mrr * 12), "status": .string(mrr > 0 ? "active" : "inactive"),
          "plan": sbString(plan?.name), "billing-cycle": sbString(plan?.intervalUnit.rawValue),
          "billing-cycle-count": plan.map { .int($0.intervalCount) } ?? .null,
          "start-date": sbTime(info?.start), "end-date": sbTime(info?.end), "currency": .string(s.currency),
          "currency-sign": .string(s.currency),
        ]))
    }
    var env = page.envelope("entries", entries)
    env["current_page"] = nil
    env["total_pages"] = nil
    return Self.json(200, .object(env))
  }

  /// `PATCH /v1/import/subscriptions/{uuid}`: `cancelled_at` adds one cancellation (must be in the
  /// past), `cancellation_dates` replaces them all (`[]` removes) → 202.
  func cancelSubscription(_ uuid: String, _ req: WireRequest) throws(ResponseError) -> WireResponse {
    guard let si = index.subscription[uuid] else { return Self.notFound("Subscription") }
    var c = Checker(try requireBody(req), allowed: ["cancelled_at", "cancellation_dates"])
    let hasOne = c.object["cancelled_at"] != nil
    let hasMany = c.object["cancellation_dates"] != nil
    if hasOne == hasMany {
      return Self.errors([("cancelled_at", "send exactly one of cancelled_at or cancellation_dates")])
    }
    var dates: [Int64] = state.subscriptions[si].cancellationDates
    if hasOne {
      if let t = c.timestamp("cancelled_at", required: true) { dates.append(t) }
    } else if let list = c.array("cancellation_dates") {
      dates = []
      for (k, v) in list.enumerated() {
        guard let s = v.stringValue, let t = Timestamp.parse(s) else {
          c.fail("cancellation_dates[\(k)]", "must be an ISO 8601 timestamp")
          continue
        }
        dates.append(t.seconds)
      }
    }
    let start = subscriptionStart(si)
    for d in dates where !state.subscriptions[si].cancellationDates.contains(d) || !hasOne {
      if d > now() { c.fail(hasOne ? "cancelled_at" : "cancellation_dates", "must be in the past") }
      if let s = start, d < s {
        c.fail(hasOne ? "cancelled_at" : "cancellation_dates", "must not be before the subscription starts")
      }
    }
    guard c.ok else { return Self.errors(c.errors) }
    state.subscriptions[si].cancellationDates = Array(Set(dates)).sorted()
    markChanged()
    return Self.json(202, importSubscriptionJSON(state.subscriptions[si]))
  }

  func subscriptionStart(_ si: Int) -> Int64? {
    state.subscriptions[si].lineRefs.compactMap { lineItem($0)?.servicePeriodStart }.min()
  }
}

import Foundation
import RevenueCore

/// How a line item names its plan: `plan_uuid` on the per-customer import endpoint,
/// `plan_external_id` in bulk json_imports (reference §5, §8).
enum PlanReference { case uuid, externalID }

/// External ids claimed earlier in the same request (duplicates inside one batch are errors too).
struct PendingIDs {
  var invoices: Set<String> = []
  var lineItems: Set<String> = []
  var transactions: Set<String> = []
}

extension SandboxEngine {
  static let lineItemFields = [
    "type", "amount_in_cents", "quantity", "subscription_external_id", "subscription_set_external_id",
    "service_period_start", "service_period_end", "prorated", "proration_type", "cancelled_at",
    "discount_amount_in_cents", "discount_code", "discount_description", "tax_amount_in_cents",
    "transaction_fees_in_cents", "transaction_fees_currency", "event_order", "account_code", "description",
    "external_id",
  ]
  static let subscriptionOnlyFields = [
    "subscription_external_id", "subscription_set_external_id", "plan_uuid", "plan_external_id",
    "service_period_start", "service_period_end", "prorated", "proration_type", "cancelled_at",
  ]
  static let transactionFields = [
    "type", "date", "result", "external_id", "amount_in_cents", "transaction_fees_in_cents",
    "transaction_fees_currency",
  ]
  static let invoiceFields = [
    "external_id", "date", "currency", "due_date", "customer_external_id", "data_source_uuid", "collection_method",
  ]

  /// Validates one line item object; nil (with errors added) when invalid.
  func parseLineItem(
    _ c: inout Checker, dataSourceUUID: String, planRef: PlanReference, pending: inout PendingIDs
  ) -> SBLineItem? {
    let type = c.choice("type", ["subscription", "one_time", "trial"], required: true)
    let amount = c.int("amount_in_cents", required: true)
    let quantity = c.int("quantity") ?? 1
    let tax = c.int("tax_amount_in_cents") ?? 0
    let discount = c.int("discount_amount_in_cents") ?? 0
    let fees = c.int("transaction_fees_in_cents")
    let feesCurrency = c.currency("transaction_fees_currency")
    let eventOrder = c.int("event_order")
    let ext = c.string("external_id")
    let item = SBLineItem(
      uuid: SBID.make("li_"), externalID: ext, type: type ?? "one_time", subscriptionUUID: nil,
      subscriptionExternalID: nil, subscriptionSetExternalID: nil, planUUID: nil, servicePeriodStart: nil,
      servicePeriodEnd: nil, amountInCents: amount ?? 0, quantity: quantity, taxAmountInCents: tax,
      discountAmountInCents: discount, discountCode: c.string("discount_code"),
      discountDescription: c.string("discount_description"), transactionFeesInCents: fees,
      transactionFeesCurrency: feesCurrency, prorated: false, prorationType: nil, cancelledAt: nil,
      eventOrder: eventOrder, accountCode: c.string("account_code"), description: c.string("description"))
    var li = item
    if let a = amount, a < 0 { c.fail("amount_in_cents", "must not be negative") }
    if quantity == 0 { c.fail("quantity", "must not be zero") }
    if tax < 0 { c.fail("tax_amount_in_cents", "must not be negative") }
    if let a = amount, tax > a {
      c.fail("tax_amount_in_cents", "(\(tax)) must not exceed amount_in_cents (\(a)): amount_in_cents includes tax")
    }
    if discount < 0 { c.fail("discount_amount_in_cents", "must not be negative") }
    if let f = fees, f < 0 { c.fail("transaction_fees_in_cents", "must not be negative") }
    if let e = ext {
      let key = SBIndex.key(dataSourceUUID, e)
      if index.lineItemExt.contains(key) || pending.lineItems.contains(key) {
        c.fail("external_id", DuplicateMessage.lineItem)
      } else {
        pending.lineItems.insert(key)
      }
    }
    if type == "subscription" || type == "trial" {
      li.subscriptionExternalID = c.string("subscription_external_id", required: true)
      li.subscriptionSetExternalID = c.string("subscription_set_external_id")
      li.servicePeriodStart = c.timestamp("service_period_start", required: true)
      li.servicePeriodEnd = c.timestamp("service_period_end", required: true)
      li.prorated = c.bool("prorated") ?? false
      li.prorationType = c.choice("proration_type", ["full", "differential", "differential_mrr"])
      li.cancelledAt = c.timestamp("cancelled_at")
      if let s = li.servicePeriodStart, let e = li.servicePeriodEnd, e <= s {
        c.fail("service_period_end", "must be after service_period_start")
      }
      if let s = li.servicePeriodStart, let x = li.cancelledAt, x < s {
        c.fail("cancelled_at", "must not be before service_period_start")
      }
      switch planRef {
      case .uuid:
        if let p = c.string("plan_uuid", required: true) {
          if let i = index.plan[p], state.plans[i].dataSourceUUID == dataSourceUUID {
            li.planUUID = p
          } else {
            c.fail("plan_uuid", "plan '\(p)' does not exist in data source \(dataSourceUUID)")
          }
        }
      case .externalID:
        if let p = c.string("plan_external_id", required: true) {
          if let i = index.planByExt[SBIndex.key(dataSourceUUID, p)] {
            li.planUUID = state.plans[i].uuid
          } else {
            c.fail("plan_external_id", "plan '\(p)' does not exist in data source \(dataSourceUUID)")
          }
        }
      }
    } else if type == "one_time" {
      for f in Self.subscriptionOnlyFields where c.object[f] != nil && c.object[f] != .null {
        c.fail(f, "is not allowed on a one_time line item")
      }
    }
    return c.ok ? li : nil
  }

  func parseTransaction(_ c: inout Checker, dataSourceUUID: String, pending: inout PendingIDs) -> SBTransaction? {
    let type = c.choice("type", ["payment", "refund"], required: true)
    let date = c.timestamp("date", required: true)
    let result = c.choice("result", ["successful", "failed"], required: true)
    let ext = c.string("external_id")
    let amount = c.int("amount_in_cents")
    let fees = c.int("transaction_fees_in_cents")
    let feesCurrency = c.currency("transaction_fees_currency")
    if let a = amount, a <= 0 { c.fail("amount_in_cents", "must be positive") }
    if let e = ext {
      let key = SBIndex.key(dataSourceUUID, e)
      if index.transactionExt.contains(key) || pending.transactions.contains(key) {
        c.fail("external_id", DuplicateMessage.transaction)
      } else {
        pending.transactions.insert(key)
      }
    }
    guard c.ok, let type, let date, let result else { return nil }
    return SBTransaction(
      uuid: SBID.make("tr_"), externalID: ext, type: type, date: date, result: result, amountInCents: amount,
      transactionFeesInCents: fees, transactionFeesCurrency: feesCurrency)
  }

  /// Refund/payment totals must not exceed what was invoiced (a transaction without an amount is
  /// for the full invoice).
  static func transactionTotalsError(total: Int64, _ txs: [SBTransaction]) -> String? {
    var paid: Int64 = 0
    var refunded: Int64 = 0
    for t in txs where t.result == "successful" {
      let a = t.amountInCents ?? total
      if t.type == "refund" { refunded += a } else { paid += a }
    }
    if refunded > total { return "refunds (\(refunded)) exceed the invoiced amount (\(total))" }
    if paid > total { return "payments (\(paid)) exceed the invoiced amount (\(total))" }
    return nil
  }

  /// Validates the invoice-level fields (line items and transactions are handled by the caller).
  func parseInvoiceHeader(
    _ c: inout Checker, customer: SBCustomer, pending: inout PendingIDs
  ) -> SBInvoice? {
    let ext = c.string("external_id", required: true)
    let date = c.timestamp("date", required: true)
    let currency = c.currency("currency", required: true)
    let due = c.timestamp("due_date")
    let method = c.choice("collection_method", ["automatic", "manual"])
    if let ce = c.string("customer_external_id"), !customer.externalIDs.contains(ce) {
      c.fail("customer_external_id", "'\(ce)' does not match the customer \(customer.uuid) (\(customer.externalID))")
    }
    if let ds = c.string("data_source_uuid"), ds != customer.dataSourceUUID {
      c.fail("data_source_uuid", "'\(ds)' is not the customer's data source \(customer.dataSourceUUID)")
    }
    if let cur = currency, fxRate(cur) == nil {
      c.fail("currency", "no exchange rate for \(cur) is configured in this sandbox (SandboxOptions.fx)")
    }
    if let e = ext {
      let key = SBIndex.key(customer.dataSourceUUID, e)
      if index.invoiceByExt[key] != nil || pending.invoices.contains(key) {
        c.fail("external_id", DuplicateMessage.invoice)
      } else {
        pending.invoices.insert(key)
      }
    }
    guard let ext, let date, let currency else { return nil }
    return SBInvoice(
      uuid: SBID.make("inv_"), externalID: ext, customerUUID: customer.uuid, dataSourceUUID: customer.dataSourceUUID,
      date: date, dueDate: due, currency: currency, collectionMethod: method, lineItems: [], transactions: [])
  }

  /// Parses one invoice of `POST /v1/import/customers/{uuid}/invoices` (line items and
  /// transactions nested). Returns the invoice or its errors keyed ChartMogul-style
  /// (`external_id`, `line_items.external_id`, `transactions.amount_in_cents`, …).
  func parseNestedInvoice(_ v: JSONValue, customer: SBCustomer, pending: inout PendingIDs)
    -> (SBInvoice?, [(String, String)])
  {
    var errs: [(String, String)] = []
    guard
      var c = Checker.object(
        v, allowed: Self.invoiceFields + ["line_items", "transactions"], prefix: "", errors: &errs)
    else { return (nil, errs) }
    let header = parseInvoiceHeader(&c, customer: customer, pending: &pending)
    var lines: [SBLineItem] = []
    if let items = c.array("line_items", required: true) {
      if items.isEmpty { c.fail("line_items", "must contain at least one line item") }
      for item in items {
        guard
          var lc = Checker.object(
            item, allowed: Self.lineItemFields + ["plan_uuid"], prefix: "line_items", errors: &errs)
        else { continue }
        if let li = parseLineItem(&lc, dataSourceUUID: customer.dataSourceUUID, planRef: .uuid, pending: &pending) {
          lines.append(li)
        }
        errs.append(contentsOf: lc.errors)
      }
    }
    var txs: [SBTransaction] = []
    for t in c.array("transactions") ?? [] {
      guard var tc = Checker.object(t, allowed: Self.transactionFields, prefix: "transactions", errors: &errs) else {
        continue
      }
      if let tx = parseTransaction(&tc, dataSourceUUID: customer.dataSourceUUID, pending: &pending) { txs.append(tx) }
      errs.append(contentsOf: tc.errors)
    }
    errs.insert(contentsOf: c.errors, at: 0)
    guard errs.isEmpty, var inv = header else { return (nil, errs) }
    inv.lineItems = lines
    inv.transactions = txs
    if let e = Self.transactionTotalsError(total: inv.total, txs) {
      return (nil, [("transactions.amount_in_cents", e)])
    }
    return (inv, [])
  }

  /// Stores a validated invoice: creates/updates subscriptions from its subscription lines.
  func commitInvoice(_ invoice: SBInvoice) {
    var inv = invoice
    for k in inv.lineItems.indices where inv.lineItems[k].type != "one_time" {
      let li = inv.lineItems[k]
      guard let subExt = li.subscriptionExternalID, let plan = li.planUUID else { continue }
      let key = SBIndex.key(inv.customerUUID, subExt)
      let si: Int
      if let existing = index.subscriptionByExt[key] {
        si = existing
      } else {
        let sub = SBSubscription(
          id: state.nextSubscriptionID, uuid: SBID.make("sub_"), externalID: subExt,
          subscriptionSetExternalID: li.subscriptionSetExternalID, customerUUID: inv.customerUUID,
          dataSourceUUID: inv.dataSourceUUID, planUUID: plan, currency: inv.currency, cancellationDates: [],
          lineRefs: [])
        state.nextSubscriptionID += 1
        state.subscriptions.append(sub)
        si = state.subscriptions.count - 1
        index.subscription[sub.uuid] = si
        index.subscriptionByExt[key] = si
      }
      let latest = state.subscriptions[si].lineRefs.isEmpty || (li.servicePeriodStart ?? 0) >= latestStart(si)
      if latest { state.subscriptions[si].planUUID = plan }
      state.subscriptions[si].lineRefs.append(SBLineRef(invoiceUUID: inv.uuid, lineUUID: li.uuid))
      if let x = li.cancelledAt, !state.subscriptions[si].cancellationDates.contains(x) {
        state.subscriptions[si].cancellationDates.append(x)
        state.subscriptions[si].cancellationDates.sort()
      }
      inv.lineItems[k].subscriptionUUID = state.subscriptions[si].uuid
    }
    state.invoices.append(inv)
    let i = state.invoices.count - 1
    index.invoice[inv.uuid] = i
    index.invoiceByExt[SBIndex.key(inv.dataSourceUUID, inv.externalID)] = i
    for li in inv.lineItems {
      if let e = li.externalID { index.lineItemExt.insert(SBIndex.key(inv.dataSourceUUID, e)) }
    }
    for t in inv.transactions {
      if let e = t.externalID { index.transactionExt.insert(SBIndex.key(inv.dataSourceUUID, e)) }
    }
    metricsCache = nil
  }

  private func latestStart(_ si: Int) -> Int64 {
    var best: Int64 = .min
    for ref in state.subscriptions[si].lineRefs {
      if let li = lineItem(ref), let s = li.servicePeriodStart { best = max(best, s) }
    }
    return best
  }

  func lineItem(_ ref: SBLineRef) -> SBLineItem? {
    guard let i = index.invoice[ref.invoiceUUID] else { return nil }
    return state.invoices[i].lineItems.first { $0.uuid == ref.lineUUID }
  }
}

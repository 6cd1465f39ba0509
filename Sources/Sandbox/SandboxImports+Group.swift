import Foundation
import RevenueCore

extension SandboxEngine {
  /// Validates and (when everything is valid) stores one customer's records of a bulk import;
  /// returns its `status_details` entry.
  func importGroup(_ key: String, _ g: Group, ds: String) -> JSONValue {
    var errs: [JSONValue] = []
    var failedSections: Set<String> = []
    func add(_ object: String, _ ext: String?, _ pairs: [(String, String)]) {
      guard !pairs.isEmpty else { return }
      errs += Self.errorList(object, ext, pairs)
      failedSections.insert(object)
    }
    if key == "unlinked" {
      let msg = "does not link to a customer or invoice of this import or of the data source"
      if g.customer != nil { add("customers", nil, [("external_id", "is required")]) }
      for o in g.invoices { add("invoices", o["external_id"]?.stringValue, [("customer_external_id", msg)]) }
      for o in g.lines { add("line_items", o["external_id"]?.stringValue, [("invoice_external_id", msg)]) }
      for o in g.transactions { add("transactions", o["external_id"]?.stringValue, [("invoice_external_id", msg)]) }
      return Self.groupDetail(errs, failedSections)
    }
    // Customer: new, updated, or already stored.
    let existing = index.customerByExt[SBIndex.key(ds, key)]
    var customer =
      existing.map { state.customers[$0] }
      ?? SBCustomer(
        id: 0, uuid: SBID.make("cus_"), dataSourceUUID: ds, externalID: key, externalIDs: [key], fields: [:],
        leadCreatedAt: nil, freeTrialStartedAt: nil, primaryContactJSON: nil, tags: [], custom: [])
    if let co = g.customer {
      var c = Checker(
        co,
        allowed: ["external_id", "lead_created_at", "free_trial_started_at", "primary_contact", "attributes"]
          + Self.customerTextFields)
      if let parsed = parseCustomer(&c, dataSourceUUID: ds) {
        for (k, v) in parsed.fields { customer.fields[k] = v }
        customer.leadCreatedAt = parsed.leadCreatedAt ?? customer.leadCreatedAt
        customer.freeTrialStartedAt = parsed.freeTrialStartedAt ?? customer.freeTrialStartedAt
        customer.primaryContactJSON = parsed.primaryContactJSON ?? customer.primaryContactJSON
        customer.tags = Self.dedupe(customer.tags + parsed.tags)
        for a in parsed.custom {
          if let old = customer.custom.first(where: { $0.key == a.key }), old.type != a.type {
            c.fail("attributes.custom", "custom attribute '\(a.key)' is already defined as \(old.type)")
          }
          customer.custom.removeAll { $0.key == a.key }
          customer.custom.append(a)
        }
      }
      add("customers", key, c.errors)
    } else if existing == nil {
      add("customers", key, [("external_id", "customer '\(key)' is neither in this import nor in the data source")])
    }
    // Invoices with their line items and transactions.
    var pending = PendingIDs()
    var invoices: [SBInvoice] = []
    var byExt: [String: Int] = [:]
    for o in g.invoices {
      var c = Checker(o, allowed: Self.invoiceFields)
      _ = c.string("customer_external_id", required: true)
      if let inv = parseInvoiceHeader(&c, customer: customer, pending: &pending), c.ok {
        byExt[inv.externalID] = invoices.count
        invoices.append(inv)
      }
      add("invoices", o["external_id"]?.stringValue, c.errors)
    }
    for o in g.lines {
      var c = Checker(o, allowed: Self.lineItemFields + ["plan_external_id", "invoice_external_id"])
      let inv = c.string("invoice_external_id", required: true)
      let li = parseLineItem(&c, dataSourceUUID: ds, planRef: .externalID, pending: &pending)
      if let inv, byExt[inv] == nil && o["invoice_external_id"] != nil {
        if index.invoiceByExt[SBIndex.key(ds, inv)] != nil {
          c.fail(
            "invoice_external_id", "invoice '\(inv)' was imported earlier: line items are imported with their invoice")
        } else if !g.invoices.contains(where: { $0["external_id"]?.stringValue == inv }) {
          c.fail("invoice_external_id", "invoice '\(inv)' is not in this import")
        }
      }
      if let li, let inv, let k = byExt[inv], c.ok { invoices[k].lineItems.append(li) }
      add("line_items", o["external_id"]?.stringValue, c.errors)
    }
    var laterTransactions: [(Int, SBTransaction)] = []
    for o in g.transactions {
      var c = Checker(o, allowed: Self.transactionFields + ["invoice_external_id"])
      let inv = c.string("invoice_external_id", required: true)
      let tx = parseTransaction(&c, dataSourceUUID: ds, pending: &pending)
      if let tx, let inv, c.ok {
        if let k = byExt[inv] {
          invoices[k].transactions.append(tx)
        } else if let ii = index.invoiceByExt[SBIndex.key(ds, inv)], state.invoices[ii].customerUUID == customer.uuid {
          laterTransactions.append((ii, tx))
        } else if !g.invoices.contains(where: { $0["external_id"]?.stringValue == inv }) {
          c.fail("invoice_external_id", "invoice '\(inv)' is neither in this import nor imported for this customer")
        }
      }
      add("transactions", o["external_id"]?.stringValue, c.errors)
    }
    for inv in invoices {
      if inv.lineItems.isEmpty && !failedSections.contains("line_items") {
        add("invoices", inv.externalID, [("line_items", "an invoice needs at least one line item")])
      }
      if let e = Self.transactionTotalsError(total: inv.total, inv.transactions) {
        add("transactions", inv.externalID, [("amount_in_cents", e)])
      }
    }
    for ii in Set(laterTransactions.map(\.0)) {
      let added = laterTransactions.filter { $0.0 == ii }.map(\.1)
      if let e = Self.transactionTotalsError(total: state.invoices[ii].total, state.invoices[ii].transactions + added) {
        add("transactions", state.invoices[ii].externalID, [("amount_in_cents", e)])
      }
    }
    guard errs.isEmpty else { return Self.groupDetail(errs, failedSections) }
    // Commit.
    if let ci = existing {
      state.customers[ci] = customer
    } else {
      customer = insertCustomer(customer)
    }
    for inv in invoices { commitInvoice(inv) }
    for (ii, tx) in laterTransactions {
      state.invoices[ii].transactions.append(tx)
      if let e = tx.externalID { index.transactionExt.insert(SBIndex.key(ds, e)) }
    }
    metricsCache = nil
    return Self.groupDetail([], [])
  }

  static func groupDetail(_ errs: [JSONValue], _ failed: Set<String>) -> JSONValue {
    var o = JSONObject(["status": .string(errs.isEmpty ? "imported" : "failed")])
    for s in ["customers", "invoices", "line_items", "transactions", "subscription_events"] {
      let st = errs.isEmpty ? "imported" : (failed.contains(s) ? "failed" : "skipped")
      o[s] = ["status": .string(st)]
    }
    if !errs.isEmpty { o["errors"] = .array(errs) }
    return .object(o)
  }
}

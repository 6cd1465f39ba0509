import Foundation
import Logging
import RevenueCore
import Staging

/// Reading a finished import: `status_details` per customer, down to the records it refused.
extension BulkImporter {
  /// The ledger entries of every record of a unit, all with one status.
  func entries(
    for u: CustomerUnit, status: LedgerStatus, error: ChartMogulError?, message: String?, importID: String? = nil,
    refused: RefusedRecords? = nil
  ) -> [LedgerEntry] {
    var out: [LedgerEntry] = []
    func with(_ f: JSONObject) -> JSONObject {
      var f = f
      f.set("import_id", .optional(importID))
      return f
    }
    func outcome(_ kind: LedgerKind, _ key: String, _ fields: JSONObject, refusedBy reason: String?) -> LedgerEntry {
      if status == .confirmed, let reason {
        return factory.make(kind, key, .failed, fields: with(fields), message: reason)
      }
      return factory.make(kind, key, status, fields: with(fields), error: error, message: message)
    }
    if u.customerPending {
      out.append(
        outcome(
          .customer, u.customerExternalID, EntryFactory.fields(customer: u.customerExternalID),
          refusedBy: refused?.customer))
      if let a = u.attributes {
        out.append(
          outcome(
            .attributes, LoadInput.key(a), EntryFactory.fields(attributes: a).merging(["in_bulk": true]),
            refusedBy: refused?.customer))
      }
    }
    for i in u.invoices {
      let invoiceRefusal = refused?.invoice(i)
      out.append(outcome(.invoice, i.externalID, EntryFactory.fields(invoice: i), refusedBy: invoiceRefusal))
      for t in i.transactions {
        out.append(
          outcome(
            .transaction, t.externalID, EntryFactory.fields(transaction: t, invoice: i),
            refusedBy: invoiceRefusal ?? refused?.transaction(t)))
      }
    }
    return out
  }

  /// Reads the finished import: plans, then each customer's `status_details` entry.
  func apply(_ result: JSONValue, to batch: BulkBatch, importID: String) async throws -> Leftovers {
    let status = result["status"]?.stringValue ?? "unknown"
    let details = result["status_details"]?.objectValue ?? JSONObject()
    let importText = Redactor.shared.redact(JSONWriter.string(result))
    var late = Leftovers()
    let overallFailed = status != "completed"

    if !batch.plans.isEmpty {
      let ok = !overallFailed && details["plans"]?["status"]?.stringValue == "imported"
      var out: [LedgerEntry] = []
      for p in batch.plans {
        var f = EntryFactory.fields(plan: p)
        f["import_id"] = .string(importID)
        if ok {
          out.append(factory.make(.plan, p.externalID, .confirmed, fields: f))
        } else if let uuid = try await lookup({ try await resolver.planUUID(p.externalID) }) {
          out.append(factory.make(.plan, p.externalID, .confirmed, uuid: uuid, fields: f))
        } else {
          let msg = "plan not imported: " + (details["plans"].map { JSONWriter.string($0) } ?? importText)
          out.append(factory.make(.plan, p.externalID, .failed, fields: f, message: msg))
        }
      }
      await ledger.record(out)
    }

    for u in batch.units {
      let d = details[u.customerExternalID]
      if !overallFailed, let d, d["status"]?.stringValue == "imported" {
        // ChartMogul's documented status details carry no uuids; use them where they appear.
        if let cu = d["uuid"]?.stringValue ?? d["customer_uuid"]?.stringValue {
          await resolver.remember(customer: u.customerExternalID, uuid: cu)
        }
        let refused = RefusedRecords(detail: d, unit: u, importID: importID)
        if refused.isEmpty == false {
          logger.warning("import \(importID) refused records of customer \(u.customerExternalID)")
        }
        await ledger.record(
          entries(for: u, status: .confirmed, error: nil, message: nil, importID: importID, refused: refused))
        if let a = u.attributes, u.customerPending, refused.customer == nil {
          await attributeStore.confirm(u.customerExternalID, AttributeSnapshot(a))
        }
        continue
      }
      let text = d.map { Redactor.shared.redact(JSONWriter.string($0)) } ?? importText
      let message = "import \(importID) did not import customer \(u.customerExternalID) (status \(status)): \(text)"
      if d == nil || ChartMogulError.isDuplicateText(text) {
        // Unknown or "already exists": ask ChartMogul what it has (a resent batch after a lost response).
        late += try await verify(u, message: message, importID: importID)
      } else {
        await ledger.record(entries(for: u, status: .failed, error: nil, message: message, importID: importID))
      }
    }
    try await ledger.sync()
    try await attributeStore.sync()
    return late
  }

  /// Runs a lookup; a lookup that itself fails counts as "not found" (the record stays failed).
  func lookup<T: Sendable>(_ body: () async throws -> T?) async throws -> T? {
    do { return try await body() } catch let e as ChartMogulError {
      logger.warning("lookup failed: \(e)")
      return nil
    }
  }

  /// Looks every record of a unit up by external id: found → confirmed; missing → failed with `message`.
  /// The customer's attributes are then compared with what ChartMogul holds (a follow-up).
  func verify(_ u: CustomerUnit, message: String, importID: String) async throws -> Leftovers {
    var out: [LedgerEntry] = []
    var late = Leftovers()
    var f = JSONObject()
    f["import_id"] = .string(importID)
    func with(_ x: JSONObject) -> JSONObject { x.merging(f) }
    if u.customerPending {
      let cf = with(EntryFactory.fields(customer: u.customerExternalID))
      if let uuid = try await lookup({ try await resolver.customerUUID(u.customerExternalID) }) {
        out.append(factory.make(.customer, u.customerExternalID, .confirmed, uuid: uuid, fields: cf))
        if let a = u.attributes { late.attributes.append(a) }
      } else {
        out.append(factory.make(.customer, u.customerExternalID, .failed, fields: cf, message: message))
        if let a = u.attributes {
          out.append(
            factory.make(
              .attributes, LoadInput.key(a), .failed, fields: with(EntryFactory.fields(attributes: a)),
              message: message))
        }
      }
    }
    for i in u.invoices {
      let inv = try await lookup({ try await resolver.invoice(i.externalID) })
      guard let inv, let uuid = inv["uuid"]?.stringValue else {
        out.append(
          factory.make(.invoice, i.externalID, .failed, fields: with(EntryFactory.fields(invoice: i)), message: message)
        )
        for t in i.transactions {
          out.append(
            factory.make(
              .transaction, t.externalID, .failed, fields: with(EntryFactory.fields(transaction: t, invoice: i)),
              message: message))
        }
        continue
      }
      out.append(
        factory.make(.invoice, i.externalID, .confirmed, uuid: uuid, fields: with(EntryFactory.fields(invoice: i))))
      var existing: [String: String] = [:]
      for t in inv["transactions"]?.arrayValue ?? [] {
        if let e = t["external_id"]?.stringValue { existing[e] = t["uuid"]?.stringValue ?? "" }
      }
      for t in i.transactions {
        if let tu = existing[t.externalID] {
          out.append(
            factory.make(
              .transaction, t.externalID, .confirmed, uuid: tu.isEmpty ? nil : tu,
              fields: with(EntryFactory.fields(transaction: t, invoice: i))))
        } else {
          late.transactions.append((i, t))
        }
      }
    }
    await ledger.record(out)
    return late
  }
}

/// The records of one customer that an import's `status_details` entry refused although the
/// customer itself reads `imported`: named in its `errors` (`{object, external_id, message}`), or
/// every record of a section whose own `status` is `failed` when no record is named. ChartMogul
/// does not document the error shape inside `status_details`; both readings keep a refused record
/// from being confirmed (docs/chartmogul.md).
struct RefusedRecords {
  var customer: String?
  private var invoices: [String: String] = [:]
  private var lineItems: [String: String] = [:]
  private var transactions: [String: String] = [:]
  private var allInvoices: String?
  private var allTransactions: String?

  var isEmpty: Bool {
    customer == nil && invoices.isEmpty && lineItems.isEmpty && transactions.isEmpty && allInvoices == nil
      && allTransactions == nil
  }

  init(detail d: JSONValue, unit: CustomerUnit, importID: String) {
    func text(_ v: JSONValue) -> String { Redactor.shared.redact(JSONWriter.string(v)) }
    var named: Set<String> = []
    for e in d["errors"]?.arrayValue ?? [] {
      let object = e["object"]?.stringValue ?? e["type"]?.stringValue ?? ""
      let msg = "import \(importID) refused \(object) record: \(text(e))"
      guard let ext = e["external_id"]?.stringValue else { continue }
      named.insert(object)
      switch object {
      case "customers", "customer": customer = msg
      case "invoices", "invoice": invoices[ext] = msg
      case "line_items", "line_item": lineItems[ext] = msg
      case "transactions", "transaction": transactions[ext] = msg
      default: continue
      }
    }
    func sectionFailed(_ s: String) -> Bool { d[s]?["status"]?.stringValue == "failed" }
    let whole = "import \(importID) reports the %@ of customer \(unit.customerExternalID) as failed: \(text(d))"
    if sectionFailed("customers") && customer == nil {
      customer = whole.replacingOccurrences(of: "%@", with: "customer")
    }
    if (sectionFailed("invoices") && !named.contains("invoices"))
      || (sectionFailed("line_items") && !named.contains("line_items"))
    {
      allInvoices = whole.replacingOccurrences(of: "%@", with: "invoices")
    }
    if sectionFailed("transactions") && !named.contains("transactions") {
      allTransactions = whole.replacingOccurrences(of: "%@", with: "transactions")
    }
  }

  /// Why this invoice (or one of its line items) was refused, nil when it was not.
  func invoice(_ i: InvoiceRecord) -> String? {
    if let m = invoices[i.externalID] ?? allInvoices { return m }
    for l in i.lineItems { if let e = l.externalID, let m = lineItems[e] { return m } }
    // A transaction error named by its invoice (e.g. the payments exceed the invoice total).
    if let m = transactions[i.externalID] { return m }
    return nil
  }

  func transaction(_ t: TransactionRecord) -> String? { transactions[t.externalID] ?? allTransactions }
}

extension JSONObject {
  /// This object with `other`'s fields added (other wins).
  func merging(_ other: JSONObject) -> JSONObject {
    var o = self
    for f in other { o[f.key] = f.value }
    return o
  }
}

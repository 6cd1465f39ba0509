import Foundation
import Logging
import RevenueCore
import Staging

/// Sends bulk imports (`POST /v1/data_sources/{uuid}/json_imports`), polls them with backoff and reads
/// `status_details` per customer: `completed` overall does not mean every customer was imported (§8).
struct BulkImporter: Sendable {
  let client: ChartMogulClient
  let config: LoadConfig
  let ledger: PartialLedger
  let resolver: Resolver
  let factory: EntryFactory
  let logger: Logger
  let progress: any ProgressSink

  var importsPath: String { "/v1/data_sources/\(ChartMogulClient.segment(config.dataSourceUUID))/json_imports" }

  /// Runs every batch: the first alone when it carries plans, the rest up to `max_imports_in_flight`
  /// at a time (each customer is in exactly one batch, so no two unfinished imports share a customer).
  /// Returns transactions found missing on invoices ChartMogul already had (to send one by one).
  func run(_ batches: [BulkBatch]) async throws -> [(InvoiceRecord, TransactionRecord)] {
    var late: [(InvoiceRecord, TransactionRecord)] = []
    var rest = batches[...]
    if let first = rest.first, !first.plans.isEmpty {
      late += try await process(first)
      rest = rest.dropFirst()
    }
    let limit = config.maxImportsInFlight
    try await withThrowingTaskGroup(of: [(InvoiceRecord, TransactionRecord)].self) { group in
      var iterator = rest.makeIterator()
      var running = 0
      while running < limit, let b = iterator.next() {
        group.addTask { try await process(b) }
        running += 1
      }
      while let done = try await group.next() {
        late += done
        if let b = iterator.next() { group.addTask { try await process(b) } }
      }
    }
    return late
  }

  /// Waits for imports a killed load left running, so a resend never overlaps them.
  func settle(_ unfinished: [String: JSONObject]) async {
    for (key, marker) in unfinished.sorted(by: { $0.key < $1.key }) {
      let id = marker["import_id"]?.stringValue ?? key
      do {
        let r = try await client.send("GET", importsPath + "/" + ChartMogulClient.segment(id))
        if r.isSuccess, let v = r.json, isRunning(v) { _ = try await poll(id: id) }
        try await ledger.importMarker(key: key, status: "finished", importID: id, customers: [])
      } catch {
        logger.warning("could not settle earlier import \(key): \(error)")
      }
    }
  }

  func isRunning(_ v: JSONValue) -> Bool {
    let s = v["status"]?.stringValue ?? ""
    return s == "queued" || s == "processing" || s == "pending" || s == "in_progress"
  }

  /// One batch, start to finish. Record-level problems go to the ledger; only cancellation throws.
  func process(_ batch: BulkBatch) async throws -> [(InvoiceRecord, TransactionRecord)] {
    try Task.checkCancellation()
    try await ledger.importMarker(key: batch.externalID, status: "submitting", importID: nil, customers: batch.customerIDs)
    var late: [(InvoiceRecord, TransactionRecord)] = []
    do {
      let id = try await submit(batch)
      try await ledger.importMarker(key: batch.externalID, status: "submitted", importID: id, customers: [])
      let result = try await poll(id: id)
      late = try await apply(result, to: batch, importID: id)
    } catch let e as ChartMogulError {
      await fail(batch, e)
    } catch let e as ImportTimeout {
      await fail(batch, ChartMogulError(
        status: nil, message: e.description, requestID: nil, rawBody: nil, request: "GET \(importsPath)/…",
        isTransient: true))
    }
    try await ledger.importMarker(key: batch.externalID, status: "finished", importID: nil, customers: [])
    progress.advance(by: batch.units.count)
    return late
  }

  /// POSTs the batch; a duplicate import external id (a retried POST whose first attempt committed)
  /// is looked up instead of being sent again.
  func submit(_ batch: BulkBatch) async throws -> String {
    let r = try await client.send("POST", importsPath, body: batch.body)
    if r.isSuccess {
      guard let id = r.json?["id"]?.scalarText ?? r.json?["external_id"]?.stringValue else {
        throw ChartMogulError(
          status: r.status, message: "the import response has no id", requestID: r.requestID, rawBody: r.rawBody,
          request: "POST \(importsPath)", isTransient: false)
      }
      return id
    }
    let e = client.error(r, "POST", importsPath)
    if r.status == 422, e.isDuplicate {
      let g = try await client.send("GET", importsPath + "/" + ChartMogulClient.segment(batch.externalID))
      if g.isSuccess, let id = g.json?["id"]?.scalarText { return id }
    }
    throw e
  }

  struct ImportTimeout: Error, CustomStringConvertible {
    var id: String
    var seconds: Double
    var description: String {
      "import \(id) did not finish within \(Int(seconds)) s (import_timeout_seconds); run `load` again to check it"
    }
  }

  /// Polls until the import leaves queued/processing, backing off ×1.5 up to `poll_max_interval_seconds`.
  func poll(id: String) async throws -> JSONValue {
    let started = Date()
    var delay = config.pollIntervalSeconds
    while true {
      try await Task.sleep(nanoseconds: UInt64(delay * 1e9))
      let r = try await client.expectSuccess("GET", importsPath + "/" + ChartMogulClient.segment(id))
      guard let v = r.json else {
        throw ChartMogulError(
          status: r.status, message: "the import status is not JSON", requestID: r.requestID, rawBody: r.rawBody,
          request: "GET \(importsPath)/\(id)", isTransient: true)
      }
      if !isRunning(v) { return v }
      if Date().timeIntervalSince(started) > config.importTimeoutSeconds {
        throw ImportTimeout(id: id, seconds: config.importTimeoutSeconds)
      }
      delay = min(delay * 1.5, config.pollMaxIntervalSeconds)
    }
  }

  /// Every record of the batch failed the same way (request refused, or retries ran out).
  func fail(_ batch: BulkBatch, _ e: ChartMogulError) async {
    logger.error("bulk import \(batch.externalID) failed: \(e)")
    var out: [LedgerEntry] = []
    for p in batch.plans {
      out.append(factory.make(.plan, p.externalID, .failed, fields: EntryFactory.fields(plan: p), error: e))
    }
    for u in batch.units { out += entries(for: u, status: .failed, error: e, message: nil) }
    await ledger.record(out)
  }

  func entries(for u: CustomerUnit, status: LedgerStatus, error: ChartMogulError?, message: String?, importID: String? = nil)
    -> [LedgerEntry]
  {
    var out: [LedgerEntry] = []
    var extra = JSONObject()
    extra.set("import_id", .optional(importID))
    func with(_ f: JSONObject) -> JSONObject {
      var f = f
      for x in extra { f[x.key] = x.value }
      return f
    }
    if u.customerPending {
      out.append(
        factory.make(
          .customer, u.customerExternalID, status, fields: with(EntryFactory.fields(customer: u.customerExternalID)),
          error: error, message: message))
    }
    for i in u.invoices {
      out.append(
        factory.make(.invoice, i.externalID, status, fields: with(EntryFactory.fields(invoice: i)), error: error,
          message: message))
      for t in i.transactions {
        out.append(
          factory.make(.transaction, t.externalID, status, fields: with(EntryFactory.fields(transaction: t, invoice: i)),
            error: error, message: message))
      }
    }
    return out
  }

  /// Reads the finished import: plans, then each customer's `status_details` entry.
  func apply(_ result: JSONValue, to batch: BulkBatch, importID: String) async throws -> [(InvoiceRecord, TransactionRecord)] {
    let status = result["status"]?.stringValue ?? "unknown"
    let details = result["status_details"]?.objectValue ?? JSONObject()
    let importText = Redactor.shared.redact(JSONWriter.string(result))
    var late: [(InvoiceRecord, TransactionRecord)] = []
    let overallFailed = status != "completed"

    // Plans
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
      if !overallFailed, d?["status"]?.stringValue == "imported" {
        if let cu = d?["uuid"]?.stringValue ?? d?["customer_uuid"]?.stringValue {
          await resolver.remember(customer: u.customerExternalID, uuid: cu)
        }
        await ledger.record(entries(for: u, status: .confirmed, error: nil, message: nil, importID: importID))
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
  func verify(_ u: CustomerUnit, message: String, importID: String) async throws -> [(InvoiceRecord, TransactionRecord)] {
    var out: [LedgerEntry] = []
    var late: [(InvoiceRecord, TransactionRecord)] = []
    var f = JSONObject()
    f["import_id"] = .string(importID)
    func with(_ x: JSONObject) -> JSONObject {
      var x = x
      for y in f { x[y.key] = y.value }
      return x
    }
    if u.customerPending {
      let cf = with(EntryFactory.fields(customer: u.customerExternalID))
      if let uuid = try await lookup({ try await resolver.customerUUID(u.customerExternalID) }) {
        out.append(factory.make(.customer, u.customerExternalID, .confirmed, uuid: uuid, fields: cf))
      } else {
        out.append(factory.make(.customer, u.customerExternalID, .failed, fields: cf, message: message))
      }
    }
    for i in u.invoices {
      let inv = try await lookup({ try await resolver.invoice(i.externalID) })
      guard let inv, let uuid = inv["uuid"]?.stringValue else {
        out.append(factory.make(.invoice, i.externalID, .failed, fields: with(EntryFactory.fields(invoice: i)), message: message))
        for t in i.transactions {
          out.append(
            factory.make(.transaction, t.externalID, .failed, fields: with(EntryFactory.fields(transaction: t, invoice: i)),
              message: message))
        }
        continue
      }
      out.append(factory.make(.invoice, i.externalID, .confirmed, uuid: uuid, fields: with(EntryFactory.fields(invoice: i))))
      var existing: [String: String] = [:]
      for t in inv["transactions"]?.arrayValue ?? [] {
        if let e = t["external_id"]?.stringValue { existing[e] = t["uuid"]?.stringValue ?? "" }
      }
      for t in i.transactions {
        if let tu = existing[t.externalID] {
          out.append(
            factory.make(.transaction, t.externalID, .confirmed, uuid: tu.isEmpty ? nil : tu,
              fields: with(EntryFactory.fields(transaction: t, invoice: i))))
        } else {
          late.append((i, t))
        }
      }
    }
    await ledger.record(out)
    return late
  }
}

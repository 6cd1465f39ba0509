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
  let attributeStore: AttributeStore
  let pollKey = PollKey()

  var importsPath: String { "/v1/data_sources/\(ChartMogulClient.segment(config.dataSourceUUID))/json_imports" }

  /// Runs every batch: the first alone when it carries plans, the rest up to `max_imports_in_flight`
  /// at a time (each customer is in exactly one batch, so no two unfinished imports share a customer).
  /// Returns what has to follow one by one: transactions found missing on invoices ChartMogul
  /// already had, and attribute sets whose customer existed before this import.
  func run(_ batches: [BulkBatch]) async throws -> Leftovers {
    var late = Leftovers()
    var rest = batches[...]
    if let first = rest.first, !first.plans.isEmpty {
      late += try await process(first)
      rest = rest.dropFirst()
    }
    let limit = config.maxImportsInFlight
    try await withThrowingTaskGroup(of: Leftovers.self) { group in
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
        if r.isSuccess, let v = r.json, isRunning(v) { _ = try await poll(id: id, externalID: key) }
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
  func process(_ batch: BulkBatch) async throws -> Leftovers {
    try Task.checkCancellation()
    try await ledger.importMarker(
      key: batch.externalID, status: "submitting", importID: nil, customers: batch.customerIDs)
    var late = Leftovers()
    do {
      let id = try await submit(batch)
      try await ledger.importMarker(key: batch.externalID, status: "submitted", importID: id, customers: [])
      let result = try await poll(id: id, externalID: batch.externalID)
      late = try await apply(result, to: batch, importID: id)
    } catch let e as ChartMogulError {
      await fail(batch, e)
    } catch let e as ImportTimeout {
      await fail(
        batch,
        ChartMogulError(
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
  /// ChartMogul's "Track Import Status" reference names the path parameter the identifier you
  /// specified (the import's `external_id`), its Python client's test passes the returned `id`
  /// (dev.chartmogul.com/reference/bulk-import/track-status; chartmogul-python test_json_import.py):
  /// the external id is asked first, the returned id when ChartMogul answers 404, and whichever
  /// worked is used for every later poll of this load.
  func poll(id: String, externalID: String) async throws -> JSONValue {
    let started = Date()
    var delay = config.pollIntervalSeconds
    while true {
      try await Task.sleep(nanoseconds: UInt64(delay * 1e9))
      let v = try await status(id: id, externalID: externalID)
      if !isRunning(v) { return v }
      if Date().timeIntervalSince(started) > config.importTimeoutSeconds {
        throw ImportTimeout(id: id, seconds: config.importTimeoutSeconds)
      }
      delay = min(delay * 1.5, config.pollMaxIntervalSeconds)
    }
  }

  /// One status request, with the identifier that works (see `poll`).
  func status(id: String, externalID: String) async throws -> JSONValue {
    let first = await pollKey.useReturnedID ? id : externalID
    let second = first == id ? externalID : id
    var r = try await client.send("GET", importsPath + "/" + ChartMogulClient.segment(first))
    if r.status == 404, second != first {
      let again = try await client.send("GET", importsPath + "/" + ChartMogulClient.segment(second))
      if again.isSuccess { await pollKey.set(useReturnedID: second == id) }
      r = again
    }
    guard r.isSuccess else { throw client.error(r, "GET", importsPath + "/" + first) }
    guard let v = r.json else {
      throw ChartMogulError(
        status: r.status, message: "the import status is not JSON", requestID: r.requestID, rawBody: r.rawBody,
        request: "GET \(importsPath)/\(first)", isTransient: true)
    }
    return v
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
}

/// Serialises which identifier the import status endpoint accepts (see `BulkImporter.poll`).
actor PollKey {
  private(set) var useReturnedID = false
  func set(useReturnedID v: Bool) { useReturnedID = v }
}

/// What a bulk import leaves to the follow-ups.
struct Leftovers: Sendable {
  var transactions: [(InvoiceRecord, TransactionRecord)] = []
  var attributes: [AttributeRecord] = []
  static func += (a: inout Leftovers, b: Leftovers) {
    a.transactions += b.transactions
    a.attributes += b.attributes
  }
}

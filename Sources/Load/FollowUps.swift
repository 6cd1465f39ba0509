import Foundation
import Logging
import RevenueCore
import Staging

/// What the bulk body cannot carry, sent after it (chartmogul-api.md §4, §6, §7): transactions on
/// invoices ChartMogul already has (refunds), cancellations, custom attributes and tags.
struct FollowUps: Sendable {
  let client: ChartMogulClient
  let config: LoadConfig
  let ledger: PartialLedger
  let resolver: Resolver
  let factory: EntryFactory
  let logger: Logger
  let now: Timestamp

  enum Work: Sendable {
    case transaction(InvoiceRecord, TransactionRecord)
    case cancellation(CancellationRecord)
    case attributes(AttributeRecord)
  }

  /// Runs all follow-ups, at most `max_connections` at a time (the HTTP client also rate-limits).
  func run(_ work: [Work], progress: any ProgressSink) async throws {
    guard !work.isEmpty else { return }
    progress.begin("load follow-ups", total: work.count)
    defer { progress.end() }
    try await withThrowingTaskGroup(of: Void.self) { group in
      var it = work.makeIterator()
      var running = 0
      while running < config.maxConnections, let w = it.next() {
        group.addTask { try await one(w) }
        running += 1
      }
      var done = 0
      while try await group.next() != nil {
        done += 1
        progress.advance(by: 1)
        if done % 200 == 0 { try await ledger.sync() }
        if let w = it.next() { group.addTask { try await one(w) } }
      }
    }
    try await ledger.sync()
  }

  func one(_ w: Work) async throws {
    try Task.checkCancellation()
    let entry: LedgerEntry
    do {
      switch w {
      case .transaction(let i, let t): entry = try await transaction(i, t)
      case .cancellation(let c): entry = try await cancellation(c)
      case .attributes(let a): entry = try await attributes(a)
      }
    } catch let e as ChartMogulError {
      switch w {
      case .transaction(let i, let t):
        entry = factory.make(.transaction, t.externalID, .failed, fields: EntryFactory.fields(transaction: t, invoice: i), error: e)
      case .cancellation(let c):
        entry = factory.make(.cancellation, LoadInput.key(c), .failed, fields: EntryFactory.fields(cancellation: c), error: e)
      case .attributes(let a):
        entry = factory.make(.attributes, LoadInput.key(a), .failed, fields: EntryFactory.fields(attributes: a), error: e)
      }
    }
    if entry.status == .failed { logger.warning("\(entry.kind.rawValue) \(entry.key) failed: \(entry.error ?? "")") }
    await ledger.record(entry)
  }

  /// The customer's uuid, or why its dependants cannot be sent.
  func customer(_ id: String) async throws -> Result<String, DependencyError> {
    if let r = await ledger.result(.customer, id), r.status != .confirmed {
      return .failure(DependencyError(message: "customer \(id) was not loaded in this run: \(r.error ?? "see its ledger line")"))
    }
    if let u = await ledger.result(.customer, id)?.uuid ?? factory.prior.confirmed(.customer, id)?.uuid {
      await resolver.remember(customer: id, uuid: u)
      return .success(u)
    }
    if let u = try await resolver.customerUUID(id) { return .success(u) }
    return .failure(DependencyError(message: "customer \(id) is not in ChartMogul (it has not been loaded)"))
  }

  struct DependencyError: Error { var message: String }

  // MARK: - Transactions on existing invoices

  func transaction(_ i: InvoiceRecord, _ t: TransactionRecord) async throws -> LedgerEntry {
    let fields = EntryFactory.fields(transaction: t, invoice: i)
    var uuid = await ledger.result(.invoice, i.externalID)?.uuid ?? factory.prior.confirmed(.invoice, i.externalID)?.uuid
    if uuid == nil {
      guard let inv = try await resolver.invoice(i.externalID), let u = inv["uuid"]?.stringValue else {
        return factory.make(
          .transaction, t.externalID, .failed, fields: fields,
          message: "invoice \(i.externalID) is not in ChartMogul, so its transaction cannot be added", sent: false)
      }
      if let existing = transactionUUID(in: inv, t.externalID) {
        return factory.make(.transaction, t.externalID, .confirmed, uuid: existing, fields: fields)
      }
      uuid = u
    }
    let path = "/v1/import/invoices/\(ChartMogulClient.segment(uuid!))/transactions"
    let r = try await client.send("POST", path, body: WireFormat.transaction(t))
    if r.isSuccess {
      return factory.make(.transaction, t.externalID, .confirmed, uuid: r.json?["uuid"]?.stringValue, fields: fields)
    }
    let e = client.error(r, "POST", path)
    if e.isDuplicate, let inv = try await resolver.invoice(i.externalID), let tu = transactionUUID(in: inv, t.externalID) {
      return factory.make(.transaction, t.externalID, .confirmed, uuid: tu, fields: fields)
    }
    return factory.make(.transaction, t.externalID, .failed, fields: fields, error: e)
  }

  func transactionUUID(in invoice: JSONValue, _ externalID: String) -> String? {
    for t in invoice["transactions"]?.arrayValue ?? [] where t["external_id"]?.stringValue == externalID {
      return t["uuid"]?.stringValue ?? ""
    }
    return nil
  }

  // MARK: - Cancellations

  func cancellation(_ c: CancellationRecord) async throws -> LedgerEntry {
    let key = LoadInput.key(c)
    var fields = EntryFactory.fields(cancellation: c)
    if c.cancelledAt > now {
      return factory.make(
        .cancellation, key, .skipped, fields: fields,
        message: "cancelled_at \(c.cancelledAt.iso8601) is in the future; ChartMogul only takes past dates, a later load sends it",
        sent: false)
    }
    let cus: String
    switch try await customer(c.customerExternalID) {
    case .success(let u): cus = u
    case .failure(let d): return factory.make(.cancellation, key, .failed, fields: fields, message: d.message, sent: false)
    }
    guard let sub = try await findSubscription(customer: cus, c.subscriptionExternalID, refresh: false),
      let subUUID = sub["uuid"]?.stringValue
    else {
      return factory.make(
        .cancellation, key, .failed, fields: fields,
        message: "ChartMogul has no subscription \(c.subscriptionExternalID) for customer \(c.customerExternalID) (was an invoice for it loaded?)",
        sent: false)
    }
    fields.set("plan_uuid", .optional(sub["plan_uuid"]?.stringValue))
    fields["customer_uuid"] = .string(cus)
    if isDone(sub, c) { return factory.make(.cancellation, key, .confirmed, uuid: subUUID, fields: fields) }
    let path = "/v1/import/subscriptions/\(ChartMogulClient.segment(subUUID))"
    let r = try await client.send("PATCH", path, body: WireFormat.cancellation(c))
    if r.isSuccess {
      await resolver.forgetSubscriptions(customerUUID: cus)
      return factory.make(.cancellation, key, .confirmed, uuid: subUUID, fields: fields)
    }
    // An earlier attempt may have committed: read the subscription again before calling it failed.
    if let again = try await findSubscription(customer: cus, c.subscriptionExternalID, refresh: true), isDone(again, c) {
      return factory.make(.cancellation, key, .confirmed, uuid: subUUID, fields: fields)
    }
    return factory.make(.cancellation, key, .failed, fields: fields, error: client.error(r, "PATCH", path))
  }

  func findSubscription(customer: String, _ externalID: String, refresh: Bool) async throws -> JSONValue? {
    if refresh { await resolver.forgetSubscriptions(customerUUID: customer) }
    return try await resolver.subscriptions(customerUUID: customer).first { $0["external_id"]?.stringValue == externalID }
  }

  /// Does ChartMogul's subscription already say what `c` asks: its date among the cancellation dates,
  /// or exactly the full list `c` carries?
  func isDone(_ sub: JSONValue, _ c: CancellationRecord) -> Bool {
    let dates = (sub["cancellation_dates"]?.arrayValue ?? []).compactMap { $0.stringValue.flatMap(Timestamp.parse) }
    if let wanted = c.cancellationDates { return dates.sorted() == wanted.sorted() }
    return dates.contains(c.cancelledAt)
  }

  // MARK: - Attributes

  func attributes(_ a: AttributeRecord) async throws -> LedgerEntry {
    let key = LoadInput.key(a)
    let fields = EntryFactory.fields(attributes: a)
    if a.tags.isEmpty && a.custom.isEmpty {
      return factory.make(.attributes, key, .skipped, fields: fields, message: "no tags and no custom attributes", sent: false)
    }
    let cus: String
    switch try await customer(a.customerExternalID) {
    case .success(let u): cus = u
    case .failure(let d): return factory.make(.attributes, key, .failed, fields: fields, message: d.message, sent: false)
    }
    let base = "/v1/customers/\(ChartMogulClient.segment(cus))/attributes"
    if !a.custom.isEmpty {
      let r = try await client.send("POST", base + "/custom", body: WireFormat.customAttributes(a))
      if !r.isSuccess { return factory.make(.attributes, key, .failed, fields: fields, error: client.error(r, "POST", base + "/custom")) }
    }
    if !a.tags.isEmpty {
      let r = try await client.send("POST", base + "/tags", body: WireFormat.tags(a))
      if !r.isSuccess { return factory.make(.attributes, key, .failed, fields: fields, error: client.error(r, "POST", base + "/tags")) }
    }
    return factory.make(.attributes, key, .confirmed, uuid: cus, fields: fields)
  }
}

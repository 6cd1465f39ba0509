import Foundation
import Logging
import RevenueCore
import Staging

/// What the bulk body cannot carry, sent after it (docs/chartmogul.md "Customers", "Transactions and refunds", "Subscriptions and cancellations"): transactions on
/// invoices ChartMogul already has (refunds), cancellations, custom attributes and tags.
struct FollowUps: Sendable {
  let client: ChartMogulClient
  let config: LoadConfig
  let ledger: PartialLedger
  let resolver: Resolver
  let factory: EntryFactory
  let logger: Logger
  let now: Timestamp
  let attributeStore: AttributeStore
  /// Service period starts (UTC seconds) of this run's line items, for the subscriptions cancelled
  /// in this run (see `effectiveCancellation`).
  var serviceStarts: [String: Set<Int64>] = [:]

  enum Work: Sendable {
    case transaction(InvoiceRecord, TransactionRecord)
    case cancellation(CancellationRecord)
    case attributes(AttributeRecord)
  }

  /// Runs all follow-ups, at most `max_connections` at a time (the HTTP client also rate-limits).
  func run(_ work: [Work], progress: any ProgressSink) async throws {
    guard !work.isEmpty else { return }
    // At least one request each at ChartMogul's rate limit: the shortest this phase can take.
    let rate = min(config.requestsPerSecond, 40)
    let floor = Int((Double(work.count) / max(rate, 1)).rounded(.up))
    progress.begin(
      "load: follow-ups (refunds, cancellations, attribute changes; ≥ \(floor / 60):\(String(format: "%02d", floor % 60)) at \(Int(rate)) req/s)",
      total: work.count)
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
        if done % 200 == 0 {
          try await ledger.sync()
          try await attributeStore.sync()
        }
        if let w = it.next() { group.addTask { try await one(w) } }
      }
    }
    try await ledger.sync()
    try await attributeStore.sync()
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
        entry = factory.make(
          .transaction, t.externalID, .failed, fields: EntryFactory.fields(transaction: t, invoice: i), error: e)
      case .cancellation(let c):
        entry = factory.make(
          .cancellation, LoadInput.key(c), .failed, fields: EntryFactory.fields(cancellation: c), error: e)
      case .attributes(let a):
        entry = factory.make(
          .attributes, LoadInput.key(a), .failed, fields: EntryFactory.fields(attributes: a), error: e)
      }
    }
    if entry.status == .failed { logger.warning("\(entry.kind.rawValue) \(entry.key) failed: \(entry.error ?? "")") }
    await ledger.record(entry)
  }

  /// The customer's uuid, or why its dependants cannot be sent.
  func customer(_ id: String) async throws -> Result<String, DependencyError> {
    if let r = await ledger.result(.customer, id), r.status != .confirmed {
      return .failure(
        DependencyError(message: "customer \(id) was not loaded in this run: \(r.error ?? "see its ledger line")"))
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
    var uuid =
      await ledger.result(.invoice, i.externalID)?.uuid ?? factory.prior.confirmed(.invoice, i.externalID)?.uuid
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
    if e.isDuplicate, let inv = try await resolver.invoice(i.externalID),
      let tu = transactionUUID(in: inv, t.externalID)
    {
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

  /// The instant sent to ChartMogul. A cancellation at the very instant one of the subscription's
  /// service periods starts (Stripe test mode creates and cancels in the same second) would leave
  /// the order of "invoice starts the subscription" and "cancellation ends it" to ChartMogul, and
  /// ChartMogul keeps a subscription active until it is cancelled (dev.chartmogul.com/docs/adding-paused-subscriptions):
  /// it is sent one second after that start instead, so it always ends what the invoice began
  /// (docs/chartmogul.md "Cancellations and the load path").
  func effectiveCancellation(_ c: CancellationRecord) -> (at: Timestamp, adjusted: Bool) {
    guard let starts = serviceStarts[c.subscriptionExternalID], starts.contains(c.cancelledAt.seconds) else {
      return (c.cancelledAt, false)
    }
    return (Timestamp(seconds: c.cancelledAt.seconds + 1), true)
  }

  /// Adds the cancellation to the subscription's `cancellation_dates` with
  /// `PATCH /v1/import/subscriptions/{uuid}` — still ChartMogul's only documented way to cancel a
  /// subscription generated from imported invoices (dev.chartmogul.com/reference/cancel-a-customers-subscription,
  /// /docs/changing-customer-churn-history). The whole history is sent, so a resend after a lost
  /// answer sets the same state instead of adding a second churn.
  func cancellation(_ c: CancellationRecord) async throws -> LedgerEntry {
    let key = LoadInput.key(c)
    var fields = EntryFactory.fields(cancellation: c)
    let (at, adjusted) = effectiveCancellation(c)
    if adjusted {
      fields["sent_cancelled_at"] = .string(at.iso8601)
      fields["note"] = "cancelled at the instant its service period starts: sent one second later"
    }
    if at > now {
      return factory.make(
        .cancellation, key, .skipped, fields: fields,
        message:
          "cancelled_at \(c.cancelledAt.iso8601) is in the future; ChartMogul only takes past dates, a later load sends it",
        sent: false)
    }
    let cus: String
    switch try await customer(c.customerExternalID) {
    case .success(let u): cus = u
    case .failure(let d):
      return factory.make(.cancellation, key, .failed, fields: fields, message: d.message, sent: false)
    }
    guard let sub = try await findSubscription(customer: cus, c.subscriptionExternalID, refresh: false),
      let subUUID = sub["uuid"]?.stringValue
    else {
      return factory.make(
        .cancellation, key, .failed, fields: fields,
        message:
          "ChartMogul has no subscription \(c.subscriptionExternalID) for customer \(c.customerExternalID) (was an invoice for it loaded?)",
        sent: false)
    }
    fields.set("plan_uuid", .optional(sub["plan_uuid"]?.stringValue))
    fields["customer_uuid"] = .string(cus)
    let target = targetDates(c, existing: existing(sub), at: at)
    if isDone(sub, target) { return factory.make(.cancellation, key, .confirmed, uuid: subUUID, fields: fields) }
    let path = "/v1/import/subscriptions/\(ChartMogulClient.segment(subUUID))"
    let r = try await client.send("PATCH", path, body: WireFormat.cancellationDates(target))
    if r.isSuccess {
      await resolver.forgetSubscriptions(customerUUID: cus)
      return factory.make(.cancellation, key, .confirmed, uuid: subUUID, fields: fields)
    }
    // An earlier attempt may have committed: read the subscription again before calling it failed.
    if let again = try await findSubscription(customer: cus, c.subscriptionExternalID, refresh: true),
      isDone(again, target)
    {
      return factory.make(.cancellation, key, .confirmed, uuid: subUUID, fields: fields)
    }
    return factory.make(.cancellation, key, .failed, fields: fields, error: client.error(r, "PATCH", path))
  }

  func existing(_ sub: JSONValue) -> [Timestamp] {
    (sub["cancellation_dates"]?.arrayValue ?? []).compactMap { $0.stringValue.flatMap(Timestamp.parse) }
  }

  func findSubscription(customer: String, _ externalID: String, refresh: Bool) async throws -> JSONValue? {
    if refresh { await resolver.forgetSubscriptions(customerUUID: customer) }
    return try await resolver.subscriptions(customerUUID: customer).first {
      $0["external_id"]?.stringValue == externalID
    }
  }

  /// The subscription's whole list once `c` is applied: the list `c` carries (lapses and their
  /// withdrawal), each date moved like `effectiveCancellation` moves one; else ChartMogul's dates plus `at`.
  func targetDates(_ c: CancellationRecord, existing: [Timestamp], at: Timestamp) -> [Timestamp] {
    if let list = c.cancellationDates {
      let starts = serviceStarts[c.subscriptionExternalID] ?? []
      return list.map { starts.contains($0.seconds) ? Timestamp(seconds: $0.seconds + 1) : $0 }
    }
    return existing + [at]
  }

  /// Does ChartMogul's subscription already hold exactly `target`?
  func isDone(_ sub: JSONValue, _ target: [Timestamp]) -> Bool {
    Set(existing(sub).map(\.seconds)) == Set(target.map(\.seconds))
  }

  // MARK: - Attributes

  /// Sends only what changed since ChartMogul last confirmed this customer's attributes: one request
  /// per non-empty kind of change (`AttributeDiff`). Without a remembered snapshot (first change
  /// after an upgrade, or after a change that failed half-way) ChartMogul's current attributes are
  /// read once first.
  func attributes(_ a: AttributeRecord) async throws -> LedgerEntry {
    let key = LoadInput.key(a)
    var fields = EntryFactory.fields(attributes: a)
    let cid = a.customerExternalID
    let known = await attributeStore.snapshot(cid)
    if a.tags.isEmpty && a.custom.isEmpty && (known == nil || known == AttributeSnapshot(tags: [], custom: [:])) {
      return factory.make(
        .attributes, key, .skipped, fields: fields, message: "no tags and no custom attributes", sent: false)
    }
    let cus: String
    switch try await customer(cid) {
    case .success(let u): cus = u
    case .failure(let d):
      return factory.make(.attributes, key, .failed, fields: fields, message: d.message, sent: false)
    }
    let base = "/v1/customers/\(ChartMogulClient.segment(cus))/attributes"
    var old = known
    if old == nil {
      let r = try await client.send("GET", base)
      guard r.isSuccess, let v = r.json, let s = AttributeSnapshot(attributesResponse: v) else {
        return factory.make(.attributes, key, .failed, fields: fields, error: client.error(r, "GET", base))
      }
      old = s
    }
    let diff = AttributeDiff.between(old!, a)
    fields["requests"] = .int(diff.requestCount)
    if diff.isEmpty {
      await attributeStore.confirm(cid, AttributeSnapshot(a))
      return factory.make(.attributes, key, .confirmed, uuid: cus, fields: fields, sent: false)
    }
    var steps: [(String, String, JSONValue)] = []
    if !diff.newCustom.isEmpty { steps.append(("POST", base + "/custom", WireFormat.newCustom(diff.newCustom))) }
    if !diff.changedCustom.isEmpty {
      steps.append(("PUT", base + "/custom", WireFormat.changedCustom(diff.changedCustom)))
    }
    if !diff.removedCustom.isEmpty {
      steps.append(("DELETE", base + "/custom", WireFormat.removedCustom(diff.removedCustom)))
    }
    if !diff.addedTags.isEmpty { steps.append(("POST", base + "/tags", WireFormat.tagList(diff.addedTags))) }
    if !diff.removedTags.isEmpty { steps.append(("DELETE", base + "/tags", WireFormat.tagList(diff.removedTags))) }
    for (method, path, body) in steps {
      let r = try await client.send(method, path, body: body)
      if !r.isSuccess {
        await attributeStore.forget(cid)
        return factory.make(.attributes, key, .failed, fields: fields, error: client.error(r, method, path))
      }
    }
    await attributeStore.confirm(cid, AttributeSnapshot(a))
    return factory.make(.attributes, key, .confirmed, uuid: cus, fields: fields)
  }
}

import Foundation
import Logging
import RevenueCore
import Staging
import SystemShims
import Transport

#if canImport(Glibc)
  import Glibc
#endif

/// One load of one run: plan what is not confirmed yet, bulk-import it, send the follow-ups, write
/// the ledger (partial as it goes, final at the end), write back to Postgres and publish `load/`.
struct LoadEngine {
  let config: LoadConfig
  let ctx: StageContext
  let transport: any HTTPTransport
  /// `retry`: only these ledger ids are re-sent; nil: everything not confirmed.
  let only: Set<String>?
  var now: Timestamp = Timestamp(seconds: Int64(Date().timeIntervalSince1970))

  var run: RunFolder { ctx.run }
  var logger: Logger { ctx.logger }

  func execute() async throws -> StageResult {
    let started = Date()
    let heartbeat = Heartbeat(progress: ctx.progress)
    defer { heartbeat.stop() }
    ctx.progress.begin("load: reading transform output and earlier outcomes", total: nil)
    let transformManifest = try run.requireManifest("transform", for: "load")
    // Phase figures for whoever investigates a slow or large load (`--log-level debug`).
    func rss(_ what: String) {
      guard logger.logLevel <= .debug else { return }
      let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
      let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS") }.map(String.init) ?? "VmRSS ?"
      logger.debug("load \(what): \(line) after \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
    }
    rss("start")
    // Checked against transform's manifest before anything is read or sent.
    let verifiedInputs = try StagedInput.verify(
      run: run, stage: "transform", manifest: transformManifest, names: LoadInput.files)
    let input = try LoadInput.read(run: run)
    rss("input")
    defer { rss("end") }
    let prior = try PriorLedger.read(area: ctx.area, currentRun: run, dataSource: config.dataSourceUUID)
    releaseFreeMemory()  // the parse garbage of reading the ledgers: give its pages back
    rss("prior")
    let plan = LoadPlan.make(input: input, prior: prior, only: only)
    rss("plan")
    let factory = EntryFactory(runID: run.id, prior: prior)
    let client = ChartMogulClient(config: config, transport: transport, logger: logger)
    let ledger = try PartialLedger(run: run, dataSource: config.dataSourceUUID)
    let attributeStore = try AttributeStore(
      area: ctx.area, dataSource: config.dataSourceUUID,
      wanted: Set(
        plan.attributes.map(\.customerExternalID) + plan.units.compactMap { $0.attributes?.customerExternalID }))
    ctx.progress.end()

    var batches: [BulkBatch] = []
    var learnedCustomers: [String: String] = [:]
    let hasWork = !plan.isEmpty || !prior.unfinishedImports.isEmpty
    if hasWork {
      try await client.verifyDataSource(config.dataSourceUUID)
      var known: [String: String] = [:]
      for e in prior.entries.values where e.kind == .customer && e.status == .confirmed {
        if let u = e.uuid { known[e.key] = u }
      }
      let resolver = Resolver(client: client, dataSource: config.dataSourceUUID, knownCustomers: known)
      let importer = BulkImporter(
        client: client, config: config, ledger: ledger, resolver: resolver, factory: factory, logger: logger,
        progress: ctx.progress, attributeStore: attributeStore)
      await importer.settle(prior.unfinishedImports)

      let split = BulkBatch.split(
        pipeline: ctx.pipeline.name, runID: run.id, plans: plan.plans, units: plan.units,
        maxCustomers: config.customersPerBatch, maxBytes: config.maxBatchBytes)
      batches = split.batches
      for u in split.oversized {
        await ledger.record(
          importer.entries(
            for: u, status: .failed, error: nil,
            message:
              "the records of customer \(u.customerExternalID) are larger than ChartMogul's 5 MB bulk import limit"))
      }
      ctx.progress.begin(
        "load: bulk imports and status polls (\(batches.count.grouped) imports, \(config.maxImportsInFlight) at a time) — customers",
        total: plan.units.count)
      let late = try await importer.run(batches)
      ctx.progress.end()

      var work: [FollowUps.Work] = []
      for (i, t) in plan.lateTransactions + late.transactions { work.append(.transaction(i, t)) }
      for c in plan.cancellations { work.append(.cancellation(c)) }
      for a in plan.attributes + late.attributes { work.append(.attributes(a)) }

      // The uuids the follow-ups and the write-back need, learned in as few requests as possible.
      var wanted = Set<String>()
      for c in plan.cancellations { wanted.insert(c.customerExternalID) }
      for a in plan.attributes + late.attributes { wanted.insert(a.customerExternalID) }
      if config.writeBackURL != nil {
        for cid in input.customerOrder where input.customers[cid] != nil {
          let now = await ledger.result(.customer, cid)
          let e = now ?? prior.entries[LedgerEntry.id(.customer, cid)]
          if let e, e.status == .confirmed, e.uuid == nil { wanted.insert(cid) }
        }
      }
      for cid in Array(wanted) {
        let mine = await ledger.result(.customer, cid)
        if let mine, mine.status != .confirmed { wanted.remove(cid) }
        if let u = mine?.uuid ?? prior.entries[LedgerEntry.id(.customer, cid)]?.uuid {
          await resolver.remember(customer: cid, uuid: u)
        }
      }
      if !wanted.isEmpty {
        ctx.progress.begin(
          "load: looking up customer uuids (\(wanted.count.grouped) customers, 200 per page)", total: nil)
        do {
          // One lookup each while that is fewer requests than paging the whole customer list.
          let population = max(input.customers.count, known.count)
          learnedCustomers = try await resolver.learnCustomers(wanted, lookupLimit: max(25, population / 200))
        } catch let e as ChartMogulError {
          logger.warning("could not list the data source's customers: \(e)")
        }
        ctx.progress.end()
        for (cid, u) in learnedCustomers {
          if var r = await ledger.result(.customer, cid), r.status == .confirmed, r.uuid == nil {
            r.uuid = u
            await ledger.record(r)
          }
        }
      }
      var followUps = FollowUps(
        client: client, config: config, ledger: ledger, resolver: resolver, factory: factory, logger: logger, now: now,
        attributeStore: attributeStore)
      followUps.serviceStarts = LoadEngine.serviceStarts(
        input: input, cancelled: Set(plan.cancellations.map(\.subscriptionExternalID)))
      try await followUps.run(work, progress: ctx.progress)
    }
    ctx.progress.begin(
      config.writeBackURL == nil
        ? "load: writing the ledger" : "load: uuids for the app database, the ledger, the write-back",
      total: nil)
    defer { ctx.progress.end() }
    try await attributeStore.close()
    try await ledger.close()
    let results = await ledger.results
    // The app database wants the uuids of what was confirmed, including records an earlier, killed
    // attempt of this run confirmed (they come from the partial ledger, never looked up).
    var learned: [String: String] = [:]
    if config.writeBackURL != nil {
      var pool = prior.entries.filter { $0.value.kind == .invoice || $0.value.kind == .customer }
      for (id, e) in results { pool[id] = e }
      let before = pool
      await UUIDBackfill(client: client, dataSource: config.dataSourceUUID).fill(&pool, input: input)
      for (id, e) in pool where before[id]?.uuid == nil { learned[id] = e.uuid }
    }

    // Final outcome of every input record, in input order; `own`: those this run wrote (the run's
    // ledger and the pipeline ledger get these; outcomes of earlier runs are not copied).
    var final: [String: LedgerEntry] = [:]
    var lines: [LedgerEntry] = []
    var own: [LedgerEntry] = []
    func settle(_ kind: LedgerKind, _ key: String, _ fields: @autoclosure () -> JSONObject) {
      let id = LedgerEntry.id(kind, key)
      var e: LedgerEntry
      if let r = results[id] {
        e = r
      } else if let p = prior.entries[id] {
        e = p
      } else {
        e = factory.make(kind, key, .skipped, fields: fields(), message: "not selected for this retry", sent: false)
      }
      let earlier = results[id] == nil ? prior.entries[id] : nil
      if e.dataSource == nil { e.dataSource = config.dataSourceUUID }
      if e.uuid == nil, e.status == .confirmed {
        e.uuid = learned[id] ?? (kind == .customer ? learnedCustomers[key] : nil)
      }
      if final[id] == nil {
        lines.append(e)
        if earlier == nil || earlier!.runID == run.id || earlier!.uuid != e.uuid { own.append(e) }
      }
      final[id] = e
    }
    for p in input.plans { settle(.plan, p.externalID, EntryFactory.fields(plan: p)) }
    for cid in input.customerOrder {
      if input.customers[cid] != nil { settle(.customer, cid, EntryFactory.fields(customer: cid)) }
      for i in input.invoicesByCustomer[cid] ?? [] {
        settle(.invoice, i.externalID, EntryFactory.fields(invoice: i))
        for t in i.transactions { settle(.transaction, t.externalID, EntryFactory.fields(transaction: t, invoice: i)) }
      }
    }
    for c in input.cancellations { settle(.cancellation, LoadInput.key(c), EntryFactory.fields(cancellation: c)) }
    for a in input.attributes { settle(.attributes, LoadInput.key(a), EntryFactory.fields(attributes: a)) }
    for u in input.unreadable where final[LedgerEntry.id(u.kind, u.key)] == nil {
      var e = u.entry(factory)
      e.dataSource = config.dataSourceUUID
      lines.append(e)
      own.append(e)
      final[e.id] = e
    }

    var writeBack: WriteBackStep.Outcome? = nil
    if let url = config.writeBackURL {
      writeBack = WriteBackStep(url: url, runID: run.id, logger: logger).run(
        input: input, final: final, attemptedNow: Set(results.keys), now: now)
    }

    let stats = await client.http.stats.snapshot()
    let summary = LoadSummary(
      lines: lines, results: results, batches: batches, stats: stats, seconds: Date().timeIntervalSince(started),
      writeBack: writeBack, alreadyConfirmed: plan.alreadyConfirmed)
    rss("settled")
    let builder = try StageBuilder(run: run, stage: "load")
    do {
      let w = try builder.writer(LedgerFiles.ledgerName)
      for e in own { try w.write(e.json) }
      try builder.publish(
        inputs: verifiedInputs, accounting: summary.accounting,
        details: summary.details)
    } catch {
      builder.abandon()
      throw error
    }
    try prior.record(own: own, runID: run.id, area: ctx.area)
    try? FileSystem.removeTree(LedgerFiles.partialDirectory(run))
    return StageResult(
      stage: "load", accounting: summary.accounting, lines: summary.lines, details: summary.details,
      writeBackFailure: summary.writeBackFailure)
  }
}

extension LoadEngine {
  /// Service period starts of this run's line items on the subscriptions being cancelled.
  static func serviceStarts(input: LoadInput, cancelled: Set<String>) -> [String: Set<Int64>] {
    guard !cancelled.isEmpty else { return [:] }
    var out: [String: Set<Int64>] = [:]
    for (_, list) in input.invoicesByCustomer {
      for i in list {
        for l in i.lineItems {
          guard let sub = l.subscriptionExternalID, cancelled.contains(sub), let s = l.servicePeriodStart else {
            continue
          }
          out[sub, default: []].insert(s.seconds)
        }
      }
    }
    return out
  }
}

/// glibc's `malloc_trim(0)` (`SystemShims`): returns freed heap pages to the system (a long parse
/// leaves many).
func releaseFreeMemory() { _ = cshims_release_free_memory() }

/// Redraws the progress line every second while a phase waits on ChartMogul (a bulk import being
/// processed, the rate limit), so the user sees the load alive from its first second.
final class Heartbeat: Sendable {
  let task: Task<Void, Never>
  init(progress: any ProgressSink) {
    task = Task {
      while !Task.isCancelled {
        try? await Task.sleep(nanoseconds: 1_000_000_000)
        progress.advance(by: 0)
      }
    }
  }
  func stop() { task.cancel() }
}

/// Counts and figures of a load for the one-screen summary and `manifest.json` details.
struct LoadSummary {
  var accounting = Accounting()
  var lines: [String] = []
  var details = JSONObject()
  /// The write-back failed (redacted message): the run is not clean.
  var writeBackFailure: String?

  init(
    lines entries: [LedgerEntry], results: [String: LedgerEntry], batches: [BulkBatch], stats: HTTPStats.Snapshot,
    seconds: Double, writeBack: WriteBackStep.Outcome?, alreadyConfirmed: Int
  ) {
    var byKind: [LedgerKind: (confirmed: Int, failed: Int, skipped: Int)] = [:]
    for e in entries {
      var v = byKind[e.kind] ?? (0, 0, 0)
      switch e.status {
      case .confirmed: v.confirmed += 1
      case .failed: v.failed += 1
      case .skipped: v.skipped += 1
      }
      byKind[e.kind] = v
    }
    let confirmed = byKind.values.reduce(0) { $0 + $1.confirmed }
    let failed = byKind.values.reduce(0) { $0 + $1.failed }
    let skipped = byKind.values.reduce(0) { $0 + $1.skipped }
    accounting = Accounting(input: entries.count, output: confirmed, rejected: 0, skipped: skipped, failed: failed)

    var sent: [LedgerKind: Int] = [:]
    for e in results.values where e.status != .skipped { sent[e.kind, default: 0] += 1 }
    let invoicesSent = sent[.invoice] ?? 0
    let per100 = invoicesSent > 0 ? Double(stats.requests) * 100 / Double(invoicesSent) : 0
    let errorRate = stats.requests > 0 ? Double(stats.errors) / Double(stats.requests) : 0

    var kinds = JSONObject()
    for k in LedgerKind.allCases {
      let v = byKind[k] ?? (0, 0, 0)
      kinds[k.rawValue] = [
        "confirmed": .int(v.confirmed), "failed": .int(v.failed), "skipped": .int(v.skipped),
        "sent": .int(sent[k] ?? 0),
      ]
    }
    details["records"] = .object(kinds)
    details["imports"] = .int(batches.count)
    details["already_confirmed"] = .int(alreadyConfirmed)
    details["requests"] = .int(stats.requests)
    details["requests_per_100_invoices"] = .number(String(format: "%.2f", per100))
    details["rate_limited"] = .int(stats.rateLimited)
    details["retries"] = .int(stats.retries)
    details["api_error_rate"] = .number(String(format: "%.4f", errorRate))
    details["median_ms"] = .int(Int((stats.medianSeconds * 1000).rounded()))
    details["p95_ms"] = .int(Int((stats.p95Seconds * 1000).rounded()))
    details["http"] = stats.json
    if let writeBack { details["write_back"] = writeBack.json }
    writeBackFailure = writeBack?.error

    func k(_ kind: LedgerKind) -> String { (sent[kind] ?? 0).grouped }
    lines.append(
      "sent: \(batches.count) bulk imports — customers \(k(.customer)), plans \(k(.plan)), invoices \(k(.invoice)), transactions \(k(.transaction)); cancellations \(k(.cancellation)), attribute sets \(k(.attributes)); already confirmed earlier \(alreadyConfirmed.grouped)"
    )
    lines.append(
      "requests \(stats.requests.grouped) (\(String(format: "%.2f", per100)) per 100 invoices) · 429s \(stats.rateLimited) · retries \(stats.retries) · API error rate \(String(format: "%.1f", errorRate * 100))% · median \(Int(stats.medianSeconds * 1000)) ms · p95 \(Int(stats.p95Seconds * 1000)) ms · \(String(format: "%.1f", seconds)) s"
    )
    if failed > 0 {
      let parts = LedgerKind.allCases.compactMap { k -> String? in
        let f = byKind[k]?.failed ?? 0
        return f > 0 ? "\(k.rawValue) \(f.grouped)" : nil
      }
      lines.append("failed: \(parts.joined(separator: ", ")) → load/ledger.ndjson (`retry` re-sends them)")
    }
    if let writeBack {
      if let e = writeBack.error {
        lines.append("write-back FAILED: \(e) (the next load writes it back again)")
      } else {
        lines.append(
          "write-back: \(writeBack.confirmedTransactions.grouped) transactions confirmed, \(writeBack.failedTransactions.grouped) failed, \(writeBack.confirmedCancellations.grouped) cancellations"
        )
      }
    }
  }
}

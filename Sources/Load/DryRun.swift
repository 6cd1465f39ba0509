import Foundation
import Logging
import RevenueCore
import Staging

/// `load --dry-run`: writes `load/requests.ndjson` with the method, path and body of every request the
/// load would send (never the auth header or any secret), a ledger marking what would be sent as
/// `skipped`, and a Census-style impact summary (anchors.md C.4). Nothing is sent.
///
/// Uuids ChartMogul has not given yet appear as placeholders (`{uuid of customer X}`); import polls and
/// lookups are listed once each with `"repeat"`/`"when"` notes, since their count depends on answers.
struct DryRun {
  let config: LoadConfig
  let ctx: StageContext

  func execute() throws -> StageResult {
    let run = ctx.run
    let transformManifest = try run.requireManifest("transform", for: "load")
    let verifiedInputs = try StagedInput.verify(
      run: run, stage: "transform", manifest: transformManifest, names: LoadInput.files)
    let input = try LoadInput.read(run: run)
    let prior = try PriorLedger.read(area: ctx.area, currentRun: run, dataSource: config.dataSourceUUID)
    let plan = LoadPlan.make(input: input, prior: prior, only: nil)
    let factory = EntryFactory(runID: run.id, prior: prior)
    let split = BulkBatch.split(
      pipeline: ctx.pipeline.name, runID: run.id, plans: plan.plans, units: plan.units,
      maxCustomers: config.customersPerBatch, maxBytes: config.maxBatchBytes)

    let builder = try StageBuilder(run: run, stage: "load")
    do {
      let req = try builder.writer(LedgerFiles.requestsName)
      func write(_ method: String, _ path: String, body: JSONValue? = nil, note: String? = nil) throws {
        var o: JSONObject = ["method": .string(method), "path": .string(path)]
        o.set("body", body)
        o.set("note", .optional(note))
        try req.write(.object(o))
      }
      let ds = ChartMogulClient.segment(config.dataSourceUUID)
      var requests = 0
      if !plan.isEmpty {
        try write("GET", "/v1/data_sources/\(ds)", note: "checks that the data source exists")
        requests += 1
      }
      for b in split.batches {
        try write("POST", "/v1/data_sources/\(ds)/json_imports", body: b.body)
        try write(
          "GET", "/v1/data_sources/\(ds)/json_imports/{id of import \(b.externalID)}",
          note: "repeated with backoff until the import leaves queued/processing")
        requests += 2
      }
      func customerPath(_ id: String) throws -> String {
        if let u = prior.confirmed(.customer, id)?.uuid { return ChartMogulClient.segment(u) }
        try write(
          "GET",
          ChartMogulClient.pathWithQuery(
            "/v1/customers", [("data_source_uuid", config.dataSourceUUID), ("external_id", id)]),
          note: "looks up the uuid of customer \(id)")
        requests += 1
        return "{uuid of customer \(id)}"
      }
      for (i, t) in plan.lateTransactions {
        var inv = prior.confirmed(.invoice, i.externalID)?.uuid.map(ChartMogulClient.segment)
        if inv == nil {
          try write(
            "GET",
            ChartMogulClient.pathWithQuery(
              "/v1/invoices", [("data_source_uuid", config.dataSourceUUID), ("external_id", i.externalID)]),
            note: "looks up the uuid of invoice \(i.externalID)")
          requests += 1
          inv = "{uuid of invoice \(i.externalID)}"
        }
        try write("POST", "/v1/import/invoices/\(inv!)/transactions", body: WireFormat.transaction(t))
        requests += 1
      }
      for c in plan.cancellations {
        let cus = try customerPath(c.customerExternalID)
        try write(
          "GET", "/v1/import/customers/\(cus)/subscriptions?per_page=200",
          note: "finds subscription \(c.subscriptionExternalID)")
        try write(
          "PATCH", "/v1/import/subscriptions/{uuid of subscription \(c.subscriptionExternalID)}",
          body: WireFormat.cancellation(c))
        requests += 2
      }
      for a in plan.attributes where !(a.tags.isEmpty && a.custom.isEmpty) {
        let cus = try customerPath(a.customerExternalID)
        if !a.custom.isEmpty {
          try write("POST", "/v1/customers/\(cus)/attributes/custom", body: WireFormat.customAttributes(a))
          requests += 1
        }
        if !a.tags.isEmpty {
          try write("POST", "/v1/customers/\(cus)/attributes/tags", body: WireFormat.tags(a))
          requests += 1
        }
      }

      // Ledger: what would be sent is `skipped` (a real load sends it); confirmed records stay confirmed.
      let led = try builder.writer(LedgerFiles.ledgerName)
      var acc = Accounting()
      func line(_ kind: LedgerKind, _ key: String, _ fields: JSONObject) throws {
        let e =
          prior.confirmed(kind, key)
          ?? factory.make(kind, key, .skipped, fields: fields, message: "dry run: would be sent", sent: false)
        acc.input += 1
        if e.status == .confirmed { acc.output += 1 } else { acc.skipped += 1 }
        try led.write(e.json)
      }
      for p in input.plans { try line(.plan, p.externalID, EntryFactory.fields(plan: p)) }
      for cid in input.customerOrder {
        if input.customers[cid] != nil { try line(.customer, cid, EntryFactory.fields(customer: cid)) }
        for i in input.invoicesByCustomer[cid] ?? [] {
          try line(.invoice, i.externalID, EntryFactory.fields(invoice: i))
          for t in i.transactions {
            try line(.transaction, t.externalID, EntryFactory.fields(transaction: t, invoice: i))
          }
        }
      }
      for c in input.cancellations { try line(.cancellation, LoadInput.key(c), EntryFactory.fields(cancellation: c)) }
      for a in input.attributes { try line(.attributes, LoadInput.key(a), EntryFactory.fields(attributes: a)) }
      for u in input.unreadable {
        acc.input += 1
        acc.failed += 1
        try led.write(u.entry(factory).json)
      }

      let creates: JSONObject = [
        "plans": .int(plan.plans.count), "customers": .int(plan.units.filter(\.customerPending).count),
        "invoices": .int(plan.units.reduce(0) { $0 + $1.invoiceCount }),
        "transactions": .int(plan.units.reduce(0) { $0 + $1.transactionCount } + plan.lateTransactions.count),
        "cancellations": .int(plan.cancellations.count), "attribute_sets": .int(plan.attributes.count),
      ]
      let invoices = creates["invoices"]?.int64Value ?? 0
      let perObject = Int(
        (creates["plans"]?.int64Value ?? 0) + (creates["customers"]?.int64Value ?? 0) + invoices
          + (creates["transactions"]?.int64Value ?? 0))
      var details: JSONObject = [
        "dry_run": true, "would_create": .object(creates), "already_confirmed": .int(plan.alreadyConfirmed),
        "imports": .int(split.batches.count), "requests_at_least": .int(requests),
        "per_object_requests": .int(perObject),
      ]
      if !split.oversized.isEmpty {
        details["oversized_customers"] = .array(split.oversized.map { .string($0.customerExternalID) })
      }
      try builder.publish(
        inputs: verifiedInputs, accounting: acc, details: details)
      func n(_ k: String) -> String { Int(creates[k]?.int64Value ?? 0).grouped }
      let per100 = invoices > 0 ? String(format: "%.2f", Double(requests) * 100 / Double(invoices)) : "0"
      let lines = [
        "dry run — nothing was sent; requests in load/requests.ndjson",
        "would create: plans \(n("plans")), customers \(n("customers")), invoices \(n("invoices")), transactions \(n("transactions")), cancellations \(n("cancellations")), attribute sets \(n("attribute_sets")); already loaded \(plan.alreadyConfirmed.grouped)",
        "\(split.batches.count) bulk imports, at least \(requests.grouped) requests (\(per100) per 100 invoices); one create per object would need \(perObject.grouped)",
      ]
      return StageResult(stage: "load", accounting: acc, lines: lines, details: details, noOp: .dryRun)
    } catch {
      builder.abandon()
      throw error
    }
  }
}

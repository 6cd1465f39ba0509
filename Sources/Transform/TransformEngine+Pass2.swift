import Foundation
import RevenueCore
import Staging

extension TransformEngine {
  // MARK: - Pass 2: payments → fragments

  func pass2(source s: Int, path: String, sorter: ExternalSorter) throws {
    let reader = NDJSONReader(path: path)
    let stripe = StripeReaders(subscriptions: subscriptions)
    let paypal = PayPalCashierReaders(subscriptions: subscriptions)
    var fb = FragmentBuilder(config: config, customers: customers, aliases: aliases, planIntervals: index.planIntervals)
    fb = FragmentBuilder(config: config, customers: customers, aliases: aliases, planIntervals: index.planIntervals)
    try reader.forEachLine { bytes, line in
      progress.advance(by: 1)
      let outcome: ReadOutcome
      var record: JSONValue? = nil
      if let fast = AppTransactionScanner.scan(bytes) {
        outcome = AppMapping.payment(fast.row, refundRow: fast.isRefund)
      } else {
        let isApp = AppTransactionScanner.isAppPaymentLine(bytes)
        guard let value = try? JSONParser.parse(bytes) else {
          if isApp {
            do { _ = try JSONParser.parse(bytes) } catch {
              try ledger.reject(s, line, "bad_json", "line is not valid JSON: \(error)")
            }
          }
          return
        }
        guard let env = Self.envelope(value), Self.paymentKinds.contains(env.kind) else {
          if isApp { try ledger.reject(s, line, "bad_record", "line is not an extracted record", record: value) }
          return
        }
        record = env.record
        outcome = readPayment(env, stripe: stripe, paypal: paypal)
      }
      switch outcome {
      case .payment(let p):
        switch fb.build(p, source: s, line: line, trackers: &trackers) {
        case .fragment(let f): try sorter.add { f.encode(into: &$0) }
        case .skip(let code, let reason):
          try ledger.skip(s, line, code, reason, externalID: p.gateway + "_" + p.id, record: record)
        case .reject(let code, let reason):
          try ledger.reject(s, line, code, reason, externalID: p.gateway + "_" + p.id, record: record ?? Self.reparse(bytes))
        }
      case .skip(let code, let reason): try ledger.skip(s, line, code, reason, record: record)
      case .reject(let code, let reason): try ledger.reject(s, line, code, reason, record: record ?? Self.reparse(bytes))
      case .indexed: ledger.out(s)
      }
    }
  }

  static func reparse(_ bytes: UnsafeRawBufferPointer) -> JSONValue? {
    (try? JSONParser.parse(bytes)).flatMap { envelope($0)?.record }
  }

  // MARK: - Groups → invoices

  func emitInvoices(sorter: ExternalSorter, to out: NDJSONWriter) throws {
    var groupKey: [UInt8] = []
    var group: [(meta: [UInt8], invoice: [UInt8])] = []
    func flush() throws {
      guard !group.isEmpty else { return }
      defer { group.removeAll(keepingCapacity: true) }
      progress.advance(by: group.count)
      let key = String(decoding: groupKey, as: UTF8.self)
      if group.count == 1 {
        let f = try group[0].meta.withUnsafeBytes { try Fragment.decode(key: key, meta: $0, invoice: nil) }
        if f.role.isPayment {
          try out.writeLine(group[0].invoice)
          ledger.out(f.source)
        } else {
          try ledger.reject(
            f.source, f.line, "refund_without_payment",
            "refund of \(key) but the payment is not in this run's extract", externalID: key)
        }
        return
      }
      var frags: [(Fragment, [UInt8])] = []
      for g in group {
        let f = try g.meta.withUnsafeBytes { m in
          try g.invoice.withUnsafeBytes { i in try Fragment.decode(key: key, meta: m, invoice: i) }
        }
        frags.append((f, g.invoice))
      }
      // Deterministic order whatever the input order: role, then content.
      frags.sort { a, b in
        if a.0.role != b.0.role { return a.0.role < b.0.role }
        if a.1 != b.1 { return a.1.lexicographicallyPrecedes(b.1) }
        return (a.0.source, a.0.line) < (b.0.source, b.0.line)
      }
      let list = frags.map(\.0)
      let (outcome, dups) = InvoiceAssembler.assemble(list, ledger: ledger)
      for i in dups {
        try ledger.skip(list[i].source, list[i].line, "duplicate", "same record as another in this run", externalID: key)
      }
      let live = list.indices.filter { !dups.contains($0) }.map { list[$0] }
      switch outcome {
      case .invoice(let inv):
        try out.write(inv.json)
        for f in live { ledger.out(f.source) }
      case .rejected(let code, let reason):
        for f in live { try ledger.reject(f.source, f.line, code, reason, externalID: key) }
      }
    }
    try sorter.drain { line in
      guard let t1 = line.firstIndex(of: 0x09) else { throw StagingFormatError("sort run line without key") }
      let rest = line[(t1 + 1)...]
      guard let t2 = rest.firstIndex(of: 0x09) else { throw StagingFormatError("sort run line without meta") }
      let key = line[..<t1]
      if !key.elementsEqual(groupKey) {
        try flush()
        groupKey = Array(key)
      }
      group.append((Array(line[(t1 + 1)..<t2]), Array(line[(t2 + 1)...])))
    }
    try flush()
  }

  // MARK: - Cancellations, customers, plans, attributes

  func writeCancellations() throws {
    let out = try builder.writer("cancellations.ndjson")
    for (key, group) in subscriptions.cancelledGroups() {
      let best = group[0]
      let customer: String?
      if let u = best.appUserID { customer = customers.resolveUser(u) } else { customer = best.identity.flatMap(customers.resolve) }
      guard let customer else {
        for s in group { try ledger.reject(s.source, s.line, "no_customer", "cancelled subscription \(key) names no customer", externalID: key) }
        continue
      }
      if customers.isTest(customer) {
        for s in group { try ledger.skip(s.source, s.line, "test_data", "customer \(customer) is test data", externalID: key) }
        continue
      }
      var info = best
      if info.periodEnd == nil, let last = info.lastPayment, let p = info.planID {
        if let spec = config.planMapping[p] {
          info.periodEnd = last.adding(spec.intervalUnit, count: spec.intervalCount)
        } else if let (u, c) = index.planIntervals[p] {
          info.periodEnd = last.adding(u, count: c)
        }
      }
      guard let at = Cancellations.cancelledAt(info, tracked: trackers.lastPeriodEnd[key], rule: config.churnRecognition) else {
        for s in group { try ledger.reject(s.source, s.line, "missing_field", "cancelled subscription \(key) has no cancellation or period end date", externalID: key) }
        continue
      }
      let rec = CancellationRecord(
        customerExternalID: trackers.subscriptionCustomer[key] ?? customer, subscriptionExternalID: key, cancelledAt: at,
        requestedAt: info.requestedAt, appSubscriptionID: group.lazy.compactMap(\.appSubscriptionID).first)
      try out.write(rec.json)
      for s in group { ledger.out(s.source) }
    }
  }

  func writeCustomersAndPlans(invoiceCount: Int) throws -> JSONObject {
    let custOut = try builder.writer("customers.ndjson")
    let attrOut = try builder.writer("attributes.ndjson")
    var missing = 0
    let list = customers.customers()
    for c in list {
      try custOut.write(c.json)
      let (rec, miss) = Enrichment.attributes(
        customer: c, user: customers.user(c.externalID), gateways: customers.gatewaysByCustomer[c.externalID] ?? [],
        referrer: customers.referrerFromMetadata[c.externalID]?.1)
      missing += miss
      try attrOut.write(rec.json)
    }
    let planOut = try builder.writer("plans.ndjson")
    for k in trackers.plans.keys.sorted() { try planOut.write(trackers.plans[k]!.json) }
    var d = JSONObject()
    d["merges"] = customers.mergeDetails()
    d["missing_attribute_rate"] = .string(Enrichment.rate(missing: missing, total: list.count * Enrichment.keys.count))
    d["churn_recognition"] = .string(config.churnRecognition.rawValue)
    var rc = JSONObject()
    for (k, v) in ledger.rejectCodes.sorted(by: { $0.key < $1.key }) { rc[k] = .int(v) }
    var sc = JSONObject()
    for (k, v) in ledger.skipCodes.sorted(by: { $0.key < $1.key }) { sc[k] = .int(v) }
    d["reject_codes"] = .object(rc)
    d["skip_codes"] = .object(sc)
    d["test_data_skipped"] = .int(ledger.skipCodes["test_data"] ?? 0)
    return d
  }
}

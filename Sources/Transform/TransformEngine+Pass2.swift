import Foundation
import RevenueCore
import Staging

extension TransformEngine {
  // MARK: - Pass 2: payments → fragments

  /// What pass 2's reading thread makes of one line (see `LinePipeline`).
  enum Pass2Line {
    case outcome(ReadOutcome, record: JSONValue?, recordKey: String?)
    case badJSON(String)
    case badRecord(JSONValue)
    /// Not an app payment row, in a section pass 1 skipped as app payments only (the file changed).
    case unexpected
  }

  /// Pass 2's per-line reading: pure (scanner, parser, record readers over the indexes pass 1 built,
  /// which pass 2 only reads), so it runs on the reading thread. nil: the line was settled in pass 1.
  func readPass2Line(
    _ bytes: UnsafeRawBufferPointer, stripe: StripeReaders, paypal: PayPalCashierReaders, skippedInPass1: Bool
  ) -> Pass2Line? {
    if let fast = AppTransactionScanner.scan(bytes) {
      return .outcome(AppMapping.payment(fast.row, refundRow: fast.isRefund), record: nil, recordKey: nil)
    }
    let isApp = AppTransactionScanner.isAppPaymentLine(bytes)
    if skippedInPass1 && !isApp { return .unexpected }
    let value: JSONValue
    do { value = try JSONParser.parse(bytes) } catch {
      return isApp ? .badJSON("line is not valid JSON: \(error)") : nil
    }
    guard let env = Self.envelope(value), Self.paymentKinds.contains(env.kind) else {
      return isApp ? .badRecord(value) : nil
    }
    return .outcome(readPayment(env, stripe: stripe, paypal: paypal), record: env.record, recordKey: Self.recordKey(env))
  }

  func pass2(source s: Int, path: String, sorter: ExternalSorter) throws {
    let stripe = StripeReaders(subscriptions: subscriptions, includeTestData: config.includeTestData)
    let paypal = PayPalCashierReaders(subscriptions: subscriptions, includeTestData: config.includeTestData)
    let fb = FragmentBuilder(config: config, customers: customers, aliases: aliases, planIntervals: index.planIntervals)
    // Lines pass 1 did not read (app payment sections, see `pass1`) must be app payment rows.
    let skipped = (pass1Sections(s) ?? []).filter(\.skip).map { $0.firstLine..<($0.firstLine + $0.lines) }
    try LinePipeline.run(
      path: path, progress: progress,
      read: { bytes, line in
        self.readPass2Line(
          bytes, stripe: stripe, paypal: paypal, skippedInPass1: !skipped.isEmpty && skipped.contains { $0.contains(line) })
      },
      use: { item, line, bytes in
        let outcome: ReadOutcome
        var record: JSONValue? = nil
        var recordKey: String? = nil
        switch item {
        case .unexpected:
          throw StagingError(
            "\(path) line \(line) is not an app transaction or refund, but the extract manifest lists only those there: the file changed after extract; rerun extract (or restore the file)"
          )
        case .badJSON(let message):
          try ledger.reject(s, line, "bad_json", message)
          return
        case .badRecord(let value):
          try ledger.reject(s, line, "bad_record", "line is not an extracted record", record: value)
          return
        case .outcome(let o, let r, let k):
          outcome = o
          record = r
          recordKey = k
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
        case .reject(let code, let reason):
          try ledger.reject(s, line, code, reason, externalID: recordKey, record: record ?? Self.reparse(bytes))
        case .indexed: ledger.out(s)
        }
      })
  }

  static func reparse(_ bytes: UnsafeRawBufferPointer) -> JSONValue? {
    (try? JSONParser.parse(bytes)).flatMap { envelope($0)?.record }
  }

  // MARK: - Groups → invoices

  /// One sorted fragment line split at its tabs (see `Fragment.encode`).
  struct FragmentLine {
    var role: Fragment.Role
    var source: Int
    var line: Int
    var meta: [UInt8]
    var invoice: [UInt8]
  }

  static func parseSmallInt(_ b: Slice<UnsafeRawBufferPointer>) throws -> Int {
    var v = 0
    guard !b.isEmpty else { throw StagingFormatError("empty number in a sort run") }
    for c in b {
      guard c >= 0x30 && c <= 0x39 else { throw StagingFormatError("bad number in a sort run") }
      v = v * 10 + Int(c - 0x30)
    }
    return v
  }

  /// Offsets of the first five tabs of a sort-run line (found with memchr) and how many there are.
  static func firstTabs(_ line: UnsafeRawBufferPointer) -> ([Int], Int) {
    var tabs = [Int](repeating: 0, count: 5)
    var found = 0
    guard let base = line.baseAddress else { return (tabs, 0) }
    var at = 0
    while found < 5, at < line.count, let hit = memchr(base + at, 0x09, line.count - at) {
      let k = UnsafeRawPointer(hit) - base
      tabs[found] = k
      found += 1
      at = k + 1
    }
    return (tabs, found)
  }

  func emitInvoices(sorter: ExternalSorter, to out: NDJSONWriter) throws {
    var groupKey: [UInt8] = []
    var group: [FragmentLine] = []
    func flush() throws {
      guard !group.isEmpty else { return }
      defer { group.removeAll(keepingCapacity: true) }
      progress.advance(by: group.count)
      if group.count == 1 {
        let g = group[0]
        if g.role.isPayment {
          try out.writeLine(g.invoice)
          ledger.out(g.source)
        } else {
          let key = String(decoding: groupKey, as: UTF8.self)
          try ledger.reject(
            g.source, g.line, "refund_without_payment",
            "refund of \(key) but the payment is not in this run's extract", externalID: key)
        }
        return
      }
      let key = String(decoding: groupKey, as: UTF8.self)
      var frags: [(Fragment, [UInt8])] = []
      for g in group {
        let f = try g.meta.withUnsafeBytes { m in
          try g.invoice.withUnsafeBytes { i in
            try Fragment.decode(key: key, role: g.role, source: g.source, line: g.line, meta: m, invoice: i)
          }
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
      for i in dups.sorted() {
        try ledger.skip(list[i].source, list[i].line, "duplicate", "same record as another in this run", externalID: key)
      }
      let live = list.indices.filter { !dups.contains($0) }.map { list[$0] }
      switch outcome {
      case .invoice(let inv):
        try out.withBuffer { FastJSON.invoice(inv, &$0) }
        try out.endLine()
        for f in live { ledger.out(f.source) }
      case .rejected(let code, let reason):
        for f in live { try ledger.reject(f.source, f.line, code, reason, externalID: key) }
      }
    }
    try sorter.drain { line in
      let (tabs, found) = Self.firstTabs(line)
      guard found == 5 else { throw StagingFormatError("sort run line has \(found) tabs, expected 5") }
      let key = line[..<tabs[0]]
      if !key.elementsEqual(groupKey) {
        try flush()
        groupKey.removeAll(keepingCapacity: true)
        groupKey.append(contentsOf: key)
      }
      guard let role = Fragment.Role(rawValue: try Self.parseSmallInt(line[(tabs[0] + 1)..<tabs[1]])) else {
        throw StagingFormatError("bad fragment role in a sort run")
      }
      group.append(
        FragmentLine(
          role: role, source: try Self.parseSmallInt(line[(tabs[1] + 1)..<tabs[2]]),
          line: try Self.parseSmallInt(line[(tabs[2] + 1)..<tabs[3]]), meta: Array(line[(tabs[3] + 1)..<tabs[4]]),
          invoice: Array(line[(tabs[4] + 1)...])))
    }
    try flush()
  }

  // MARK: - Cancellations, customers, plans, attributes

  /// cancellations.ndjson: every source's cancellation (best source first, see `SubscriptionIndex`)
  /// of a subscription ChartMogul has invoices for, then what `Lapse` decides for the others; and
  /// this run's `SubscriptionHistory`. Returns what the summary reports.
  func writeCancellations(asOf: Timestamp?) throws -> CancellationSummary {
    var summary = CancellationSummary()
    var states = try SubscriptionHistory.read(priorSubscriptions)
    for (sub, paid) in trackers.paid { SubscriptionHistory.merge(&states, sub, paid) }
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
      guard var state = states[key] else {
        // Nothing to cancel: ChartMogul only knows subscriptions from their invoices.
        for s in group {
          try ledger.skip(
            s.source, s.line, "subscription_never_invoiced",
            "subscription \(key) has no invoice in this or any earlier run of this pipeline (paid only in test mode, or only failed payments), so ChartMogul has nothing to cancel",
            externalID: key)
        }
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
      guard let at = Cancellations.cancelledAt(info, tracked: trackers.paid[key]?.end, rule: config.churnRecognition) else {
        for s in group { try ledger.reject(s.source, s.line, "missing_field", "cancelled subscription \(key) has no cancellation or period end date", externalID: key) }
        continue
      }
      // A cancellation of a subscription we cancelled as lapsed replaces that lapse's date.
      let replacing = state.lapsedAt != nil
      let rec = CancellationRecord(
        customerExternalID: trackers.paid[key]?.customer ?? customer, subscriptionExternalID: key, cancelledAt: at,
        requestedAt: info.requestedAt, appSubscriptionID: group.lazy.compactMap(\.appSubscriptionID).first,
        cancellationDates: replacing ? [at] : nil)
      try out.write(rec.json)
      for s in group { ledger.out(s.source) }
      state.cancelled = true
      state.lapsedAt = nil
      state.lapsedPaidThrough = nil
      states[key] = state
    }
    if let policy = lapsePolicy, let asOf {
      for key in states.keys.sorted() {
        var state = states[key]!
        let decision = Lapse.decide(state, asOf: asOf, policy: policy)
        guard decision != .keep else { continue }
        let customer = customers.currentExternalID(forEarlier: state.customer)
        if customers.isTest(customer) { continue }
        let rec: CancellationRecord
        switch decision {
        case .keep: continue
        case .lapse(let at), .withdraw(_, .some(let at)):
          rec = CancellationRecord(
            customerExternalID: customer, subscriptionExternalID: key, cancelledAt: at, lapsed: true,
            cancellationDates: [at])
          summary.lapsed += 1
          if case .withdraw = decision { summary.withdrawn += 1 }
        case .withdraw(let withdrawn, .none):
          rec = CancellationRecord(
            customerExternalID: customer, subscriptionExternalID: key, cancelledAt: withdrawn, withdrawn: true,
            cancellationDates: [])
          summary.withdrawn += 1
        }
        try out.write(rec.json)
        Lapse.apply(decision, to: &state)
        states[key] = state
      }
    }
    try SubscriptionHistory.write(states, to: try builder.writer(SubscriptionHistory.fileName))
    summary.subscriptions = states.count
    return summary
  }

  /// What `writeCancellations` adds to the summary.
  struct CancellationSummary {
    var lapsed = 0
    var withdrawn = 0
    var subscriptions = 0
  }

  /// Writes customers.ndjson and attributes.ndjson from the final customer index (read only, so it
  /// may run alongside the invoice merge); returns the missing-attribute count and the customer count.
  func writeCustomers(_ custOut: NDJSONWriter, _ attrOut: NDJSONWriter) throws -> (Int, Int) {
    var missing = 0
    let list = customers.customers()
    for c in list {
      custOut.withBuffer { FastJSON.customer(c, &$0) }
      try custOut.endLine()
      let (rec, miss) = Enrichment.attributes(
        customer: c, user: customers.user(c.externalID), gateways: customers.gatewaysByCustomer[c.externalID] ?? [],
        referrer: customers.referrerFromMetadata[c.externalID]?.1)
      missing += miss
      attrOut.withBuffer { FastJSON.attributes(rec, &$0) }
      try attrOut.endLine()
    }
    return (missing, list.count)
  }

  func writePlansAndDetails(missingAttributes missing: Int, customerCount: Int) throws -> JSONObject {
    let planOut = try builder.writer("plans.ndjson")
    for k in trackers.plans.keys.sorted() { try planOut.write(trackers.plans[k]!.json) }
    var d = JSONObject()
    d["merges"] = customers.mergeDetails()
    d["missing_attribute_rate"] = .string(Enrichment.rate(missing: missing, total: customerCount * Enrichment.keys.count))
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

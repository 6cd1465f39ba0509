import CShims
import Foundation
import RevenueCore
import Staging

/// Runs the two passes of the transform over a set of extract files (see `TransformStage`).
final class TransformEngine {
  let config: TransformConfig
  let inputs: [String]
  /// Each input's sections as the extract manifest lists them (nil: unknown, read it whole).
  let sections: [[FileSection]?]
  let ledger: RecordLedger
  let builder: StageBuilder
  let formats: ActivityFormats
  let progress: any ProgressSink
  let totalLines: Int
  /// The customer index of an earlier run (see `CustomerHistory`); nil on a first run.
  let prior: CustomerHistory.Prior?
  /// What earlier runs paid and cancelled (see `SubscriptionHistory`).
  let priorSubscriptions: SubscriptionHistory.Prior
  /// The instant the extract describes (`details.as_of`); nil for extracts that predate it (no lapse
  /// detection then).
  let asOf: Timestamp?
  var lapsePolicy: Lapse.Policy? {
    config.lapseAfterDays.map { Lapse.Policy(afterDays: $0, churnRecognition: config.churnRecognition) }
  }
  let customers: CustomerIndex
  let subscriptions = SubscriptionIndex()
  let aliases = PaymentAliases()
  var index: IndexReaders
  var trackers = BuildTrackers()
  /// Record kinds pass 1 met (for the backfill warnings, see `BackfillWarnings`).
  var seenKinds = Set<String>()
  /// Ids of test-mode Stripe payments (refund objects carry no `livemode`: they follow their charge).
  var testPayments = Set<String>()
  /// Lines already settled in pass 1 (bad JSON, index records) are not revisited: pass 2 knows them by kind.
  static let indexKinds: Set<String> = [
    "app.user", "app.subscription", "stripe.customer", "stripe-customers-csv", "stripe.subscription",
    "stripe-subscriptions-csv", "paypal.plan", "paypal.subscription",
  ]
  static let paymentKinds: Set<String> = [
    "app.transaction", "app.refund", "stripe.invoice", "stripe.charge", "stripe.refund", "stripe-payments-csv",
    "stripe-refunds-csv", "stripe-invoices-csv", "paypal.transaction", "paypal-activity-csv", "cashier.transaction", "cashier-csv",
  ]

  init(
    config: TransformConfig, inputs: [String], sections: [[FileSection]?]? = nil, names: [String], builder: StageBuilder,
    formats: ActivityFormats, progress: any ProgressSink, totalLines: Int, prior: CustomerHistory.Prior? = nil,
    priorSubscriptions: SubscriptionHistory.Prior = .none, asOf: Timestamp? = nil
  ) throws {
    self.prior = prior
    self.priorSubscriptions = priorSubscriptions
    self.asOf = asOf
    self.config = config
    self.inputs = inputs
    self.sections = sections ?? inputs.map { _ in nil }
    self.builder = builder
    self.formats = formats
    self.progress = progress
    self.totalLines = totalLines
    ledger = RecordLedger(
      sourceNames: names, rejects: try builder.writer("rejects.ndjson"), skipped: try builder.writer("skipped.ndjson"))
    customers = CustomerIndex(config: config)
    index = IndexReaders(customers: customers, subscriptions: subscriptions)
    index.includeTestData = config.includeTestData
  }

  /// One staged line split into its envelope parts.
  struct Envelope {
    var kind: String
    var gateway: String
    var record: JSONValue
    var originFile: String?
    /// The file's `date_format`/`decimal` as extract decided them (export CSVs).
    var originDateFormat: String? = nil
    var originDecimal: String? = nil
  }

  static func envelope(_ v: JSONValue) -> Envelope? {
    guard case .object(let o) = v, let kind = o["kind"]?.stringValue, let rec = o["record"] else { return nil }
    return Envelope(
      kind: kind, gateway: o["gateway"]?.stringValue ?? "", record: rec, originFile: o["origin"]?["file"]?.stringValue,
      originDateFormat: o["origin"]?["date_format"]?.stringValue, originDecimal: o["origin"]?["decimal"]?.stringValue)
  }

  func run() throws -> JSONObject {
    // Earlier runs' identities first: they win over this run's (see `CustomerHistory`).
    if let prior { try CustomerHistory.readIdentities(prior, into: customers) }
    progress.begin("transform: index customers and subscriptions", total: totalLines)
    for (s, path) in inputs.enumerated() { try pass1(source: s, path: path) }
    progress.end()
    customers.finish()
    aliases.finish()
    _ = cshims_release_free_memory()  // pass 1's parse garbage: give its pages back before pass 2 allocates

    let sorter = try ExternalSorter(directory: builder.directory + "/.sort", maxRecords: config.sortChunkRecords)
    progress.begin("transform: map payments", total: totalLines)
    for (s, path) in inputs.enumerated() { try pass2(source: s, path: path, sorter: sorter) }
    try sorter.finishInput()
    _ = cshims_release_free_memory()  // the sort chunks, before settling the slots allocates
    customers.settleSlots()
    progress.end()
    _ = cshims_release_free_memory()  // the slots just folded into the index

    // Facts the earlier run knew (country, name, referrer, gateways) complete this run's customers.
    if let prior { try CustomerHistory.readCustomerFacts(prior, into: customers) }

    // The customer files need only the customer index, now final: they are written on a second
    // thread while this one merges the invoices.
    let custOut = try builder.writer("customers.ndjson")
    let attrOut = try builder.writer("attributes.ndjson")
    let historyOut = try builder.writer(CustomerHistory.fileName)
    var missing = 0
    var customerCount = 0
    progress.begin("transform: write invoices", total: sorter.count)
    let invoices = try builder.writer("invoices.ndjson")
    try Alongside.run(
      {
        try emitInvoices(sorter: sorter, to: invoices)
        try? FileSystem.removeTree(builder.directory + "/.sort")
      },
      side: {
        (missing, customerCount) = try self.writeCustomers(custOut, attrOut)
        try CustomerHistory.write(self.customers, to: historyOut)
      })
    progress.end()

    let lapses = try writeCancellations(asOf: asOf)
    var details = try writePlansAndDetails(missingAttributes: missing, customerCount: customerCount)
    details["as_of"] = asOf.map { .string($0.iso8601) } ?? .null
    details["lapse_after_days"] = config.lapseAfterDays.map { .int(Int64($0)) } ?? .null
    details["lapsed"] = .int(Int64(lapses.lapsed))
    details["lapse_withdrawn"] = .int(Int64(lapses.withdrawn))
    details["subscriptions_known"] = .int(Int64(lapses.subscriptions))
    details["prior_subscription_index"] = priorSubscriptions.json
    return details
  }

  // MARK: - Pass 1

  /// Pass 1 has nothing to do with app payment rows, and in a Postgres extract they are one block
  /// (the `transactions` and `refunds` queries' sections, `FileSection`): it seeks past them. nil:
  /// the input has no usable sections and is read whole.
  func pass1Sections(_ s: Int) -> [LinePipeline.Section]? {
    LinePipeline.Section.plan(sections[s], skipKinds: ["app.transaction", "app.refund"])
  }

  /// What pass 1's reading thread makes of one line: app payment lines are left to pass 2 (nil),
  /// the others are parsed there (the costly part), and indexed on the calling thread in file order.
  enum Pass1Line {
    case parsed(JSONValue)
    case badJSON(String)
  }

  func pass1(source s: Int, path: String) throws {
    let stripe = StripeReaders(subscriptions: nil, includeTestData: config.includeTestData)
    let paypal = PayPalCashierReaders(subscriptions: nil, includeTestData: config.includeTestData)
    try LinePipeline.run(
      path: path, sections: pass1Sections(s), progress: progress,
      read: { bytes, _ -> Pass1Line? in
        if AppTransactionScanner.isAppPaymentLine(bytes) { return nil }
        do { return .parsed(try JSONParser.parse(bytes)) } catch { return .badJSON("line is not valid JSON: \(error)") }
      },
      lines: { self.ledger.input(s, count: $0) },
      use: { item, line, _ in
        let value: JSONValue
        switch item {
        case .badJSON(let message):
          try ledger.reject(s, line, "bad_json", message)
          return
        case .parsed(let v): value = v
        }
        guard let env = Self.envelope(value) else {
          try ledger.reject(s, line, "bad_record", "line is not an extracted record (kind and record are required)", record: value)
          return
        }
        seenKinds.insert(env.kind)
        if Self.paymentKinds.contains(env.kind) {
          testPayments.formUnion(TestMode.testPaymentIDs(env))
          let outcome = readPayment(env, stripe: stripe, paypal: paypal)
          registerAliases(env)
          if case .payment(let p) = outcome, let id = p.identity, p.appUserID == nil || id.customerID != nil || id.email != nil {
            if p.role != .appTransaction && p.role != .appRefund { customers.addIdentity(id) }
          }
          return
        }
        if let bad = ControlBytes.problem(env.record) {
          try ledger.reject(s, line, "control_character", bad, record: env.record)
          return
        }
        let before = subscriptions.all.count
        let outcome: ReadOutcome
        switch env.kind {
        case "app.user": outcome = index.appUser(env.record)
        case "app.subscription": outcome = index.appSubscription(env.record, source: s, line: line)
        case "stripe.customer": outcome = index.stripeCustomer(env.record, csv: false)
        case "stripe-customers-csv": outcome = index.stripeCustomerExport(env.record)
        case "stripe.subscription": outcome = index.stripeSubscription(env.record, source: s, line: line)
        case "stripe-subscriptions-csv": outcome = index.stripeSubscriptionCSV(env.record, source: s, line: line)
        case "paypal.plan": outcome = index.paypalPlan(env.record)
        case "paypal.subscription": outcome = index.paypalSubscription(env.record, source: s, line: line)
        default:
          try ledger.reject(s, line, "unknown_kind", "kind '\(env.kind)' is not one Transform reads", record: env.record)
          return
        }
        switch outcome {
        case .indexed:
          // Cancelled subscriptions are counted when their cancellation is decided.
          if subscriptions.all.count > before, subscriptions.all.last!.cancelled { return }
          ledger.out(s)
        case .skip(let code, let reason): try ledger.skip(s, line, code, reason, record: env.record)
        case .reject(let code, let reason):
          try ledger.reject(s, line, code, reason, externalID: Self.recordKey(env), record: env.record)
        case .payment: ledger.out(s)
        }
      })
  }

  /// `<gateway>_<id>` of a gateway or export record, for rejects (nil for app rows, which name
  /// themselves through their own fields, and for records without an id).
  static func recordKey(_ env: Envelope) -> String? {
    let r = env.record
    let id: String?
    switch env.kind {
    case "paypal.transaction": id = r.at("transaction_info")?.text("transaction_id")
    case "cashier.transaction", "cashier-csv": id = r.text("transaction_id")
    case "paypal-activity-csv": id = r.text("Transaction ID")
    case let k where k.hasPrefix("app."): return nil
    default: id = r.text("id")
    }
    guard let id, !env.gateway.isEmpty else { return nil }
    return env.gateway + "_" + id
  }

  func registerAliases(_ env: Envelope) {
    let r = env.record
    switch env.kind {
    case "stripe.invoice": aliases.link(StripeReaders.invoiceAliases(r))
    case "stripe.charge": aliases.link([r.text("id"), r.text("payment_intent"), r.text("invoice")])
    case "stripe.refund": aliases.link([r.text("charge"), r.text("payment_intent")])
    case "stripe-payments-csv": aliases.link([r.text("id"), r.text("Invoice ID"), r.text("PaymentIntent ID")])
    case "stripe-refunds-csv": aliases.link([r.text("Charge ID"), r.text("PaymentIntent ID"), r.text("Invoice ID")])
    case "stripe-invoices-csv": aliases.link(StripeReaders.invoiceExportAliases(r))
    default: break
    }
  }

  func readPaymentRecord(_ env: Envelope, stripe: StripeReaders, paypal: PayPalCashierReaders) -> ReadOutcome {
    let r = env.record
    switch env.kind {
    case "app.transaction": return AppMapping.payment(AppTransactionRow(r), refundRow: false)
    case "app.refund": return AppMapping.payment(AppTransactionRow(r), refundRow: true)
    case "stripe.invoice": return stripe.invoice(r)
    case "stripe.charge": return stripe.charge(r)
    case "stripe.refund", "stripe-refunds-csv":
      if let skip = TestMode.refundOfTestPayment(env, testPayments: testPayments, include: config.includeTestData) { return skip }
      return env.kind == "stripe.refund" ? stripe.refund(r) : stripe.refundRow(r)
    case "stripe-payments-csv": return stripe.paymentExportRow(r)
    case "stripe-invoices-csv": return stripe.invoiceExportRow(r)
    case "paypal.transaction": return paypal.transaction(r)
    case "paypal-activity-csv": return paypal.activityRow(PayPalLocales.english(r), format: format(of: env))
    case "cashier.transaction", "cashier-csv": return paypal.cashier(r)
    default: return .reject(code: "unknown_kind", reason: "kind '\(env.kind)' is not one Transform reads")
    }
  }
}

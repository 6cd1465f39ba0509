import Foundation
import RevenueCore
import Staging

/// The transform output of a run, grouped by customer (all of a customer's records go in one bulk
/// request, docs/chartmogul.md "Bulk import", so invoices are grouped in memory; everything else streams).
struct LoadInput {
  var plans: [PlanRecord] = []
  var customers: [String: CustomerRecord] = [:]
  /// Customer external ids in input order (customers.ndjson first, then ids only invoices name).
  var customerOrder: [String] = []
  var invoicesByCustomer: [String: [InvoiceRecord]] = [:]
  var cancellations: [CancellationRecord] = []
  var attributes: [AttributeRecord] = []
  /// The last attribute set of each customer (transform writes one per customer).
  var attributesByCustomer: [String: AttributeRecord] = [:]
  var invoiceCount = 0
  var transactionCount = 0
  /// Lines load cannot read or that break `RecordLimits`: each fails in the ledger with its reason
  /// and the rest are sent.
  var unreadable: [UnreadableRecord] = []

  /// Records counted by the load accounting: plans, customers, invoices, transactions,
  /// cancellations and attribute sets.
  var recordCount: Int {
    plans.count + customers.count + invoiceCount + transactionCount + cancellations.count + attributes.count
      + unreadable.count
  }

  static let files = [
    "plans.ndjson", "customers.ndjson", "invoices.ndjson", "cancellations.ndjson", "attributes.ndjson",
  ]

  static func read(run: RunFolder) throws -> LoadInput {
    var input = LoadInput()
    func each(_ name: String, _ body: (JSONValue) throws(RecordShapeError) -> Void) throws {
      let path = run.file("transform", name)
      guard FileSystem.exists(path) else { return }
      // The files were verified against transform's manifest, so a line that does not read is one
      // transform should never have written: it fails alone and the rest of the load goes on.
      try NDJSONReader(path: path).forEachValue { result, line in
        switch result {
        case .failure(let e):
          input.unreadable.append(UnreadableRecord(file: name, line: line, value: nil, reason: "\(e)"))
        case .success(let v):
          do throws(RecordShapeError) {
            try body(v)
          } catch {
            input.unreadable.append(UnreadableRecord(file: name, line: line, value: v, reason: "\(error)"))
          }
        }
      }
    }
    func limit(_ problem: String?) throws(RecordShapeError) {
      if let problem { throw RecordShapeError(field: "record", reason: problem) }
    }
    try each("plans.ndjson") { v throws(RecordShapeError) in
      let p = try PlanRecord(json: v)
      try limit(RecordLimits.problem(in: p))
      input.plans.append(p)
    }
    try each("customers.ndjson") { v throws(RecordShapeError) in
      let c = try CustomerRecord(json: v)
      try limit(RecordLimits.problem(in: c))
      if input.customers[c.externalID] == nil { input.customerOrder.append(c.externalID) }
      input.customers[c.externalID] = c
    }
    try each("invoices.ndjson") { v throws(RecordShapeError) in
      let i = try InvoiceRecord(json: v)
      try limit(RecordLimits.problem(in: i))
      if input.customers[i.customerExternalID] == nil && input.invoicesByCustomer[i.customerExternalID] == nil {
        input.customerOrder.append(i.customerExternalID)
      }
      input.invoicesByCustomer[i.customerExternalID, default: []].append(i)
      input.invoiceCount += 1
      input.transactionCount += i.transactions.count
    }
    try each("cancellations.ndjson") { v throws(RecordShapeError) in
      let c = try CancellationRecord(json: v)
      try limit(RecordLimits.problem(in: c))
      input.cancellations.append(c)
    }
    try each("attributes.ndjson") { v throws(RecordShapeError) in
      let a = try AttributeRecord(json: v)
      try limit(RecordLimits.problem(in: a))
      input.attributes.append(a)
      input.attributesByCustomer[a.customerExternalID] = a
    }
    return input
  }

  static func key(_ c: CancellationRecord) -> String {
    "\(c.subscriptionExternalID)@\(c.cancelledAt.iso8601)" + (c.withdrawn ? "~withdrawn" : "")
  }
  static func key(_ a: AttributeRecord) -> String {
    "\(a.customerExternalID)#\(SHA256.hex(JSONWriter.bytes(a.json)).prefix(16))"
  }
}

/// What this load still has to send, given what earlier attempts confirmed.
struct LoadPlan {
  var plans: [PlanRecord] = []
  var units: [CustomerUnit] = []
  /// Transactions (refunds, late payments) on invoices ChartMogul already has.
  var lateTransactions: [(invoice: InvoiceRecord, transaction: TransactionRecord)] = []
  var cancellations: [CancellationRecord] = []
  var attributes: [AttributeRecord] = []
  /// Attribute sets that travel inside their (new) customer's bulk object.
  var bulkAttributes = 0
  /// Records confirmed by earlier attempts (not sent again).
  var alreadyConfirmed = 0

  var isEmpty: Bool {
    plans.isEmpty && units.isEmpty && lateTransactions.isEmpty && cancellations.isEmpty && attributes.isEmpty
  }

  /// `only`: when set (by `retry`), just these ledger ids are considered; everything else is left alone.
  static func make(input: LoadInput, prior: PriorLedger, only: Set<String>?) -> LoadPlan {
    var plan = LoadPlan()
    func wanted(_ kind: LedgerKind, _ key: String) -> Bool {
      if prior.confirmed(kind, key) != nil {
        plan.alreadyConfirmed += 1
        return false
      }
      if let only { return only.contains(LedgerEntry.id(kind, key)) }
      return true
    }
    plan.plans = input.plans.filter { wanted(.plan, $0.externalID) }
    var inBulk = Set<String>()
    for cid in input.customerOrder {
      let customer = input.customers[cid]
      let customerPending = customer != nil && wanted(.customer, cid)
      var invoices: [InvoiceRecord] = []
      for inv in input.invoicesByCustomer[cid] ?? [] {
        if wanted(.invoice, inv.externalID) {
          invoices.append(inv)
          // Its transactions travel with it (counted as already confirmed only if a ledger says so).
          continue
        }
        for t in inv.transactions where wanted(.transaction, t.externalID) {
          plan.lateTransactions.append((inv, t))
        }
      }
      var carried: AttributeRecord? = nil
      if customerPending, let a = input.attributesByCustomer[cid], !(a.tags.isEmpty && a.custom.isEmpty),
        prior.confirmed(.attributes, LoadInput.key(a)) == nil,
        only.map({
          $0.contains(LedgerEntry.id(.attributes, LoadInput.key(a))) || $0.contains(LedgerEntry.id(.customer, cid))
        }) ?? true
      {
        carried = a
        inBulk.insert(LoadInput.key(a))
      }
      if customerPending || !invoices.isEmpty {
        plan.units.append(
          CustomerUnit(
            customerExternalID: cid, customer: customer, customerPending: customerPending, invoices: invoices,
            attributes: carried))
      }
    }
    plan.bulkAttributes = inBulk.count
    plan.cancellations = input.cancellations.filter { wanted(.cancellation, LoadInput.key($0)) }
    plan.attributes = input.attributes.filter { a in
      let key = LoadInput.key(a)
      guard !inBulk.contains(key) else { return false }
      return wanted(.attributes, key)
    }
    return plan
  }
}

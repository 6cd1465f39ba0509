import Foundation
import RevenueCore
import Staging
import TransformRules

extension TransformEngine {
  /// cancellations.ndjson: one per subscription some source cancels (`Cancellations`; every
  /// candidate record of it counts as output, or is skipped/rejected with the subscription), then
  /// what `Lapse` decides for the others as of the extract's instant; and this run's
  /// `SubscriptionHistory`. Returns what the summary reports.
  func writeCancellations(asOf: Timestamp?) throws -> CancellationSummary {
    var summary = CancellationSummary()
    var states = try SubscriptionHistory.read(priorSubscriptions)
    for (sub, paid) in trackers.paid { SubscriptionState.merge(&states, sub, paid) }
    let out = try builder.writer("cancellations.ndjson")
    for (key, group) in subscriptions.cancelledGroups() {
      switch Cancellations.cancellation(
        key: key, group: group, customers: customers, planIntervals: index.planIntervals, trackers: trackers,
        state: states[key])
      {
      case .cancellation(let rec):
        try out.write(rec.json)
        for s in group { ledger.out(s.source) }
        states[key]?.cancelled = true
        states[key]?.lapsedAt = nil
        states[key]?.lapsedPaidThrough = nil
      case .skip(let code, let reason):
        for s in group { try ledger.skip(s.source, s.line, code, reason, externalID: key) }
      case .reject(let code, let reason):
        for s in group { try ledger.reject(s.source, s.line, code, reason, externalID: key) }
      }
    }
    if let policy = lapsePolicy, let asOf {
      for key in states.keys.sorted() {
        var state = states[key]!
        let decision = Lapse.decide(state, asOf: asOf, policy: policy)
        // Most subscriptions are kept: resolve the customer only for those that send a record.
        guard decision != .keep else { continue }
        let customer = customers.currentExternalID(forEarlier: state.customer)
        guard let rec = Lapse.record(decision, subscription: key, customer: customer), !customers.isTest(customer)
        else { continue }
        try out.write(rec.json)
        if rec.lapsed { summary.lapsed += 1 }
        if case .withdraw = decision { summary.withdrawn += 1 }
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
    let list = customers.customers(by: utf8Less)
    for c in list {
      custOut.withBuffer { CompactJSONWriter.customer(c, &$0) }
      try custOut.endLine()
      let (rec, miss) = Enrichment.attributes(
        customer: c, user: customers.user(c.externalID), gateways: customers.gatewaysByCustomer[c.externalID] ?? [],
        referrer: customers.referrerFromMetadata[c.externalID]?.1)
      missing += miss
      attrOut.withBuffer { CompactJSONWriter.attributes(rec, &$0) }
      try attrOut.endLine()
    }
    return (missing, list.count)
  }

  func writePlansAndDetails(missingAttributes missing: Int, customerCount: Int) throws -> JSONObject {
    let planOut = try builder.writer("plans.ndjson")
    for k in trackers.plans.keys.sorted() { try planOut.write(trackers.plans[k]!.json) }
    var d = JSONObject()
    d["merges"] = customers.mergeDetails()
    d["missing_attribute_rate"] = .string(
      Enrichment.rate(missing: missing, total: customerCount * Enrichment.keys.count))
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

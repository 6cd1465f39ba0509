import Foundation
import RevenueCore
import Staging
import TransformRules

/// What transform knows of each subscription across runs: `transform/subscription-index.ndjson`.
///
/// Why: ChartMogul keeps a subscription that stops paying active, with its last MRR, until a
/// cancellation arrives (its default "Handling past-due subscriptions",
/// https://help.chartmogul.com/article/303-handling-past-due-subscriptions — docs/chartmogul.md "Past-due
/// subscriptions and lapses"). A missed webhook, a PayPal subscription that silently stops or a
/// backfill from payment exports then stays in ChartMogul's MRR for ever. Transform therefore sends
/// a cancellation itself for a subscription whose last paid period ended long ago (`Lapse`), and
/// skips cancellations of subscriptions ChartMogul never received an invoice for. Both need to know
/// what earlier runs paid, since an incremental run only holds what is new.
///
/// Rule — like the customer index (`CustomerHistory`): the transform of run N reads `extract/` of
/// run N and the index of the latest earlier run that published one; its own index (earlier ∪ this
/// run) is a pure function of those, so a rerun is byte-identical. A run whose predecessors never
/// published an index (they predate it) seeds it once from their `transform/invoices.ndjson`.
///
/// Lines (JSONWriter, sorted keys, sorted by subscription):
/// `{"subscription_external_id","customer_external_id","paid_through","cancelled"?:true,
///   "lapsed_at"?,"lapsed_paid_through"?}`.
enum SubscriptionHistory {
  static let fileName = "subscription-index.ndjson"

  /// Where the earlier runs' knowledge comes from.
  enum Prior {
    /// No earlier run published a transform: nothing was ever sent to ChartMogul by this pipeline.
    case none
    /// The latest earlier run's index.
    case index(run: String, path: String, entry: FileEntry)
    /// Earlier runs predate the index: their invoices are read once to seed it.
    case seed(runs: [(id: String, path: String)])

    var json: JSONValue {
      switch self {
      case .none: return .null
      case .index(let run, _, let entry):
        return ["run": .string(run), "lines": .int(Int64(entry.lines)), "sha256": .string(entry.sha256)]
      case .seed(let runs): return ["seeded_from_invoices_of": .array(runs.map { .string($0.id) })]
      }
    }
  }

  static func locate(before run: RunFolder) throws -> Prior {
    var seeds: [(id: String, path: String)] = []
    for id in run.area.runIDs(createdBefore: run.id).reversed() {
      let earlier = try RunFolder(area: run.area, id: id)
      guard let m = try earlier.manifest("transform") else { continue }
      if let e = m.file(fileName) {
        if seeds.isEmpty { return .index(run: id, path: earlier.file("transform", fileName), entry: e) }
        break
      }
      if m.file("invoices.ndjson") != nil { seeds.append((id, earlier.file("transform", "invoices.ndjson"))) }
    }
    return seeds.isEmpty ? .none : .seed(runs: seeds.reversed())
  }

  /// The states the earlier runs left, by subscription.
  static func read(_ prior: Prior) throws -> [String: SubscriptionState] {
    var states: [String: SubscriptionState] = [:]
    switch prior {
    case .none: break
    case .index(let run, let path, let entry):
      var count = 0
      try each(path, run: run) { v, line in
        count = line
        do throws(RecordShapeError) {
          let s = try SubscriptionState(json: v)
          states[s.subscription] = s
        } catch {
          throw damaged(path, run: run, line: line, "\(error)")
        }
      }
      guard count == entry.lines else {
        throw damaged(path, run: run, line: count, "\(count) lines, its manifest says \(entry.lines)")
      }
    case .seed(let runs):
      for (run, path) in runs where FileSystem.exists(path) {
        try each(path, run: run) { v, line in
          let invoice: InvoiceRecord
          do throws(RecordShapeError) { invoice = try InvoiceRecord(json: v) } catch {
            throw damaged(path, run: run, line: line, "\(error)")
          }
          for item in invoice.lineItems {
            guard let sub = item.subscriptionExternalID, let end = item.servicePeriodEnd else { continue }
            SubscriptionState.merge(&states, sub, PaidThrough(end: end, customer: invoice.customerExternalID))
          }
        }
      }
    }
    return states
  }

  static func write(_ states: [String: SubscriptionState], to out: NDJSONWriter) throws {
    for k in states.keys.sorted() { try out.write(states[k]!.json) }
  }

  static func each(_ path: String, run: String, _ body: (JSONValue, Int) throws -> Void) throws {
    guard FileSystem.exists(path) else {
      throw StagingError(
        "\(path) is listed in run \(run)'s transform manifest but missing; rerun `transform --run-id \(run)`")
    }
    try NDJSONReader(path: path).forEachValue { result, line in
      switch result {
      case .failure(let e): throw damaged(path, run: run, line: line, "not JSON (\(e))")
      case .success(let v): try body(v, line)
      }
    }
  }

  static func damaged(_ path: String, run: String, line: Int, _ reason: String) -> StagingError {
    StagingError(
      "\(path):\(line): \(reason); the subscription index of run \(run) is damaged — rerun `transform --run-id \(run)` and then this transform"
    )
  }
}

import ETLTestSupport
import Foundation
import Logging
import RevenueCore
import Staging

/// A temporary staging area with one run whose `transform/` (and optionally `load/`) stage is written
/// from transform-shaped records, the way the Transform stage publishes it.
final class RunFixture: @unchecked Sendable {
  let dir: TempDirectory
  let area: StagingArea
  let run: RunFolder

  init(runID: String = "20261101T020000Z", dir: TempDirectory? = nil) throws {
    self.dir = try dir ?? TempDirectory(prefix: "rc-test")
    area = try StagingArea(stagingRoot: self.dir.path + "/staging", pipeline: "rc-test")
    run = try area.createRun(id: runID)
  }

  /// Writes `transform/` with the given records; rejects/skipped count in the accounting.
  func writeTransform(
    customers: [CustomerRecord], plans: [PlanRecord], invoices: [InvoiceRecord],
    cancellations: [CancellationRecord] = [],
    rejects: [DiagnosticRecord] = [], skipped: [DiagnosticRecord] = [], details: JSONObject = JSONObject()
  ) throws {
    let b = try StageBuilder(run: run, stage: "transform")
    for c in customers { try b.writer("customers.ndjson").write(c.json) }
    for p in plans { try b.writer("plans.ndjson").write(p.json) }
    for i in invoices { try b.writer("invoices.ndjson").write(i.json) }
    _ = try b.writer("cancellations.ndjson")
    for c in cancellations { try b.writer("cancellations.ndjson").write(c.json) }
    _ = try b.writer("rejects.ndjson")
    for r in rejects { try b.writer("rejects.ndjson").write(r.json) }
    _ = try b.writer("skipped.ndjson")
    for s in skipped { try b.writer("skipped.ndjson").write(s.json) }
    let out = customers.count + plans.count + invoices.count + cancellations.count
    try b.publish(
      inputs: [],
      accounting: Accounting(
        input: out + rejects.count + skipped.count, output: out, rejected: rejects.count, skipped: skipped.count),
      details: details)
  }

  /// Writes `load/` with ledger lines `(type, external_id, status)` and HTTP figures in the details.
  func writeLoad(ledger: [(String, String, String)], http: JSONObject, in run: RunFolder? = nil) throws {
    let target = run ?? self.run
    let b = try StageBuilder(run: target, stage: "load")
    let w = try b.writer("ledger.ndjson")
    for (type, id, status) in ledger {
      var o = JSONObject()
      o["type"] = .string(type)
      o["key"] = .string(id)
      o["attempts"] = 1
      o["run_id"] = .string(target.id)
      o["status"] = .string(status)
      if status == "failed" { o["error"] = "422 plan_uuid doesn't exist" } else { o["uuid"] = .string("cus_" + id) }
      try w.write(.object(o))
    }
    let failed = ledger.filter { $0.2 == "failed" }.count
    try b.publish(
      inputs: [], accounting: Accounting(input: ledger.count, output: ledger.count - failed, failed: failed),
      details: JSONObject(["http": .object(http)]))
  }

  func pipeline(_ yaml: String) throws -> PipelineFile {
    let text = "name: rc-test\nstaging_root: \(dir.path)/staging\n" + yaml
    return try PipelineFile(text: text, path: dir.path + "/rc-test.yaml", environment: Environment([:]))
  }

  func context(_ pipeline: PipelineFile) -> StageContext {
    StageContext(
      pipeline: pipeline, environment: Environment([:]), area: area, run: run, logger: Logger(label: "rc-test"))
  }
}

/// Small builders for transform-shaped records.
enum Fx {
  static func t(_ s: String) -> Timestamp { Timestamp.parse(s)! }

  static func line(_ plan: PlanRecord, _ sub: String, _ start: Timestamp, amount: Int64, tax: Int64 = 0)
    -> LineItemRecord
  {
    LineItemRecord(
      type: .subscription, externalID: "li_\(sub)_\(start.seconds)", amountInCents: amount, taxAmountInCents: tax,
      subscriptionExternalID: sub, planExternalID: plan.externalID, servicePeriodStart: start,
      servicePeriodEnd: start.adding(plan.intervalUnit, count: plan.intervalCount))
  }

  static func invoice(_ id: String, _ customer: String, _ currency: String, _ lines: [LineItemRecord]) -> InvoiceRecord
  {
    let date = lines.compactMap(\.servicePeriodStart).min() ?? t("2026-01-01")
    return InvoiceRecord(
      externalID: id, customerExternalID: customer, date: date, currency: currency, lineItems: lines,
      transactions: [TransactionRecord(externalID: "tx_" + id, type: .payment, result: .successful, date: date)],
      gateway: "stripe")
  }
}

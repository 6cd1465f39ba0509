import Foundation
import RevenueCore
import Sandbox
import Staging
import Testing

@testable import Load

/// The ledger kept once per pipeline and data source, and what `prune` must keep.
@Suite(.serialized) struct LoadLedgerTests {
  static let data = LoadData.make(customers: 6, invoicesPerCustomer: 2)

  func pipelineLedgerLines(_ h: LoadHarness) throws -> [JSONValue] {
    var out: [JSONValue] = []
    try NDJSONReader(path: PipelineLedger.path(area: h.area, dataSource: LoadHarness.dataSource)).forEachValue { r, _ in
      if case .success(let v) = r { out.append(v) }
    }
    return out
  }

  @Test("a later run's ledger holds only what that run wrote; the pipeline ledger holds everything once")
  func runLedgersAreNotCopies() async throws {
    let h = try await LoadHarness()
    let r1 = try h.newRun(Self.data, id: "p1")
    _ = try await h.load(r1)
    #expect(try h.ledger(r1).count == Self.data.recordCount)
    var more = Self.data
    more.invoices[0].transactions.append(
      TransactionRecord(
        externalID: "stripe_ch_0_0-refund-300", type: .refund, result: .successful,
        date: Timestamp.utc(2025, 1, 5)!, amountInCents: 300))
    let r2 = try h.newRun(more, id: "p2")
    let second = try await h.load(r2)
    #expect(second.accounting.input == Self.data.recordCount + 1)
    #expect(second.accounting.output == Self.data.recordCount + 1)
    let own = try h.ledger(r2)
    #expect(own.map(\.key) == ["stripe_ch_0_0-refund-300"], "only the refund is this run's: \(own.map(\.key))")
    let lines = try pipelineLedgerLines(h)
    #expect(lines.filter { $0["type"]?.stringValue == "run" }.compactMap { $0["run_id"]?.stringValue } == ["p1", "p2"])
    #expect(lines.count == Self.data.recordCount + 1 + 2)

    // A third, unchanged run sends nothing and writes an empty ledger of its own.
    let before = await h.sandbox.requestCount()
    let r3 = try h.newRun(more, id: "p3")
    _ = try await h.load(r3)
    #expect(await h.sandbox.requestCount() == before)
    #expect(try h.ledger(r3).isEmpty)
    await h.stop()
  }

  @Test("runs loaded before the pipeline ledger existed are folded into it, and nothing is resent")
  func legacyRunLedgersAreMigrated() async throws {
    let h = try await LoadHarness()
    _ = try await h.load(try h.newRun(Self.data, id: "m1"))
    // As left by a version without the pipeline ledger (or a load killed before appending to it).
    try FileSystem.removeTree(h.area.root + "/load-state")
    let before = await h.sandbox.requestCount()
    _ = try await h.load(try h.newRun(Self.data, id: "m2"))
    #expect(await h.sandbox.requestCount() == before, "the run ledger of m1 still counts")
    let lines = try pipelineLedgerLines(h)
    #expect(
      Set(lines.compactMap { $0["type"]?.stringValue == "run" ? $0["run_id"]?.stringValue : nil }) == ["m1", "m2"])
    #expect(lines.filter { $0["type"]?.stringValue != "run" }.count == Self.data.recordCount)
    let needs = try LoadRetention.needs(area: h.area)
    #expect(needs.ledgerRuns.isEmpty && needs.retryRuns.isEmpty && needs.wholeRuns.isEmpty)
    await h.stop()
  }

  @Test("prune keeps unfinished loads, retryable failures and ledgers not yet folded in")
  func retentionNeeds() async throws {
    let h = try await LoadHarness()
    var bad = LoadData.make(customers: 2, invoicesPerCustomer: 1)
    bad.invoices[1].currency = "XXX"  // refused by ChartMogul: a failed record with 1 attempt
    _ = try await h.load(try h.newRun(bad, id: "q1"))
    _ = try h.newRun(Self.data, id: "q2")  // transformed, never loaded
    var needs = try LoadRetention.needs(area: h.area, maxAttempts: 3)
    #expect(needs.retryRuns == ["q1"])
    #expect(needs.wholeRuns == ["q2"])
    #expect(needs.paths(area: h.area).contains(h.area.runsDirectory + "/q1/transform"))
    needs = try LoadRetention.needs(area: h.area, maxAttempts: 1)
    #expect(needs.retryRuns.isEmpty, "attempts used up: nothing left to retry")
    await h.stop()
  }
}

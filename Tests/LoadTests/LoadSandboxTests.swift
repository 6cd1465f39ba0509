import Foundation
import Logging
import RevenueCore
import Sandbox
import Staging
import Testing

@testable import Load

/// Load against the ChartMogul sandbox over loopback: clean load, reruns, injected faults, dry run.
@Suite(.serialized) struct LoadSandboxTests {
  static let data = LoadData.make(customers: 14, invoicesPerCustomer: 3)

  /// The state a clean load leaves (computed once per test that needs it, on its own sandbox).
  func cleanState() async throws -> ChartMogulView {
    let h = try await LoadHarness()
    defer { Task { await h.stop() } }
    let run = try h.newRun(Self.data, id: "clean")
    _ = try await h.load(run)
    return try await h.chartMogulState()
  }

  @Test func cleanLoadThenRerunsSendNothingNew() async throws {
    let h = try await LoadHarness()
    let run = try h.newRun(Self.data, id: "r1")
    let result = try await h.load(run)
    #expect(result.accounting.input == Self.data.recordCount)
    #expect(result.accounting.failed == 0, "\(result.lines)")
    #expect(result.accounting.output == Self.data.recordCount)
    let ledger = try h.ledger(run)
    #expect(ledger.count == Self.data.recordCount)
    #expect(ledger.allSatisfy { $0.status == .confirmed })
    #expect(ledger.filter { $0.kind == .cancellation }.allSatisfy { $0.uuid?.hasPrefix("sub_") == true })
    #expect(!FileSystem.exists(run.path + "/load.partial"))
    // Bulk: far fewer requests than one per object.
    let requests = try #require(result.details["requests"]?.int64Value)
    #expect(requests < Int64(Self.data.customers.count + Self.data.invoiceCount))

    let state = try await h.chartMogulState()
    #expect(state.customers.count == Self.data.customers.count)
    #expect(state.invoices.count == Self.data.invoiceCount)
    #expect(state.plans.count == 2)
    #expect(state.invoices.contains { $0.contains("stripe_ch_0_2-refund-500:refund:500") })
    #expect(state.subscriptions.filter { !$0.hasSuffix("cancelled=[]") }.count == Self.data.cancellations.count)
    #expect(state.customers.filter { $0.contains("gateway:stripe") }.count == Self.data.attributes.count)

    // Same run again: nothing is sent at all.
    let before = await h.sandbox.requestCount()
    let again = try await h.load(run)
    #expect(await h.sandbox.requestCount() == before)
    #expect(again.accounting.output == Self.data.recordCount)
    // A new run with the same records (re-extracted): the earlier run's ledger keeps them from being sent.
    let run2 = try h.newRun(Self.data, id: "r2")
    let third = try await h.load(run2)
    #expect(await h.sandbox.requestCount() == before)
    #expect(third.accounting.output == Self.data.recordCount)
    #expect(try await h.chartMogulState() == state)
    await h.stop()
  }

  @Test("a load into another data source sends everything again: ledgers are per data source")
  func ledgerIsPerDataSource() async throws {
    let other = "ds_0b7e4c1d-0000-4000-8000-00000000e7a2"
    let h = try await LoadHarness(otherDataSources: [other])
    let first = try await h.load(try h.newRun(Self.data, id: "a1"))
    #expect(first.accounting.failed == 0, "\(first.lines)")
    #expect(try h.ledger(h.area.existingRun("a1")).allSatisfy { $0.dataSource == LoadHarness.dataSource })

    // The same pipeline pointed at a new, empty data source.
    let text = try String(contentsOfFile: h.pipelinePath, encoding: .utf8)
      .replacingOccurrences(of: LoadHarness.dataSource, with: other)
    let path = try h.temp.write("other.yaml", text)
    let pipeline = try PipelineFile.load(path: path, environment: h.environment)
    func load(_ id: String) async throws -> StageResult {
      let run = try h.newRun(Self.data, id: id)
      return try await LoadStage.run(
        StageContext(
          pipeline: pipeline, environment: h.environment, area: h.area, run: run, logger: Logger(label: "t")),
        dryRun: false)
    }
    let before = await h.sandbox.requestCount()
    let second = try await load("b1")
    #expect(second.accounting.failed == 0, "\(second.lines)")
    #expect(await h.sandbox.requestCount() > before, "the new data source received the records")
    let ledger = try h.ledger(h.area.existingRun("b1"))
    #expect(ledger.count == Self.data.recordCount)
    #expect(ledger.allSatisfy { $0.dataSource == other && $0.status == .confirmed })
    let config = try LoadConfig.parse(pipeline, environment: h.environment)
    let client = ChartMogulClient(
      config: config, transport: URLSessionTransportForTests.make(), logger: Logger(label: "t"))
    let customers = try await client.expectSuccess(
      "GET", "/v1/customers", query: [("data_source_uuid", other), ("per_page", "200")])
    #expect(customers.json?["entries"]?.arrayValue?.count == Self.data.customers.count)
    // Once there, a rerun into that data source sends nothing.
    let settled = await h.sandbox.requestCount()
    _ = try await load("b2")
    #expect(await h.sandbox.requestCount() == settled)
    await h.stop()
  }

  @Test func refundOnAnInvoiceLoadedInAnEarlierRun() async throws {
    let h = try await LoadHarness()
    var first = LoadData.make(customers: 2, invoicesPerCustomer: 1)
    first.invoices = first.invoices.map {
      var i = $0
      i.transactions = i.transactions.filter { $0.type == .payment }
      return i
    }
    _ = try await h.load(try h.newRun(first, id: "a"))
    var second = first
    second.invoices[1].transactions.append(
      TransactionRecord(
        externalID: "stripe_ch_1_0-refund-700", type: .refund, result: .successful, date: Timestamp.utc(2025, 1, 9)!,
        amountInCents: 700))
    let run = try h.newRun(second, id: "b")
    let r = try await h.load(run)
    #expect(r.accounting.failed == 0, "\(r.lines)")
    let refund = try #require(try h.ledger(run).first { $0.key == "stripe_ch_1_0-refund-700" })
    #expect(refund.status == .confirmed && refund.runID == "b" && refund.uuid?.hasPrefix("tr_") == true)
    #expect(try await h.chartMogulState().invoices.contains { $0.contains("stripe_ch_1_0-refund-700:refund:700") })
    await h.stop()
  }

  @Test func thirtyPercentRateLimitsAndServerErrorsEndInTheCleanState() async throws {
    let clean = try await cleanState()
    let h = try await LoadHarness(faults: SandboxFaults(probability429: 0.15, probability5xx: 0.15, seed: 7))
    let run = try h.newRun(Self.data, id: "f1")
    let r = try await h.load(run)
    #expect(r.accounting.failed == 0, "\(r.lines)")
    #expect((r.details["retries"]?.int64Value ?? 0) > 0)
    #expect((r.details["rate_limited"]?.int64Value ?? 0) > 0)
    await h.sandbox.setFaults(.none)
    #expect(try await h.chartMogulState() == clean)
    await h.stop()
  }

  @Test func writesThatCommitButLoseTheirResponseCauseNoDuplicate() async throws {
    let clean = try await cleanState()
    let h = try await LoadHarness(faults: SandboxFaults(probabilityCommitThenFail: 0.3, seed: 11))
    let run = try h.newRun(Self.data, id: "c1")
    let r = try await h.load(run)
    #expect(r.accounting.failed == 0, "\(r.lines)")
    await h.sandbox.setFaults(.none)
    #expect(try await h.chartMogulState() == clean)
    await h.stop()
  }

  @Test func dryRunWritesTheExactRequestsAndSendsNothing() async throws {
    let h = try await LoadHarness()
    let run = try h.newRun(Self.data, id: "d1")
    let r = try await h.load(run, dryRun: true)
    #expect(await h.sandbox.requestCount() == 0)
    #expect(r.details["dry_run"]?.boolValue == true)
    #expect(r.details["would_create"]?["invoices"]?.int64Value == Int64(Self.data.invoiceCount))
    let path = run.file("load", "requests.ndjson")
    let text = try String(contentsOfFile: path, encoding: .utf8)
    #expect(!text.contains(LoadHarness.apiKey))
    #expect(!text.lowercased().contains("authorization"))
    var posts = 0
    try NDJSONReader(path: path).forEachValue { v, _ in
      guard case .success(let o) = v else { return }
      if o["method"]?.stringValue == "POST", o["path"]?.stringValue?.hasSuffix("/json_imports") == true {
        posts += 1
        #expect(o["body"]?["plans"]?.arrayValue?.allSatisfy { $0["currency"] == nil } ?? true)
      }
    }
    #expect(posts == (Self.data.customers.count + 3) / 4)
    #expect(try h.ledger(run).allSatisfy { $0.status == .skipped })
    // A real load afterwards sends everything.
    let real = try await h.load(run)
    #expect(real.accounting.output == Self.data.recordCount)
    await h.stop()
  }

  @Test func clearErrorsForWrongKeyOrDataSourceAndSyncSwitch() async throws {
    let h = try await LoadHarness()
    let run = try h.newRun(LoadData.make(customers: 1, invoicesPerCustomer: 1), id: "e1")
    let badKey = StageContext(
      pipeline: h.pipeline, environment: Environment(["CHARTMOGUL_API_KEY": "sk_wrong_key_000"]), area: h.area,
      run: run,
      logger: Logger(label: "t"))
    let pKey = try PipelineFile.load(path: h.pipelinePath, environment: badKey.environment)
    let e1 = await #expect(throws: LoadConfigurationError.self) {
      try await LoadStage.run(
        StageContext(
          pipeline: pKey, environment: badKey.environment, area: h.area, run: run, logger: Logger(label: "t")),
        dryRun: false)
    }
    #expect(e1?.description.contains("CHARTMOGUL_API_KEY") == true)
    #expect(e1?.description.contains("sk_wrong_key_000") == false)

    let text = try String(contentsOfFile: h.pipelinePath, encoding: .utf8)
      .replacingOccurrences(of: LoadHarness.dataSource, with: "ds_does_not_exist")
    let p2 = try PipelineFile(text: text, path: h.pipelinePath, environment: h.environment)
    let e2 = await #expect(throws: LoadConfigurationError.self) {
      try await LoadStage.run(
        StageContext(pipeline: p2, environment: h.environment, area: h.area, run: run, logger: Logger(label: "t")),
        dryRun: false)
    }
    #expect(e2?.description.contains("CHARTMOGUL_DATA_SOURCE_ID") == true)

    var env = h.environment
    env.values["CHARTMOGUL_SYNC_ENABLED"] = "false"
    let before = await h.sandbox.requestCount()
    let off = try await LoadStage.run(
      StageContext(pipeline: h.pipeline, environment: env, area: h.area, run: run, logger: Logger(label: "t")),
      dryRun: false)
    #expect(off.details["sync_enabled"]?.boolValue == false)
    #expect(off.lines.first?.contains("disabled") == true)
    #expect(await h.sandbox.requestCount() == before)
    #expect(!run.isComplete("load"))
    await h.stop()
  }

  @Test func refusedRecordsFailAndRetryIsBounded() async throws {
    let h = try await LoadHarness(extraConfig: "    max_attempts: 2")
    var d = LoadData.make(customers: 3, invoicesPerCustomer: 1)
    d.invoices[1].currency = "XXX"  // the sandbox refuses unknown currencies: customer 1's group fails
    let run = try h.newRun(d, id: "x1")
    let r = try await h.load(run)
    #expect(r.accounting.failed > 0)
    let failed = try h.ledger(run).filter { $0.status == .failed }
    #expect(failed.contains { $0.kind == .invoice && $0.key == "stripe_ch_1_0" && $0.attempts == 1 })
    #expect(failed.allSatisfy { $0.error?.isEmpty == false })
    let retry1 = try await LoadStage.retry(
      pipeline: h.pipeline, environment: h.environment, area: h.area, logger: Logger(label: "t"), progress: NoProgress()
    )
    #expect(retry1.accounting.input > 0 && retry1.accounting.failed > 0)
    #expect(try h.ledger(run).first { $0.key == "stripe_ch_1_0" && $0.kind == .invoice }?.attempts == 2)
    let before = await h.sandbox.requestCount()
    let retry2 = try await LoadStage.retry(
      pipeline: h.pipeline, environment: h.environment, area: h.area, logger: Logger(label: "t"), progress: NoProgress()
    )
    #expect(retry2.accounting.input == 0)
    #expect((retry2.details["gave_up"]?.int64Value ?? 0) > 0)
    #expect(await h.sandbox.requestCount() == before)
    await h.stop()
  }
}

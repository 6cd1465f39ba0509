import ETLTestSupport
import Foundation
import Logging
import RevenueCore
import Sandbox
import Staging
import Testing
import Transport

@testable import Load

/// Small, realistic transform output for load tests: monthly subscriptions on two plans, one
/// payment per invoice, a partial refund every fourth customer, a cancellation every third, tags
/// and a custom attribute every second.
struct LoadData {
  var plans: [PlanRecord] = []
  var customers: [CustomerRecord] = []
  var invoices: [InvoiceRecord] = []
  var cancellations: [CancellationRecord] = []
  var attributes: [AttributeRecord] = []

  static func make(customers n: Int, invoicesPerCustomer k: Int, appTransactionIDs: [String] = []) -> LoadData {
    var d = LoadData()
    let starter = PlanRecord(name: "Starter", intervalCount: 1, intervalUnit: .month, currency: "USD")
    let growth = PlanRecord(name: "Growth", intervalCount: 1, intervalUnit: .month, currency: "EUR")
    d.plans = [starter, growth]
    var appIDs = appTransactionIDs[...]
    for i in 0..<n {
      let cid = String(format: "user-%04d", i)
      d.customers.append(
        CustomerRecord(
          externalID: cid, name: "Customer \(i)", email: "c\(i)@example.com", country: i % 2 == 0 ? "DE" : "US",
          leadCreatedAt: Timestamp.utc(2024, 12, 1)!))
      let plan = i % 2 == 0 ? growth : starter
      let sub = "stripe_sub_\(i)"
      var last = Timestamp.utc(2025, 1, 1)!
      for m in 0..<k {
        let date = Timestamp.utc(2025, 1, 1)!.adding(months: m)
        let end = date.adding(months: 1)
        last = end
        let ext = "stripe_ch_\(i)_\(m)"
        var txs = [
          TransactionRecord(externalID: "stripe_py_\(i)_\(m)", type: .payment, result: .successful, date: date)
        ]
        if i % 4 == 0 && m == k - 1 {
          txs.append(
            TransactionRecord(
              externalID: "\(ext)-refund-500", type: .refund, result: .successful, date: date.adding(days: 3),
              amountInCents: 500))
        }
        d.invoices.append(
          InvoiceRecord(
            externalID: ext, customerExternalID: cid, date: date, currency: plan.currency,
            lineItems: [
              LineItemRecord(
                type: .subscription, externalID: "stripe_li_\(i)_\(m)", amountInCents: 1900 + Int64(i),
                taxAmountInCents: 100,
                subscriptionExternalID: sub, planExternalID: plan.externalID, servicePeriodStart: date,
                servicePeriodEnd: end)
            ], transactions: txs, gateway: "stripe", appTransactionID: appIDs.popFirst()))
      }
      if i % 3 == 0 {
        d.cancellations.append(
          CancellationRecord(customerExternalID: cid, subscriptionExternalID: sub, cancelledAt: last))
      }
      if i % 2 == 0 {
        d.attributes.append(
          AttributeRecord(
            customerExternalID: cid, tags: ["gateway:stripe"],
            custom: [CustomAttribute(type: .string, key: "channel", value: "ads")]))
      }
    }
    return d
  }

  var invoiceCount: Int { invoices.count }
  var transactionCount: Int { invoices.reduce(0) { $0 + $1.transactions.count } }
  var recordCount: Int {
    plans.count + customers.count + invoices.count + transactionCount + cancellations.count + attributes.count
  }

  /// Publishes these records as the run's `transform/` stage.
  func publishTransform(_ run: RunFolder) throws {
    let b = try StageBuilder(run: run, stage: "transform")
    let p = try b.writer("plans.ndjson")
    for x in plans { try p.write(x.json) }
    let c = try b.writer("customers.ndjson")
    for x in customers { try c.write(x.json) }
    let i = try b.writer("invoices.ndjson")
    for x in invoices { try i.write(x.json) }
    let ca = try b.writer("cancellations.ndjson")
    for x in cancellations { try ca.write(x.json) }
    let a = try b.writer("attributes.ndjson")
    for x in attributes { try a.write(x.json) }
    let n = customers.count + invoices.count
    try b.publish(inputs: [], accounting: Accounting(input: n, output: n))
  }
}

/// A sandbox, a staging folder and a pipeline file pointing at both.
final class LoadHarness: @unchecked Sendable {
  static let dataSource = "ds_5f1c2a3e-0000-4000-8000-00000000e7a1"
  static let apiKey = "sk_test_load_0123456789"
  let temp: TempDirectory
  let sandbox: SandboxServer
  let pipelinePath: String
  let pipeline: PipelineFile
  let environment: Environment
  let area: StagingArea

  init(
    extraConfig: String = "", faults: SandboxFaults = .none, processingDelay: Double = 0.05,
    otherDataSources: [String] = []
  ) async throws {
    temp = try TempDirectory(prefix: "load-test")
    sandbox = try await SandboxServer.start(
      SandboxOptions(
        apiKey: LoadHarness.apiKey,
        dataSources: [(name: "ETL test", uuid: LoadHarness.dataSource)] + otherDataSources.map { (name: $0, uuid: $0) },
        faults: faults, processingDelay: processingDelay))
    let yaml = """
      name: loadtest
      staging_root: \(temp.path)/staging
      destination:
        chartmogul:
          api_key: ${CHARTMOGUL_API_KEY}
          api_url: \(sandbox.baseURL)
          data_source_uuid: \(LoadHarness.dataSource)
          requests_per_second: 40
          max_connections: 8
          customers_per_batch: 4
          poll_interval_seconds: 0.02
          poll_max_interval_seconds: 0.1
          retry_base_delay_seconds: 0.005
          retry_max_delay_seconds: 0.05
          max_request_attempts: 20
          max_retry_seconds: 60
          request_timeout_seconds: 3
      \(extraConfig)
      """
    pipelinePath = try temp.write("pipeline.yaml", yaml)
    environment = Environment(["CHARTMOGUL_API_KEY": LoadHarness.apiKey])
    pipeline = try PipelineFile.load(path: pipelinePath, environment: environment)
    area = try StagingArea(stagingRoot: temp.path + "/staging", pipeline: "loadtest")
  }

  func newRun(_ data: LoadData, id: String) throws -> RunFolder {
    let run = try area.createRun(id: id)
    try data.publishTransform(run)
    return run
  }

  func context(_ run: RunFolder) -> StageContext {
    StageContext(
      pipeline: pipeline, environment: environment, area: area, run: run, logger: Logger(label: "load-test"))
  }

  func load(_ run: RunFolder, dryRun: Bool = false) async throws -> StageResult {
    try await LoadStage.run(context(run), dryRun: dryRun)
  }

  func ledger(_ run: RunFolder) throws -> [LedgerEntry] {
    var out: [LedgerEntry] = []
    try NDJSONReader(path: run.file("load", "ledger.ndjson")).forEachValue { r, _ in
      if case .success(let v) = r, let e = LedgerEntry(json: v) { out.append(e) }
    }
    return out
  }

  /// ChartMogul's content as seen through the API, without uuids (comparable across sandboxes).
  func chartMogulState() async throws -> ChartMogulView {
    let config = try LoadConfig.parse(pipeline, environment: environment)
    let client = ChartMogulClient(
      config: config, transport: URLSessionTransportForTests.make(), logger: Logger(label: "view"))
    var view = ChartMogulView()
    var cursor: String? = nil
    var customerUUIDs: [String: String] = [:]
    repeat {
      var q = [("data_source_uuid", LoadHarness.dataSource), ("per_page", "200")]
      if let cursor { q.append(("cursor", cursor)) }
      let r = try await client.expectSuccess("GET", "/v1/customers", query: q)
      for e in r.json?["entries"]?.arrayValue ?? [] {
        let ext = e["external_id"]?.stringValue ?? "?"
        let tags = (e["attributes"]?["tags"]?.arrayValue ?? []).compactMap(\.stringValue).sorted()
        let custom = e["attributes"]?["custom"].map { JSONWriter.string($0) } ?? "{}"
        view.customers.append("\(ext) tags=\(tags) custom=\(custom)")
        customerUUIDs[ext] = e["uuid"]?.stringValue
      }
      cursor = r.json?["has_more"]?.boolValue == true ? r.json?["cursor"]?.stringValue : nil
    } while cursor != nil
    cursor = nil
    repeat {
      var q = [("data_source_uuid", LoadHarness.dataSource), ("per_page", "200")]
      if let cursor { q.append(("cursor", cursor)) }
      let r = try await client.expectSuccess("GET", "/v1/invoices", query: q)
      for inv in r.json?["invoices"]?.arrayValue ?? [] {
        let txs = (inv["transactions"]?.arrayValue ?? []).map {
          "\($0["external_id"]?.stringValue ?? "?"):\($0["type"]?.stringValue ?? "?"):\($0["amount_in_cents"]?.scalarText ?? "-")"
        }.sorted()
        let lines = (inv["line_items"]?.arrayValue ?? []).count
        view.invoices.append("\(inv["external_id"]?.stringValue ?? "?") lines=\(lines) tx=\(txs)")
      }
      cursor = r.json?["has_more"]?.boolValue == true ? r.json?["cursor"]?.stringValue : nil
    } while cursor != nil
    for (ext, uuid) in customerUUIDs {
      let r = try await client.expectSuccess(
        "GET", "/v1/import/customers/\(uuid)/subscriptions", query: [("per_page", "200")])
      for s in r.json?["subscriptions"]?.arrayValue ?? [] {
        let dates = (s["cancellation_dates"]?.arrayValue ?? []).compactMap(\.stringValue).sorted()
        view.subscriptions.append("\(ext)/\(s["external_id"]?.stringValue ?? "?") cancelled=\(dates)")
      }
    }
    let plans = try await client.expectSuccess(
      "GET", "/v1/plans", query: [("data_source_uuid", LoadHarness.dataSource), ("per_page", "200")])
    view.plans = (plans.json?["plans"]?.arrayValue ?? []).compactMap { $0["external_id"]?.stringValue }
    view.customers.sort()
    view.invoices.sort()
    view.subscriptions.sort()
    view.plans.sort()
    return view
  }

  func stop() async { await sandbox.stop() }
}

struct ChartMogulView: Equatable, CustomStringConvertible {
  var customers: [String] = []
  var plans: [String] = []
  var invoices: [String] = []
  var subscriptions: [String] = []
  var description: String {
    "customers \(customers.count), plans \(plans.count), invoices \(invoices.count), subscriptions \(subscriptions.count)"
  }
}

enum URLSessionTransportForTests {
  static func make() -> any HTTPTransport { URLSessionTransport() }
}

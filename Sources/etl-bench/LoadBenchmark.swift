// `etl-bench load`: bulk load into the ChartMogul sandbox with injected latency, printing request
// figures (target: ≤ 1 request per 100 invoices, 100,000 invoices in under 5 minutes at 20 req/s).
// `etl-bench load-child <pipeline.yaml> <run-id>`: runs one `load` in this process (used by the
// load tests to kill a load mid-way with SIGKILL).
import Foundation
import Load
import Logging
import RevenueCore
import Sandbox
import Staging

enum LoadBenchmark {
  static func main(_ which: String, _ args: [String]) async {
    do {
      if which == "load-child" { try await child(args) } else { try await bench(args) }
    } catch {
      FileHandle.standardError.write(Data("etl-bench \(which): \(error)\n".utf8))
      exit(1)
    }
  }

  static func child(_ args: [String]) async throws {
    guard args.count == 2 else { throw StagingError("usage: etl-bench load-child <pipeline.yaml> <run-id>") }
    let env = Environment(ProcessInfo.processInfo.environment)
    let pipeline = try PipelineFile.load(path: args[0], environment: env)
    let area = try StagingArea(stagingRoot: pipeline.stagingRoot, pipeline: pipeline.name)
    let run = try area.existingRun(args[1])
    let ctx = StageContext(pipeline: pipeline, environment: env, area: area, run: run, logger: Logger(label: "load-child"))
    let r = try await LoadStage.run(ctx, dryRun: false)
    print(r.accounting.equation)
  }

  static func option(_ args: [String], _ name: String, _ d: Double) -> Double {
    guard let i = args.firstIndex(of: name), i + 1 < args.count, let v = Double(args[i + 1]) else { return d }
    return v
  }

  static func bench(_ args: [String]) async throws {
    let invoices = Int(option(args, "--invoices", 100_000))
    let perCustomer = max(1, Int(option(args, "--per-customer", 5)))
    let latency = option(args, "--latency", 0.02)
    let processing = option(args, "--processing-delay", 0.2)
    let customers = (invoices + perCustomer - 1) / perCustomer
    let ds = "ds_bench-0000-4000-8000-000000000001"
    let key = "sk_bench_0123456789"
    let sandbox = try await SandboxServer.start(
      SandboxOptions(
        apiKey: key, dataSources: [(name: "bench", uuid: ds)], rateLimitPerSecond: 40,
        faults: SandboxFaults(latency: latency), processingDelay: processing))
    let root = NSTemporaryDirectory() + "/etl-bench-load-\(getpid())"
    defer { try? FileManager.default.removeItem(atPath: root) }
    let yaml = """
      name: bench
      staging_root: \(root)
      destination:
        chartmogul:
          api_key: \(key)
          api_url: \(sandbox.baseURL)
          data_source_uuid: \(ds)
      """
    let env = Environment([:])
    let pipeline = try PipelineFile(text: yaml, path: "bench.yaml", environment: env)
    let area = try StagingArea(stagingRoot: root, pipeline: "bench")
    let run = try area.createRun(id: "bench")

    // Transform output: monthly invoices with one payment each on two plans.
    let b = try StageBuilder(run: run, stage: "transform")
    let plans = [
      PlanRecord(name: "Starter", intervalCount: 1, intervalUnit: .month, currency: "USD"),
      PlanRecord(name: "Growth", intervalCount: 1, intervalUnit: .month, currency: "EUR"),
    ]
    let pw = try b.writer("plans.ndjson")
    for p in plans { try pw.write(p.json) }
    let cw = try b.writer("customers.ndjson")
    let iw = try b.writer("invoices.ndjson")
    var written = 0
    var transactions = 0
    for c in 0..<customers {
      let cid = "bench-user-\(c)"
      try cw.write(CustomerRecord(externalID: cid, name: "Customer \(c)", email: "c\(c)@bench.example", country: "DE").json)
      let plan = plans[c % 2]
      for m in 0..<perCustomer where written < invoices {
        let date = Timestamp.utc(2024, 1, 1)!.adding(months: m)
        let inv = InvoiceRecord(
          externalID: "stripe_ch_\(c)_\(m)", customerExternalID: cid, date: date, currency: plan.currency,
          lineItems: [
            LineItemRecord(
              type: .subscription, externalID: "stripe_li_\(c)_\(m)", amountInCents: 4900, taxAmountInCents: 400,
              subscriptionExternalID: "stripe_sub_\(c)", planExternalID: plan.externalID, servicePeriodStart: date,
              servicePeriodEnd: date.adding(months: 1))
          ],
          transactions: [TransactionRecord(externalID: "stripe_py_\(c)_\(m)", type: .payment, result: .successful, date: date)],
          gateway: "stripe")
        try iw.write(inv.json)
        written += 1
        transactions += 1
      }
    }
    try b.publish(inputs: [], accounting: Accounting(input: customers + written, output: customers + written))

    var logger = Logger(label: "bench")
    logger.logLevel = .warning
    let ctx = StageContext(pipeline: pipeline, environment: env, area: area, run: run, logger: logger)
    let started = Date()
    let r = try await LoadStage.run(ctx, dryRun: false)
    let seconds = Date().timeIntervalSince(started)
    let serverRequests = await sandbox.requestCount()
    await sandbox.stop()
    let perObject = customers + plans.count + written + transactions
    print("load benchmark: \(written.grouped) invoices, \(customers.grouped) customers, sandbox latency \(Int(latency * 1000)) ms, import processing \(processing) s")
    print("  \(r.accounting.equation)")
    for line in r.lines { print("  " + line) }
    print("  wall \(String(format: "%.1f", seconds)) s · \(String(format: "%.0f", Double(written) / seconds)) invoices/s")
    print("  requests seen by the sandbox: \(serverRequests.grouped) (\(String(format: "%.3f", Double(serverRequests) * 100 / Double(written))) per 100 invoices)")
    print("  a per-object loader (one create per customer, plan, invoice, transaction) would send \(perObject.grouped) requests")
    print("  target: ≤ 1 request per 100 invoices; 100,000 invoices in < 300 s at 20 req/s")
  }
}

// `etl-bench load`: what a load run does, against the ChartMogul sandbox with ChartMogul's 40 req/s
// limit, per-request latency and import processing time. Three loads of one pipeline: a first load
// (every customer with the app's custom attributes and tags), an unchanged rerun, and an incremental
// run with refunds and cancellations on earlier runs' invoices and some changed attributes. Every
// request the sandbox sees is counted (bulk imports, polls, lookups, follow-ups, retries). Each load
// runs in its own child process (`load-child`), so its peak RSS is the load's alone.
//
// Size: `--invoices N` or ETL_BENCH_LOAD_INVOICES (default 1,000,000), 10 invoices per customer.
// `etl-bench load-child <pipeline.yaml> <run-id>`: runs one `load` in this process (also used by the
// load tests to kill a load mid-way with SIGKILL).
import Foundation
import Load
import Logging
import RevenueCore
import Sandbox
import Staging

#if canImport(Glibc)
  import Glibc
#endif

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
    var logger = Logger(label: "load-child")
    logger.logLevel = .warning
    let ctx = StageContext(pipeline: pipeline, environment: env, area: area, run: run, logger: logger)
    let r = try await LoadStage.run(ctx, dryRun: false)
    print(r.accounting.equation)
    for line in r.lines { print("  " + line) }
  }

  static func option(_ args: [String], _ name: String, _ d: Double) -> Double {
    guard let i = args.firstIndex(of: name), i + 1 < args.count, let v = Double(args[i + 1]) else { return d }
    return v
  }

  struct Shape {
    var customers: Int
    var perCustomer: Int
    var invoices: Int { customers * perCustomer }
  }

  static func bench(_ args: [String]) async throws {
    let env = ProcessInfo.processInfo.environment
    let invoices = Int(
      option(args, "--invoices", Double(env["ETL_BENCH_LOAD_INVOICES"].flatMap(Int.init) ?? 1_000_000)))
    let perCustomer = max(1, Int(option(args, "--per-customer", 10)))
    let latency = option(args, "--latency", 0.05)
    let processing = option(args, "--processing-delay", 0.5)
    let rate = 40.0
    let shape = Shape(customers: max(1, invoices / perCustomer), perCustomer: perCustomer)
    let ds = "ds_bench-0000-4000-8000-000000000001"
    let key = "sk_bench_0123456789"
    let sandbox = try await SandboxServer.start(
      SandboxOptions(
        apiKey: key, dataSources: [(name: "bench", uuid: ds)], rateLimitPerSecond: Int(rate),
        faults: SandboxFaults(latency: latency), processingDelay: processing))
    let root = NSTemporaryDirectory() + "/etl-bench-load-\(getpid())"
    defer { try? FileManager.default.removeItem(atPath: root) }
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    let yamlPath = root + "/bench.yaml"
    try """
    name: bench
    staging_root: \(root)/staging
    destination:
      chartmogul:
        api_key: \(key)
        api_url: \(sandbox.baseURL)
        data_source_uuid: \(ds)
        requests_per_second: \(Int(rate))
        max_connections: 16
        poll_interval_seconds: 0.5
        poll_max_interval_seconds: 4
    """.write(toFile: yamlPath, atomically: true, encoding: .utf8)
    let area = try StagingArea(stagingRoot: root + "/staging", pipeline: "bench")

    print(
      "load benchmark: \(shape.invoices.grouped) invoices, \(shape.customers.grouped) customers with \(BenchData.customKeys.count) custom attributes and tags each; sandbox \(Int(rate)) req/s, latency \(Int(latency * 1000)) ms, import processing \(processing) s"
    )
    var rows: [String] = []
    for (i, kind) in ["first", "rerun", "incremental"].enumerated() {
      let run = try area.createRun(id: "bench-\(i + 1)")
      let counts = try BenchData.write(run: run, shape: shape, incremental: kind == "incremental")
      await sandbox.resetRequestCounts()
      let started = Date()
      let (output, rssMB, status) = try runChild(yamlPath, run.id)
      let wall = Date().timeIntervalSince(started)
      let requests = await sandbox.requestCount()
      let byPath = await sandbox.requestCounts()
      guard status == 0 || status == 1 else { throw StagingError("load-child exited \(status): \(output)") }
      let imports = byPath["POST /v1/data_sources/{id}/json_imports"] ?? 0
      let floor = Double(requests) / rate + Double(imports) * processing / 4
      let per100 = Double(requests) * 100 / Double(shape.invoices)
      print("\n\(kind) load (\(counts)):")
      for l in output.split(separator: "\n") { print("  " + l) }
      print(
        "  requests seen by the sandbox: \(requests.grouped) (\(String(format: "%.3f", per100)) per 100 invoices): "
          + byPath.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value.grouped)" }.joined(separator: ", "))
      print(
        "  wall \(String(format: "%.1f", wall)) s · rate-limit floor \(String(format: "%.1f", floor)) s (requests ÷ \(Int(rate)) + imports × processing ÷ 4 in flight) · \(String(format: "%.2f", wall / max(floor, 0.001)))× · peak RSS \(String(format: "%.0f", rssMB)) MB"
      )
      rows.append(
        "\(kind): \(String(format: "%.3f", per100)) req/100 invoices, \(requests) req, wall \(String(format: "%.1f", wall)) s, floor \(String(format: "%.1f", floor)) s, \(String(format: "%.2f", wall / max(floor, 0.001)))x, RSS \(String(format: "%.0f", rssMB)) MB"
      )
    }
    await sandbox.stop()
    print("\nsummary (targets: first ≤ 1 req/100 invoices, unchanged rerun ≤ 0.1, wall ≤ 1.2× floor, RSS < 256 MB):")
    for r in rows { print("  " + r) }
  }

  /// Runs `etl-bench load-child` (posix_spawn, output to a file) and returns its output, peak RSS
  /// (MB, from wait4's rusage) and exit status.
  static func runChild(_ pipeline: String, _ runID: String) throws -> (String, Double, Int32) {
    var me = ProcessInfo.processInfo.arguments[0]
    if !me.hasPrefix("/") { me = FileManager.default.currentDirectoryPath + "/" + me }
    let outPath = pipeline + ".\(runID).out"
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    let argv = [me, "load-child", pipeline, runID]
    var cargs = argv.map { strdup($0) } + [nil]
    defer { for a in cargs { free(a) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, me, &actions, nil, &cargs, environ)
    guard rc == 0 else { throw StagingError("cannot start \(me): \(String(cString: strerror(rc)))") }
    var status: Int32 = 0
    var usage = rusage()
    while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
    let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    let text = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
    unlink(outPath)
    return (text, Double(usage.ru_maxrss) / 1024, code)
  }
}

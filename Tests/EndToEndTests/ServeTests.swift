import ETLTestSupport
import Foundation
import RevenueCore
import Staging
import Testing

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// `serve` as a real process over loopback HTTP, feeding the ChartMogul sandbox; `run --metrics-file`.
@Suite("serve: schedule, cron endpoint, /healthz, /metrics; --metrics-file", .serialized)
struct ServeTests {
  static let secret = "cron-secret-4f1c9a"

  func pipeline(_ dir: TempDirectory, _ sandbox: SandboxHarness) throws {
    try dir.write(
      "srv.yaml",
      """
      name: srv
      staging_root: staging
      sources:
        files:
          - { format: cashier-csv, path: "\(RepositoryPaths.fixture("exports/cashier/transactions.csv"))" }
      transform:
        plan_mapping:
          plan_starter_egp:       { name: Starter, currency: EGP, interval: month }
          plan_growth_egp:        { name: Growth,  currency: EGP, interval: month }
          plan_growth_egp_yearly: { name: Growth,  currency: EGP, interval: year }
      destination:
        chartmogul: { api_key: "\(sandbox.apiKey)", api_url: "\(sandbox.baseURL)", data_source_uuid: "\(sandbox.dataSourceUUID)" }
      validate:
        enabled: false
      """)
  }

  /// Starts `serve` and returns the process, its base URL and its output prefix.
  func serve(_ dir: TempDirectory, interval: String) async throws -> (Process, String, String) {
    let prefix = dir.file("serve-\(UUID().uuidString)")
    let p = try CLIProcess.start(
      ["serve", "--pipeline", "srv.yaml", "--listen", "127.0.0.1:0", "--interval-minutes", interval],
      environment: ["CRON_SECRET": Self.secret], directory: dir.path, outputPrefix: prefix)
    let deadline = Date().addingTimeInterval(30)
    while Date() < deadline {
      let out = (try? String(contentsOfFile: prefix + ".out", encoding: .utf8)) ?? ""
      if let line = out.split(separator: "\n").first(where: { $0.hasPrefix("serving pipeline") }),
        let url = line.split(separator: " ").first(where: { $0.hasPrefix("http://") })
      {
        return (p, String(url), prefix)
      }
      try await Task.sleep(nanoseconds: 50_000_000)
    }
    p.terminate()
    throw CocoaError(.fileReadUnknown)
  }

  func request(_ method: String, _ url: String, bearer: String? = nil) async throws -> (Int, String) {
    var r = URLRequest(url: URL(string: url)!, timeoutInterval: 120)
    r.httpMethod = method
    if let bearer { r.setValue("Bearer \(bearer)", forHTTPHeaderField: "Authorization") }
    let (data, response) = try await URLSession.shared.data(for: r)
    return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
  }

  func stop(_ p: Process) async {
    kill(p.processIdentifier, SIGTERM)
    while p.isRunning { try? await Task.sleep(nanoseconds: 20_000_000) }
    p.waitUntilExit()
  }

  @Test(
    "triggers need the bearer secret; the cron endpoint answers the run's JSON; /metrics and /healthz; SIGTERM exits 143"
  )
  func endpoints() async throws {
    let sandbox = try await SandboxHarness.start()
    let dir = try TempDirectory()
    try pipeline(dir, sandbox)
    let (p, base, prefix) = try await serve(dir, interval: "600")
    #expect(try await request("GET", base + "/healthz").0 == 200)
    #expect(try await request("POST", base + "/runs").0 == 401)
    #expect(try await request("POST", base + "/runs", bearer: "wrong").0 == 401)
    #expect(try await request("GET", base + "/api/cron/chartmogul-sync", bearer: Self.secret + "x").0 == 401)
    #expect(await sandbox.requestCount() == 0, "an unauthorised trigger reached ChartMogul")
    let (status, body) = try await request("GET", base + "/api/cron/chartmogul-sync", bearer: Self.secret)
    #expect(status == 200, "\(body)")
    let result = try JSONParser.parse(Array(body.utf8))
    #expect(result["exit_code"]?.int64Value == 0, "\(body)")
    #expect(result["run"]?["outcome"]?.stringValue == "succeeded")
    #expect(result["run"]?["stages"]?["load"]?["complete"]?.boolValue == true)
    let (ms, metrics) = try await request("GET", base + "/metrics")
    #expect(ms == 200)
    for name in [
      "# TYPE chartmogul_etl_sync_success_rate gauge", "chartmogul_etl_sync_success_rate{pipeline=\"srv\"} 1",
      "chartmogul_etl_run_duration_seconds_average{pipeline=\"srv\"}",
      "chartmogul_etl_failed_backlog{pipeline=\"srv\"} 0",
      "chartmogul_etl_runs{pipeline=\"srv\",outcome=\"succeeded\"} 1",
      "chartmogul_etl_missing_attribute_rate{pipeline=\"srv\"}",
    ] {
      #expect(metrics.contains(name), "/metrics lacks \(name):\n\(metrics)")
    }
    #expect(!metrics.contains(sandbox.apiKey))
    let (again, _) = try await request("POST", base + "/runs", bearer: Self.secret)
    #expect(again == 200)
    await stop(p)
    let err = (try? String(contentsOfFile: prefix + ".err", encoding: .utf8)) ?? ""
    #expect(p.terminationStatus == 143, "\(err)")
    await sandbox.stop()
  }

  @Test("scheduled runs follow the interval and never overlap")
  func schedule() async throws {
    let sandbox = try await SandboxHarness.start()
    let dir = try TempDirectory()
    try pipeline(dir, sandbox)
    let (p, _, _) = try await serve(dir, interval: "0.02")
    let area = try StagingArea(stagingRoot: dir.file("staging"), pipeline: "srv")
    let deadline = Date().addingTimeInterval(120)
    while Date() < deadline, area.runIDs().count < 3 { try await Task.sleep(nanoseconds: 200_000_000) }
    await stop(p)
    let records = try area.runIDs().map { try RunRecord.read(try RunFolder(area: area, id: $0)) }
    #expect(records.count >= 3)
    let spans = records.compactMap { r -> (Int64, Int64)? in
      guard let a = r["started_at"]?.stringValue.flatMap(Timestamp.parse),
        let b = r["finished_at"]?.stringValue.flatMap(Timestamp.parse)
      else { return nil }
      return (a.seconds, b.seconds)
    }
    for (x, y) in zip(spans, spans.dropFirst()) { #expect(y.0 >= x.1, "runs overlap: \(spans)") }
    #expect(records.dropLast().allSatisfy { $0["outcome"]?.stringValue == "succeeded" })
    await sandbox.stop()
  }

  @Test("run --metrics-file writes the same figures atomically for node_exporter")
  func metricsFile() async throws {
    let sandbox = try await SandboxHarness.start()
    let dir = try TempDirectory()
    try pipeline(dir, sandbox)
    let path = dir.file("textfile/chartmogul.prom")
    try FileSystem.makeDirectory(dir.file("textfile"))
    let r = try await EndToEndCLI.run(
      ["run", "--pipeline", "srv.yaml", "--metrics-file", path], environment: [:], directory: dir.path)
    #expect(r.status == 0, "\(r.transcript)")
    let text = try String(contentsOfFile: path, encoding: .utf8)
    #expect(text.contains("chartmogul_etl_sync_success_rate{pipeline=\"srv\"} 1"))
    #expect(text.contains("chartmogul_etl_last_run_succeeded{pipeline=\"srv\"} 1"))
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.file("textfile"))
    #expect(leftovers == ["chartmogul.prom"])
    let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
    #expect(mode == 0o644)
    await sandbox.stop()
  }
}

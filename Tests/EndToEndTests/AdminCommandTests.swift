import ETLTestSupport
import Foundation
import RevenueCore
import Testing

/// `datasource create|list` against the sandbox over loopback, `--log-format json`, and the
/// systemd units under deploy/.
@Suite("datasource, JSON logs, deploy units", .serialized)
struct AdminCommandTests {
  @Test("datasource create prints the uuid for CHARTMOGUL_DATA_SOURCE_ID; list shows it; a wrong key is exit 2")
  func dataSources() async throws {
    let sandbox = try await SandboxHarness.start()
    let dir = try TempDirectory()
    let env = ["CHARTMOGUL_API_KEY": sandbox.apiKey, "CHARTMOGUL_API_URL": sandbox.baseURL]
    let c = try await EndToEndCLI.run(
      ["datasource", "create", "--name", "chartmogul-etl nightly"], environment: env, directory: dir.path)
    #expect(c.status == 0, "\(c.transcript)")
    let line = try #require(
      c.stdout.split(separator: "\n").first { $0.hasPrefix("export CHARTMOGUL_DATA_SOURCE_ID=ds_") })
    let uuid = String(line.split(separator: "=")[1])
    #expect(await sandbox.server.dataSourceUUID(named: "chartmogul-etl nightly") == uuid)
    let l = try await EndToEndCLI.run(["datasource", "list"], environment: env, directory: dir.path)
    #expect(l.status == 0)
    #expect(l.stdout.contains("\(uuid)  chartmogul-etl nightly"))
    let bad = try await EndToEndCLI.run(
      ["datasource", "list"], environment: env.merging(["CHARTMOGUL_API_KEY": "nope"]) { $1 }, directory: dir.path)
    #expect(bad.status == 2, "\(bad.transcript)")
    #expect(bad.stderr.contains("CHARTMOGUL_API_KEY"))
    #expect(!c.output.contains(sandbox.apiKey) && !l.output.contains(sandbox.apiKey))
    await sandbox.stop()
  }

  @Test("--log-format json writes one redacted JSON object per line with metadata as fields")
  func jsonLogs() async throws {
    let sandbox = try await SandboxHarness.start()
    let dir = try TempDirectory()
    try ServeTests().pipeline(dir, sandbox)
    let r = try await EndToEndCLI.run(
      ["run", "--pipeline", "srv.yaml", "--log-format", "json", "--log-level", "debug"], environment: [:],
      directory: dir.path)
    #expect(r.status == 0, "\(r.transcript)")
    let lines = r.stderr.split(separator: "\n")
    #expect(lines.count > 3)
    var withRun = 0
    for line in lines {
      let o = try JSONParser.parse(Array(line.utf8))
      #expect(o["level"]?.stringValue != nil && o["message"]?.stringValue != nil && o["time"]?.stringValue != nil)
      if o["metadata"]?["run.id"]?.stringValue != nil { withRun += 1 }
    }
    #expect(withRun > 0)
    #expect(!r.stderr.contains(sandbox.apiKey), "the API key reached the log")
    await sandbox.stop()
  }

  @Test("deploy/ units pass systemd-analyze verify; their exit-status handling matches the exit codes")
  func systemdUnits() throws {
    let deploy = RepositoryPaths.root + "/deploy"
    let service = try String(contentsOfFile: deploy + "/chartmogul-etl.service", encoding: .utf8)
    let serve = try String(contentsOfFile: deploy + "/chartmogul-etl-serve.service", encoding: .utf8)
    // locked (3) does not fail the unit; rejected rows (1) and configuration (2) fail it and are not
    // retried; unreachable (75) is retried; a stopped service (143) is a clean stop.
    #expect(service.contains("\nSuccessExitStatus=3\n"))
    #expect(service.contains("\nRestartPreventExitStatus=1 2 130 143\n"))
    #expect(service.contains("\nRestart=on-failure\n"))
    #expect(serve.contains("\nSuccessExitStatus=143\n"))
    let readme = try String(contentsOfFile: RepositoryPaths.root + "/README.md", encoding: .utf8)
    #expect(readme.contains("SuccessExitStatus=3"))
    guard FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze") else { return }
    let dir = try TempDirectory()
    let binary = try CLIProcess.binary
    var names: [String] = []
    for name in ["chartmogul-etl.service", "chartmogul-etl.timer", "chartmogul-etl-serve.service"] {
      // The units name the installed paths; verify checks that ExecStart is executable, so point it
      // at the built binary.
      let text = try String(contentsOfFile: deploy + "/" + name, encoding: .utf8)
        .replacingOccurrences(of: "/opt/chartmogul-etl/chartmogul-etl", with: binary)
        .replacingOccurrences(of: "WorkingDirectory=/opt/chartmogul-etl", with: "WorkingDirectory=\(dir.path)")
      try dir.write(name, text)
      names.append(dir.file(name))
    }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/systemd-analyze")
    p.arguments = ["verify"] + names
    let err = Pipe()
    p.standardError = err
    p.standardOutput = FileHandle.nullDevice
    try p.run()
    p.waitUntilExit()
    let messages = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    // Unknown keys are only warnings (exit 0): any message is a failure.
    let relevant = messages.split(separator: "\n").filter {
      !$0.contains("User=") && !$0.contains("chartmogul-etl user")
    }
    #expect(p.terminationStatus == 0 && relevant.isEmpty, "\(messages)")
  }
}

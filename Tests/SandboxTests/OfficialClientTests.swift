import ETLTestSupport
import Foundation
import Testing

/// ChartMogul's official Python client (PyPI `chartmogul` 4.11.0) against `chartmogul-etl sandbox`
/// running as a real process on a loopback port: every call of fixtures/official-client/drive_sandbox.py
/// must work with the responses the sandbox gives.
///
/// The client is installed into a virtualenv cached under the repository's `.build/` (created on the
/// first run: needs `python3-venv`, `python3-pip` — scripts/setup — and PyPI). When it cannot be
/// installed the test fails, it never skips.
@Suite struct OfficialClientTests {
  static let version = "4.11.0"
  static var venv: String { RepositoryPaths.root + "/.build/official-client/chartmogul-\(version)" }

  /// Runs a program to completion; output goes to a file so a chatty pip never blocks.
  static func run(_ exe: String, _ args: [String], env: [String: String] = [:], in dir: String) throws
    -> CLIProcess.Result
  {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: exe)
    p.arguments = args
    var e = ProcessInfo.processInfo.environment
    for (k, v) in env { e[k] = v }
    p.environment = e
    let out = dir + "/.run-\(UUID().uuidString).out"
    FileManager.default.createFile(atPath: out, contents: nil)
    let handle = FileHandle(forWritingAtPath: out)
    p.standardOutput = handle
    p.standardError = handle
    p.standardInput = FileHandle.nullDevice
    try p.run()
    p.waitUntilExit()
    try? handle?.close()
    let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
    try? FileManager.default.removeItem(atPath: out)
    return CLIProcess.Result(status: p.terminationStatus, stdout: text, stderr: "")
  }

  /// The venv's python with `chartmogul==4.11.0` importable, installing it when needed.
  static func python(scratch: String) throws -> String {
    let py = venv + "/bin/python"
    let probe = "import chartmogul, sys; sys.exit(0 if chartmogul.__version__ == '\(version)' else 3)"
    if FileManager.default.isExecutableFile(atPath: py), try run(py, ["-c", probe], in: scratch).status == 0 {
      return py
    }
    try? FileManager.default.removeItem(atPath: venv)
    try FileManager.default.createDirectory(atPath: venv, withIntermediateDirectories: true)
    let made = try run("/usr/bin/env", ["python3", "-m", "venv", venv], in: scratch)
    guard made.status == 0 else {
      throw SandboxHarnessError(
        "python3 -m venv failed (exit \(made.status)): \(made.output.suffix(800)) — install python3 and python3-venv (scripts/setup)"
      )
    }
    let pip = try run(
      py, ["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "-q", "chartmogul==\(version)"],
      in: scratch)
    guard pip.status == 0, try run(py, ["-c", probe], in: scratch).status == 0 else {
      throw SandboxHarnessError(
        "pip install chartmogul==\(version) failed (exit \(pip.status)): \(pip.output.suffix(1200)) — install python3-pip (scripts/setup) and make https://pypi.org reachable"
      )
    }
    return py
  }

  /// Starts `chartmogul-etl sandbox` on a free port and returns it with its base URL.
  static func startSandbox(apiKey: String, dataSource: String, in dir: String) throws -> (Process, String) {
    let prefix = dir + "/sandbox"
    let p = try CLIProcess.start(
      ["sandbox", "--port", "0", "--api-key", apiKey, "--data-source-uuid", dataSource], directory: dir,
      outputPrefix: prefix)
    let deadline = Date().addingTimeInterval(30)
    while Date() < deadline {
      let out = (try? String(contentsOfFile: prefix + ".out", encoding: .utf8)) ?? ""
      if let line = out.split(separator: "\n").first(where: { $0.hasPrefix("ChartMogul sandbox listening on ") }) {
        return (p, String(line.dropFirst("ChartMogul sandbox listening on ".count)))
      }
      guard p.isRunning else { break }
      Thread.sleep(forTimeInterval: 0.05)
    }
    p.terminate()
    let err = (try? String(contentsOfFile: prefix + ".err", encoding: .utf8)) ?? ""
    throw SandboxHarnessError("chartmogul-etl sandbox did not report its address within 30 s: \(err.suffix(800))")
  }

  @Test func everyCallOfTheOfficialPythonClientWorks() throws {
    let dir = try TempDirectory(prefix: "official-client")
    let py = try Self.python(scratch: dir.path)
    let key = "official_client_" + UUID().uuidString.prefix(8).lowercased()
    let ds = "ds_" + UUID().uuidString.lowercased()
    let (sandbox, url) = try Self.startSandbox(apiKey: key, dataSource: ds, in: dir.path)
    defer {
      sandbox.terminate()  // SIGTERM, a real signal
      sandbox.waitUntilExit()
    }
    let r = try Self.run(
      py, [RepositoryPaths.fixture("official-client/drive_sandbox.py")],
      env: [
        "SANDBOX_URL": url, "SANDBOX_API_KEY": key, "SANDBOX_DATA_SOURCE_UUID": ds, "PYTHONDONTWRITEBYTECODE": "1",
      ],
      in: dir.path)
    let failed = r.output.split(separator: "\n").filter { $0.contains("\"ok\": false") }
    #expect(failed.isEmpty, "calls the official client could not make:\n\(failed.joined(separator: "\n"))")
    #expect(r.status == 0, "drive_sandbox.py exit \(r.status):\n\(r.output.suffix(3000))")
    // The script ran to its summary: every call was made, none was skipped.
    let summary = try #require(r.output.split(separator: "\n").last { $0.hasPrefix("{\"summary\"") })
    #expect(summary.contains("\"calls\": 39"), "\(summary)")
  }
}

import ETLTestSupport
import Foundation
import RevenueCore
import Staging
import Testing

/// The exit codes a scheduler acts on (README "Exit codes"), each from the real binary: 0 ok,
/// 1 records rejected, 2 usage/configuration, 3 locked, 75 unreachable (retry later). A command
/// refused before it starts leaves no run folder.
@Suite("Exit codes a scheduler can act on", .serialized)
struct ExitCodeTests {
  /// A pipeline over one NDJSON Cashier export (`line` is its single record).
  @discardableResult
  func pipeline(
    _ dir: TempDirectory, name: String = "codes", files: String = "exports/cashier.ndjson",
    stagingRoot: String = "staging", destination: String? = nil
  ) throws -> String {
    var text = """
      name: \(name)
      staging_root: \(stagingRoot)
      sources:
        files:
          - { format: ndjson, kind: cashier.transaction, path: "\(files)" }
      transform:
        plan_mapping:
          plan_growth_egp: { name: Growth, currency: EGP, interval: month }

      """
    if let destination { text += destination }
    try dir.write("\(name).yaml", text)
    return "\(name).yaml"
  }

  func runFolders(_ dir: TempDirectory, _ pipeline: String = "codes") -> [String] {
    (try? FileManager.default.contentsOfDirectory(atPath: dir.file("staging/\(pipeline)/runs"))) ?? []
  }

  @Test("--help lists every exit code; --version prints the version")
  func helpAndVersion() throws {
    let dir = try TempDirectory()
    let help = try CLIProcess.run(["--help"], directory: dir.path)
    #expect(help.status == 0)
    for code in [
      "0 every record", "1 some records", "2 usage", "3 another run", "75 a source or ChartMogul", "130/143",
    ] {
      #expect(help.stdout.contains(code), "help lacks '\(code)'")
    }
    let version = try CLIProcess.run(["--version"], directory: dir.path)
    #expect(version.status == 0)
    #expect(version.stdout.hasPrefix("chartmogul-etl "))
  }

  @Test("a glob matching no file is exit 2, found before anything is staged")
  func globMatchesNothing() throws {
    let dir = try TempDirectory()
    let p = try pipeline(dir, files: "exports/missing/*.ndjson")
    let r = try CLIProcess.run(["extract", "--pipeline", p], directory: dir.path)
    #expect(r.status == 2, "\(r.output)")
    #expect(r.stderr.contains("matches no file"))
    #expect(r.stderr.contains("nothing was staged"))
    #expect(runFolders(dir).isEmpty)
  }

  @Test("an unknown --run-id and an unknown --file are usage errors (exit 2)")
  func unknownRunAndFile() throws {
    let dir = try TempDirectory()
    try dir.write("exports/cashier.ndjson", Self.record(id: "TX-1", date: "2026-11-02T10:00:00Z") + "\n")
    let p = try pipeline(dir)
    let ok = try CLIProcess.run(["extract", "--pipeline", p], directory: dir.path)
    #expect(ok.status == 0, "\(ok.output)")
    let run = try CLIProcess.run(["transform", "--pipeline", p, "--run-id", "no-such-run"], directory: dir.path)
    #expect(run.status == 2)
    #expect(run.stderr.contains("no-such-run"))
    let file = try CLIProcess.run(
      ["inspect", "--pipeline", p, "extract", "--file", "nope.ndjson"], directory: dir.path)
    #expect(file.status == 2)
    #expect(file.stderr.contains("nope.ndjson"))
  }

  @Test("staging_root that is a file (/etc/passwd) is exit 2 with what to set")
  func unusableStagingRoot() throws {
    let dir = try TempDirectory()
    try dir.write("exports/cashier.ndjson", Self.record(id: "TX-1", date: "2026-11-02T10:00:00Z") + "\n")
    let p = try pipeline(dir, stagingRoot: "/etc/passwd")
    let r = try CLIProcess.run(["extract", "--pipeline", p], directory: dir.path)
    #expect(r.status == 2, "\(r.output)")
    #expect(r.stderr.contains("/etc/passwd"))
    #expect(r.stderr.contains("staging_root"))
  }

  @Test("a rejected record is exit 1")
  func rejectedRecord() throws {
    let dir = try TempDirectory()
    try dir.write("exports/cashier.ndjson", Self.record(id: "TX-1", date: "not a date") + "\n")
    let p = try pipeline(dir)
    #expect(try CLIProcess.run(["extract", "--pipeline", p], directory: dir.path).status == 0)
    let t = try CLIProcess.run(["transform", "--pipeline", p], directory: dir.path)
    #expect(t.status == 1, "\(t.output)")
    #expect(t.stdout.contains("rejected 1"))
  }

  @Test("ChartMogul unreachable is exit 75 with one line naming the host; no run folder")
  func chartMogulUnreachable() throws {
    let dir = try TempDirectory()
    try dir.write("exports/cashier.ndjson", Self.record(id: "TX-1", date: "2026-11-02T10:00:00Z") + "\n")
    let p = try pipeline(
      dir,
      destination: """
        destination:
          chartmogul: { api_key: k, api_url: "http://127.0.0.1:1", data_source_uuid: ds_x }
        validate:
          fx: { EGP: 0.0205 }

        """)
    let r = try CLIProcess.run(["run", "--pipeline", p], directory: dir.path)
    #expect(r.status == 75, "\(r.output)")
    #expect(r.stderr.contains("127.0.0.1:1"))
    #expect(r.stderr.contains("GET /v1/ping"))
    #expect(!r.stderr.contains("Error Domain"), "an NSError dump: \(r.stderr)")
    #expect(!r.stderr.contains("UserInfo"))
    #expect(runFolders(dir).isEmpty)
  }

  @Test("PostgreSQL refusing connections is exit 75")
  func postgresRefusing() throws {
    let dir = try TempDirectory()
    try dir.write(
      "pg.yaml", "name: pg\nstaging_root: staging\nsources:\n  postgres:\n    url: postgres://etl:pw@127.0.0.1:1/app\n")
    let r = try CLIProcess.run(["extract", "--pipeline", "pg.yaml"], directory: dir.path)
    #expect(r.status == 75, "\(r.output)")
    #expect(r.stderr.contains("127.0.0.1"))
    #expect(!r.stderr.contains("pw@"), "the password leaked")
    #expect(runFolders(dir, "pg").isEmpty)
  }

  @Test("a run refused by the lock exits 3 and leaves no run folder")
  func lockedLeavesNothing() async throws {
    let dir = try TempDirectory()
    try dir.write("exports/cashier.ndjson", Self.record(id: "TX-1", date: "2026-11-02T10:00:00Z") + "\n")
    let p = try pipeline(dir)
    let area = try StagingArea(stagingRoot: dir.file("staging"), pipeline: "codes")
    try area.prepare()
    let holder = Process()
    holder.executableURL = URL(fileURLWithPath: "/bin/sh")
    holder.arguments = ["-c", "exec 9>>\"$0\"; flock 9; exec sleep 60", area.lockPath]
    try holder.run()
    defer {
      kill(holder.processIdentifier, SIGKILL)
      holder.waitUntilExit()
    }
    try await Task.sleep(nanoseconds: 300_000_000)
    let r = try CLIProcess.run(["extract", "--pipeline", p], directory: dir.path)
    #expect(r.status == 3, "\(r.output)")
    #expect(runFolders(dir).isEmpty, "a refused run left \(runFolders(dir))")
    let s = try CLIProcess.run(["status", "--pipeline", p], directory: dir.path)
    #expect(s.stdout.contains("no runs yet"))
  }

  /// One Cashier transaction as the API returns it (CSV column names, string values).
  static func record(id: String, date: String) -> String {
    """
    {"transaction_id":"\(id)","kashier_order_id":"k-\(id)","merchant_order_id":"ord-\(id)","type":"payment","status":"SUCCESS","original_transaction_id":null,"created_at":"\(date)","amount":"1490.00","currency":"EGP","plan_id":"plan_growth_egp","subscription_id":"csub_\(id)","period_start":"\(date)","period_end":"2026-12-02T10:00:00+02:00","merchant_customer_id":"cust-\(id)","customer_email":"nour.salem@example.com","customer_name":"Salem, Nour","payment_method":"card","card_brand":"Meeza","mode":"live","description":"Growth plan - monthly"}
    """
  }
}

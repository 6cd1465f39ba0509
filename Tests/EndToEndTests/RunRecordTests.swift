import ETLTestSupport
import Foundation
import RevenueCore
import Staging
import Testing

/// Run records tell the truth: SIGTERM/SIGINT stop a command cleanly and record `interrupted`; a
/// killed process is never shown as running; a lost `run.json` update is repaired by the next
/// command; "latest run" is the latest created, whatever its name.
@Suite("Honest run records", .serialized)
struct RunRecordTests {
  /// `files` NDJSON exports of `rows` Cashier records each, under `exports/`.
  func world(files: Int, rows: Int) throws -> TempDirectory {
    let dir = try TempDirectory()
    var text = ""
    for i in 0..<rows { text += ExitCodeTests.record(id: "TX-\(i)", date: "2026-11-02T10:00:00+02:00") + "\n" }
    for f in 0..<files { try dir.write("exports/part-\(String(format: "%03d", f)).ndjson", text) }
    try dir.write(
      "p.yaml",
      """
      name: rec
      staging_root: staging
      sources:
        files:
          - { format: ndjson, kind: cashier.transaction, path: "exports/*.ndjson" }
      transform:
        plan_mapping:
          plan_growth_egp: { name: Growth, currency: EGP, interval: month }
      """)
    return dir
  }

  func record(_ dir: TempDirectory, _ id: String) throws -> JSONValue {
    try #require(try AtomicFile.readJSON(dir.file("staging/rec/runs/\(id)/run.json")))
  }

  /// Starts `extract` and waits until its run record says the extract stage is running.
  func startExtract(_ dir: TempDirectory) async throws -> (Process, String, String) {
    let prefix = dir.file("extract-\(UUID().uuidString)")
    let p = try CLIProcess.start(["extract", "--pipeline", "p.yaml"], directory: dir.path, outputPrefix: prefix)
    let runs = dir.file("staging/rec/runs")
    let deadline = Date().addingTimeInterval(60)
    while Date() < deadline {
      for id in (try? FileManager.default.contentsOfDirectory(atPath: runs)) ?? [] {
        if let r = try? AtomicFile.readJSON(runs + "/\(id)/run.json"),
          r["stages"]?["extract"]?["outcome"]?.stringValue == "running"
        {
          return (p, id, prefix)
        }
      }
      try await Task.sleep(nanoseconds: 10_000_000)
    }
    p.terminate()
    throw CocoaError(.fileReadUnknown)
  }

  /// Replaces the exports by one file of three records.
  func shrink(_ dir: TempDirectory) throws {
    try FileSystem.removeTree(dir.file("exports"))
    var text = ""
    for i in 0..<3 { text += ExitCodeTests.record(id: "TX-\(i)", date: "2026-11-02T10:00:00+02:00") + "\n" }
    try dir.write("exports/part-000.ndjson", text)
  }

  func wait(_ p: Process) async {
    while p.isRunning { try? await Task.sleep(nanoseconds: 20_000_000) }
    p.waitUntilExit()
  }

  @Test("SIGTERM (and SIGINT) stop extract, record the run as interrupted, say how to resume, exit 143/130")
  func signalInterrupts() async throws {
    let dir = try world(files: 60, rows: 2000)
    for (sig, code) in [(SIGTERM, Int32(143)), (SIGINT, Int32(130))] {
      let (p, id, prefix) = try await startExtract(dir)
      try await Task.sleep(nanoseconds: 200_000_000)
      kill(p.processIdentifier, sig)
      await wait(p)
      let err = (try? String(contentsOfFile: prefix + ".err", encoding: .utf8)) ?? ""
      #expect(p.terminationStatus == code, "\(err)")
      #expect(err.contains("rerun to resume"), "\(err)")
      let r = try record(dir, id)
      #expect(r["outcome"]?.stringValue == "interrupted")
      #expect(r["stages"]?["extract"]?["outcome"]?.stringValue == "interrupted")
      #expect(
        !FileManager.default.fileExists(atPath: dir.file("staging/rec/runs/\(id)/extract")),
        "a partial extract was published")
      let s = try CLIProcess.run(["status", "--pipeline", "p.yaml", "--run-id", id], directory: dir.path)
      #expect(s.stdout.contains("interrupted"))
      #expect(!s.stdout.contains("running"))
    }
    // The rerun of the interrupted run completes it (over a small export, to keep the test short).
    try shrink(dir)
    let ids = try FileManager.default.contentsOfDirectory(atPath: dir.file("staging/rec/runs"))
    let again = try CLIProcess.run(["extract", "--pipeline", "p.yaml", "--run-id", ids[0]], directory: dir.path)
    #expect(again.status == 0, "\(again.output)")
    #expect(try record(dir, ids[0])["outcome"]?.stringValue == "succeeded")
  }

  @Test("a SIGKILLed run is never shown as running; the next command records it as interrupted")
  func killedRunIsNotRunning() async throws {
    let dir = try world(files: 60, rows: 2000)
    let (p, id, _) = try await startExtract(dir)
    kill(p.processIdentifier, SIGKILL)
    await wait(p)
    #expect(try record(dir, id)["outcome"]?.stringValue == "running", "the killed process could not record anything")
    let s = try CLIProcess.run(["status", "--pipeline", "p.yaml", "--json"], directory: dir.path)
    let status = try JSONParser.parse(Array(s.stdout.utf8))
    let run = try #require(status["runs"]?.arrayValue?.first)
    #expect(run["outcome"]?.stringValue == "interrupted")
    #expect(run["stages"]?["extract"]?["outcome"]?.stringValue == "interrupted")
    // A pid reused by another process does not make it look alive: the start time differs.
    var fake = try #require(try record(dir, id).objectValue)
    fake["pid"] = .int(1)
    try AtomicFile.writeJSON(.object(fake), to: dir.file("staging/rec/runs/\(id)/run.json"))
    let s1 = try CLIProcess.run(["status", "--pipeline", "p.yaml", "--run-id", id], directory: dir.path)
    #expect(s1.stdout.contains("interrupted"), "\(s1.stdout)")
    // The next locked command writes it down for good.
    try shrink(dir)
    let t = try CLIProcess.run(["extract", "--pipeline", "p.yaml", "--run-id", "other"], directory: dir.path)
    #expect(t.status == 0, "\(t.output)")
    #expect(try record(dir, id)["outcome"]?.stringValue == "interrupted")
  }

  @Test("a lost run.json update (disk full at that moment) is made consistent by the next command")
  func lostRecordUpdate() throws {
    let dir = try world(files: 1, rows: 3)
    let e = try CLIProcess.run(["extract", "--pipeline", "p.yaml", "--run-id", "r1"], directory: dir.path)
    #expect(e.status == 0, "\(e.output)")
    // What a failed write after publishing leaves: the stage published, the record still saying
    // running (for a process that is gone) and the temporary file of the failed write.
    let path = dir.file("staging/rec/runs/r1/run.json")
    var r = try #require(try AtomicFile.readJSON(path)?.objectValue)
    var stages = try #require(r["stages"]?.objectValue)
    var ex = try #require(stages["extract"]?.objectValue)
    ex["outcome"] = "running"
    ex["accounting"] = nil
    stages["extract"] = .object(ex)
    r["stages"] = .object(stages)
    r["outcome"] = "running"
    r["pid"] = 999_999
    try AtomicFile.writeJSON(.object(r), to: path)
    try dir.write("staging/rec/runs/r1/run.json.tmp-999999", "{\"trunc")
    let t = try CLIProcess.run(["transform", "--pipeline", "p.yaml", "--run-id", "r1"], directory: dir.path)
    #expect(t.status == 0, "\(t.output)")
    #expect(!FileManager.default.fileExists(atPath: path + ".tmp-999999"))
    let fixed = try #require(try AtomicFile.readJSON(path))
    #expect(fixed["stages"]?["extract"]?["outcome"]?.stringValue == "succeeded", "the manifest says extract completed")
    #expect(fixed["stages"]?["extract"]?["accounting"]?["in"]?.int64Value == 3)
    #expect(fixed["stages"]?["transform"]?["outcome"]?.stringValue == "succeeded")
    #expect(fixed["outcome"]?.stringValue == "succeeded")
  }

  @Test("the latest run is the latest created, not the last by name")
  func latestByCreation() throws {
    let dir = try world(files: 1, rows: 3)
    #expect(
      try CLIProcess.run(["extract", "--pipeline", "p.yaml", "--run-id", "backfill-1"], directory: dir.path).status == 0
    )
    #expect(
      try CLIProcess.run(["transform", "--pipeline", "p.yaml", "--run-id", "backfill-1"], directory: dir.path).status
        == 0)
    let plain = try CLIProcess.run(["extract", "--pipeline", "p.yaml"], directory: dir.path)
    #expect(plain.status == 0)
    let newest = try #require(
      plain.stdout.split(separator: "\n").last { $0.hasPrefix("run folder: ") }?.split(separator: "/").last)
    #expect(newest != "backfill-1")
    let t = try CLIProcess.run(["transform", "--pipeline", "p.yaml"], directory: dir.path)
    #expect(t.status == 0, "\(t.output)")
    #expect(t.stdout.contains("transform  run \(newest)"), "\(t.stdout)")
    // The earlier-created run's customer index is continued, although its name sorts after.
    #expect(t.stdout.contains("continues run backfill-1's"), "\(t.stdout)")
    let s = try CLIProcess.run(["status", "--pipeline", "p.yaml", "--json"], directory: dir.path)
    let runs = try JSONParser.parse(Array(s.stdout.utf8))["runs"]?.arrayValue ?? []
    #expect(runs.compactMap { $0["run_id"]?.stringValue } == [String(newest), "backfill-1"])
  }
}

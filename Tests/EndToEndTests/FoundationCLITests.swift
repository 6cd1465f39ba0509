import ETLTestSupport
import Foundation
import RevenueCore
import Staging
import Testing

/// End-to-end checks of the CLI contract: exit codes, the lock, crash-safe publishing.
@Suite("CLI foundation: exit codes, lock, crash-safe publish", .serialized)
struct FoundationCLITests {
  /// A pipeline that extracts one generic NDJSON export (no servers needed).
  func writePipeline(_ dir: TempDirectory, lines: Int) throws {
    var text = ""
    text.reserveCapacity(lines * 120)
    for i in 0..<lines {
      text +=
        "{\"transaction_id\":\"TX-\(i)\",\"type\":\"payment\",\"status\":\"SUCCESS\",\"amount\":\"299.00\",\"currency\":\"EGP\",\"mode\":\"live\"}\n"
    }
    try dir.write("exports/cashier.ndjson", text)
    try dir.write(
      "pipeline.yaml",
      """
      name: crash
      staging_root: staging
      sources:
        files:
          - { format: ndjson, kind: cashier.transaction, path: exports/cashier.ndjson }
      """)
  }

  @Test("a malformed pipeline file is a configuration error (exit 2) naming the file and line")
  func malformedPipeline() throws {
    let dir = try TempDirectory()
    try dir.write("bad.yaml", "name: bad\nsources:\n  stripe:\n    api_kye: x\n")
    let r = try CLIProcess.run(["extract", "--pipeline", "bad.yaml"], directory: dir.path)
    #expect(r.status == 2)
    #expect(r.stderr.contains("bad.yaml:4"))
    #expect(r.stderr.contains("api_kye"))
    try dir.write("broken.yaml", "name: x\nsources: [unclosed\n")
    let r2 = try CLIProcess.run(["status", "--pipeline", "broken.yaml"], directory: dir.path)
    #expect(r2.status == 2)
    #expect(r2.stderr.contains("broken.yaml:"))
  }

  @Test("usage errors exit 2, not ArgumentParser's 64")
  func usage() throws {
    let dir = try TempDirectory()
    #expect(try CLIProcess.run(["extract"], directory: dir.path).status == 2)
    #expect(try CLIProcess.run(["frobnicate"], directory: dir.path).status == 2)
    #expect(try CLIProcess.run(["--help"], directory: dir.path).status == 0)
  }

  @Test("a second run while the pipeline is locked exits 3 and names the holder")
  func lockHeld() async throws {
    let dir = try TempDirectory()
    try writePipeline(dir, lines: 10)
    let area = try StagingArea(stagingRoot: dir.file("staging"), pipeline: "crash")
    try area.prepare()
    try AtomicFile.writeJSON(
      [
        "pid": 777, "run_id": "20261127T020000Z", "command": "run", "host": "etl-1",
        "started_at": "2026-11-27T02:00:00Z",
      ],
      to: area.lockPath)
    let holder = Process()
    holder.executableURL = URL(fileURLWithPath: "/bin/sh")
    holder.arguments = ["-c", "exec 9>>\"$0\"; flock 9; exec sleep 60", area.lockPath]
    try holder.run()
    defer {
      kill(holder.processIdentifier, SIGKILL)
      holder.waitUntilExit()
    }
    try await Task.sleep(nanoseconds: 300_000_000)
    let r = try CLIProcess.run(["extract", "--pipeline", "pipeline.yaml"], directory: dir.path)
    #expect(r.status == 3)
    #expect(r.stderr.contains("20261127T020000Z"))
    #expect(r.stderr.contains("777"))
    // Read-only commands never need the lock.
    let s = try CLIProcess.run(["status", "--pipeline", "pipeline.yaml", "--json"], directory: dir.path)
    #expect(s.status == 0)
    #expect(s.stdout.contains("20261127T020000Z"))
  }

  @Test("SIGKILL while extract publishes leaves either no stage or a complete one; the rerun redoes it identically")
  func killDuringPublish() async throws {
    let dir = try TempDirectory()
    try writePipeline(dir, lines: 30_000)
    let clean = try CLIProcess.run(
      ["extract", "--pipeline", "pipeline.yaml", "--run-id", "clean"], directory: dir.path)
    #expect(clean.status == 0, "\(clean.output)")
    let area = try StagingArea(stagingRoot: dir.file("staging"), pipeline: "crash")
    let reference = try #require(try RunFolder(area: area, id: "clean").manifest("extract"))

    var killed = 0
    for attempt in 0..<6 {
      let id = "kill-\(attempt)"
      let p = try CLIProcess.start(
        ["extract", "--pipeline", "pipeline.yaml", "--run-id", id], directory: dir.path,
        outputPrefix: dir.file(".kill-\(attempt)"))
      // Wait until the stage is being written, then kill at a different moment each time (writing,
      // publishing, or just after).
      let run = try RunFolder(area: area, id: id)
      for _ in 0..<400 where p.isRunning {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: run.path)) ?? []
        if names.contains(where: { $0.hasPrefix(".extract.tmp-") }) { break }
        try await Task.sleep(nanoseconds: 10_000_000)
      }
      try await Task.sleep(nanoseconds: UInt64(attempt) * 250_000_000)
      if p.isRunning {
        kill(p.processIdentifier, SIGKILL)
        killed += 1
      }
      p.waitUntilExit()
      if let m = try run.manifest("extract") {
        // Complete: every file intact.
        #expect(m.verify(stageDirectory: run.stagePath("extract")).isEmpty)
      } else {
        #expect(!FileSystem.exists(run.stagePath("extract")))
      }
      // The rerun completes, sweeps leftovers and produces the same files as the clean run.
      let again = try CLIProcess.run(["extract", "--pipeline", "pipeline.yaml", "--run-id", id], directory: dir.path)
      #expect(again.status == 0, "\(again.output)")
      let m = try #require(try run.manifest("extract"))
      #expect(m.files.map(\.sha256) == reference.files.map(\.sha256))
      let leftovers = try FileManager.default.contentsOfDirectory(atPath: run.path).filter { $0.hasPrefix(".") }
      #expect(leftovers.isEmpty)
    }
    #expect(killed > 0)
  }
}

import ETLTestSupport
import Foundation
import RevenueCore
import Staging
import Testing

/// `prune` and the pipeline's `retention`: old runs go, what later runs need stays.
@Suite("prune and retention", .serialized)
struct PruneTests {
  func world() throws -> TempDirectory {
    let dir = try TempDirectory()
    var text = ""
    for i in 0..<3 { text += ExitCodeTests.record(id: "TX-\(i)", date: "2026-11-02T10:00:00+02:00") + "\n" }
    try dir.write("exports/part.ndjson", text)
    try dir.write(
      "p.yaml",
      """
      name: pr
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

  func runs(_ dir: TempDirectory) -> Set<String> {
    Set((try? FileManager.default.contentsOfDirectory(atPath: dir.file("staging/pr/runs"))) ?? [])
  }

  @Test("prune --keep removes old runs but keeps the latest customer index and runs with a load ledger")
  func keepsWhatLaterRunsNeed() throws {
    let dir = try world()
    for id in ["r1", "r2", "r3", "r4", "r5", "r6"] {
      #expect(try CLIProcess.run(["extract", "--pipeline", "p.yaml", "--run-id", id], directory: dir.path).status == 0)
    }
    #expect(
      try CLIProcess.run(["transform", "--pipeline", "p.yaml", "--run-id", "r3"], directory: dir.path).status == 0)
    // r2 loaded earlier: its ledger says what ChartMogul confirmed (later loads read it).
    try dir.write("staging/pr/runs/r2/load/ledger.ndjson", "{\"id\":\"cus_1\",\"status\":\"confirmed\"}\n")
    let dry = try CLIProcess.run(["prune", "--pipeline", "p.yaml", "--keep", "2", "--dry-run"], directory: dir.path)
    #expect(dry.status == 0, "\(dry.output)")
    #expect(dry.stdout.contains("would remove run r1"))
    #expect(runs(dir).count == 6)
    let young = try CLIProcess.run(
      ["prune", "--pipeline", "p.yaml", "--keep", "1", "--older-than", "30d"], directory: dir.path)
    #expect(young.status == 0)
    #expect(runs(dir).count == 6, "runs made seconds ago are not older than 30 days")
    let r = try CLIProcess.run(["prune", "--pipeline", "p.yaml", "--keep", "2"], directory: dir.path)
    #expect(r.status == 0, "\(r.output)")
    #expect(runs(dir) == ["r2", "r3", "r5", "r6"], "\(r.stdout)")
    #expect(r.stdout.contains("kept run r3: holds the latest customer index"))
    // The next transform still continues r3's index.
    let t = try CLIProcess.run(["transform", "--pipeline", "p.yaml", "--run-id", "r6"], directory: dir.path)
    #expect(t.stdout.contains("continues run r3's"), "\(t.stdout)")
    #expect(
      try CLIProcess.run(["prune", "--pipeline", "p.yaml", "--older-than", "soon"], directory: dir.path).status == 2)
  }

  @Test("retention in the pipeline is applied after a successful run")
  func retentionAfterRun() async throws {
    let sandbox = try await SandboxHarness.start()
    let dir = try TempDirectory()
    try ServeTests().pipeline(dir, sandbox)
    var text = try String(contentsOfFile: dir.file("srv.yaml"), encoding: .utf8)
    text += "\nretention:\n  keep: 1\n"
    try dir.write("srv.yaml", text)
    for id in ["old-1", "old-2"] {
      let e = try await EndToEndCLI.run(
        ["extract", "--pipeline", "srv.yaml", "--run-id", id], environment: [:], directory: dir.path)
      #expect(e.status == 0, "\(e.transcript)")
    }
    let r = try await EndToEndCLI.run(["run", "--pipeline", "srv.yaml"], environment: [:], directory: dir.path)
    #expect(r.status == 0, "\(r.transcript)")
    #expect(r.stdout.contains("retention: removed 2 old run(s)"), "\(r.stdout)")
    let left = try FileManager.default.contentsOfDirectory(atPath: dir.file("staging/srv/runs"))
    #expect(left.count == 1 && left[0] == r.runID)
    await sandbox.stop()
  }
}

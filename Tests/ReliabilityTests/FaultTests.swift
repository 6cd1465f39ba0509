import AppDatabase
import ETLTestSupport
import Foundation
import PostgresClient
import RevenueCore
import Sandbox
import Staging
import Testing

/// a ChartMogul that fails a third of its requests, resets connections, stalls and
/// loses the answers to committed writes; a Postgres restarted under extract and under write-back.
/// The outcome must be the state of a clean run: nothing lost, nothing twice.
@Suite("Faults: a hostile ChartMogul and a restarting Postgres", .serialized)
struct FaultTests {
  /// A clean run's final state (its own world, no faults).
  static func cleanState() async throws -> (FinalState, Int32) {
    let world = try await ReliabilityWorld.start()
    let r = try await world.cli(["run", "--pipeline", "pipeline.yaml", "--run-id", "F"])
    try #require(r.status == 0 || r.status == 1, "\(r.transcript)")
    let state = try await FinalState.capture(world, run: "F")
    await world.stop()
    return (state, r.status)
  }

  @Test("30 % 429/5xx, resets, 2 s latency spikes and 10 % lost commit answers: reruns converge on the clean state")
  func hostileChartMogul() async throws {
    let (clean, cleanStatus) = try await Self.cleanState()
    let rounds = ReliabilityFigures.iterations(1, long: 5)
    var injected = 0
    var lost = 0
    var duplicated = 0
    for round in 0..<rounds {
      let seed = ReliabilityFigures.seed &+ UInt64(100 + round)
      let faults = SandboxFaults(
        probability429: 0.15, probability5xx: 0.15, probabilityReset: 0.05, latencySpikeProbability: 0.03,
        spikeSeconds: 2, probabilityCommitThenFail: 0.10, seed: seed)
      let world = try await ReliabilityWorld.start(faults: faults)
      var r = try await world.cli(["run", "--pipeline", "pipeline.yaml", "--run-id", "F"])
      #expect([0, 1].contains(r.status), "seed \(seed): \(r.transcript)")
      // Records that ran out of attempts are failed in the ledger (exit 1); `load` resumes them.
      var attempts = 1
      while try (world.run("F").manifest("load")?.accounting.failed ?? 1) > 0 && attempts < 8 {
        #expect(r.status == 1, "a load with failed records exits 1: \(r.transcript)")
        r = try await world.cli(["load", "--pipeline", "pipeline.yaml", "--run-id", "F"])
        attempts += 1
      }
      #expect(r.status == cleanStatus, "seed \(seed), after \(attempts) loads: \(r.transcript)")
      injected += (await world.sandbox.server.injectedFaults()).values.reduce(0, +)
      let state = try await FinalState.capture(world, run: "F")
      #expect(state.transform == clean.transform)
      #expect(state.sandbox == clean.sandbox, "ChartMogul state differs from the clean run (seed \(seed))")
      #expect(state.writeBack == clean.writeBack, "write-back differs from the clean run (seed \(seed))")
      let counted = FinalState.lostAndDuplicated(state.sandbox, reference: clean.sandbox)
      lost += counted.lost
      duplicated += counted.duplicated + (try world.duplicatedInvoiceUUIDs())
      await world.stop()
    }
    #expect(injected > 0)
    #expect(lost == 0 && duplicated == 0)
    ReliabilityFigures.add("chartmogul-faults", ["faults": injected, "lost": lost, "duplicated": duplicated])
  }

  /// Waits until a backend runs a statement containing `text` (false if `p` ends or time runs out).
  /// Only active statements count, and never a poll like this one: an earlier poll's backend may
  /// still be listed for a moment after it disconnected, with the pattern in its own query text.
  static func waitForStatement(like text: String, in world: ReliabilityWorld, while p: Process, seconds: Double)
    async throws
    -> Bool
  {
    let sql =
      "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%\(text)%' AND query NOT LIKE '%pg_stat_activity%' AND pid <> pg_backend_pid()"
    let deadline = Date().addingTimeInterval(seconds)
    while p.isRunning && Date() < deadline {
      if (try? world.db.scalar(sql)) != "0" { return true }
      try await Task.sleep(nanoseconds: 5_000_000)
    }
    return false
  }

  /// Extract is slowed down by a users query that sleeps per row, so the restart lands inside it.
  static func slowPipeline() -> String {
    ReliabilityWorld.pipelineText(files: false).replacingOccurrences(
      of: "    url: ${DATABASE_URL}\n",
      with: "    url: ${DATABASE_URL}\n    queries:\n      users: |\n        SELECT u.* FROM (\n"
        + AppQueries.usersSQL.split(separator: "\n").map { "          " + $0 }.joined(separator: "\n")
        + "\n        ) AS u CROSS JOIN LATERAL (SELECT pg_sleep(0.15)) AS slow\n")
  }

  @Test(
    "Postgres restarted in the middle of extract: the extract stops with a clear error, publishes nothing, and the rerun equals an undisturbed extract"
  )
  func postgresRestartDuringExtract() async throws {
    let pg = try PrivatePostgres.start()
    defer { pg.stop() }
    let url = try pg.createSeeded("app")
    let world = try await ReliabilityWorld.start(databaseURL: url, pipeline: Self.slowPipeline())
    let undisturbed = try await world.cli(["extract", "--pipeline", "pipeline.yaml", "--run-id", "R"])
    #expect(undisturbed.status == 0, "\(undisturbed.transcript)")
    let p = try world.start(["extract", "--pipeline", "pipeline.yaml", "--run-id", "X"], tag: "x")
    // Wait for the users query to be running, then restart the server under it.
    let running = try await Self.waitForStatement(like: "pg_sleep(0.15)", in: world, while: p, seconds: 60)
    #expect(running, "the extract never reached the users query: \(world.output(tag: "x"))")
    try pg.pgCtl("restart")
    try await RelCLI.waitForExit(p)
    let output = world.output(tag: "x")
    #expect(p.terminationStatus == 1, "\(output)")
    #expect(output.contains("postgres"), "the error names the source: \(output)")
    #expect(!(try world.run("X").isComplete("extract")), "a failed extract publishes nothing")
    let rerun = try await world.cli(["extract", "--pipeline", "pipeline.yaml", "--run-id", "X"])
    #expect(rerun.status == 0, "\(rerun.transcript)")
    #expect(try world.stagedFiles("X", "extract") == world.stagedFiles("R", "extract"))
    await world.stop()
    ReliabilityFigures.add("postgres-restart-extract", ["faults": 1])
  }

  @Test(
    "Postgres restarted in the middle of write-back: load says so, exits 1, and the rerun writes back exactly what a clean load does"
  )
  func postgresRestartDuringWriteBack() async throws {
    let pg = try PrivatePostgres.start()
    defer { pg.stop() }
    // A trigger slows every write-back row so the restart lands inside the UPDATE.
    let slow = """
      CREATE FUNCTION rel_slow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.1); RETURN NEW; END $$;
      CREATE TRIGGER rel_slow BEFORE UPDATE ON transactions FOR EACH ROW EXECUTE FUNCTION rel_slow();
      """
    let refURL = try pg.createSeeded("ref")
    let reference = try await ReliabilityWorld.start(databaseURL: refURL, files: false)
    try reference.db.execute(slow)
    let clean = try await reference.cli(["run", "--pipeline", "pipeline.yaml", "--run-id", "W"])
    #expect(clean.status == 0 || clean.status == 1, "\(clean.transcript)")
    let cleanState = try await FinalState.capture(reference, run: "W")
    await reference.stop()

    let url = try pg.createSeeded("app")
    let world = try await ReliabilityWorld.start(databaseURL: url, files: false)
    try world.db.execute(slow)
    for stage in ["extract", "transform"] {
      let r = try await world.cli([stage, "--pipeline", "pipeline.yaml", "--run-id", "W"])
      #expect(r.status == 0 || r.status == 1, "\(r.transcript)")
    }
    let p = try world.start(["load", "--pipeline", "pipeline.yaml", "--run-id", "W"], tag: "w")
    let running = try await Self.waitForStatement(like: "UPDATE transactions t SET", in: world, while: p, seconds: 120)
    #expect(running, "the load never reached the write-back: \(world.output(tag: "w"))")
    try pg.pgCtl("restart")
    try await RelCLI.waitForExit(p)
    let output = world.output(tag: "w")
    #expect(p.terminationStatus == 1, "a load whose write-back failed does not report success: \(output)")
    #expect(output.contains("write-back"), "\(output)")
    #expect(try world.db.scalar("SELECT count(*) FROM transactions WHERE chartmogul_synced_at IS NOT NULL") == "0")
    let rerun = try await world.cli(["load", "--pipeline", "pipeline.yaml", "--run-id", "W"])
    #expect(rerun.status == clean.status, "\(rerun.transcript)")
    let state = try await FinalState.capture(world, run: "W")
    #expect(state.writeBack == cleanState.writeBack)
    #expect(state.sandbox == cleanState.sandbox)
    #expect(try world.duplicatedInvoiceUUIDs() == 0)
    await world.stop()
    ReliabilityFigures.add("postgres-restart-write-back", ["faults": 1])
  }
}

import ETLTestSupport
import Foundation
import RevenueCore
import Sandbox
import Staging
import Testing

/// two runs at once never both write; a lock left by a killed run is taken over.
@Suite("Overlap: the pipeline lock", .serialized)
struct OverlapTests {
  /// Waits until a process holds the pipeline lock (its holder record names `pid`).
  static func waitForLock(_ world: ReliabilityWorld, pid: Int32, process: Process) async throws -> Bool {
    for _ in 0..<3000 where process.isRunning {
      if let holder = RunLock.currentHolder(area: try world.area), holder["pid"]?.scalarText == "\(pid)" { return true }
      try await Task.sleep(nanoseconds: 5_000_000)
    }
    return false
  }

  @Test("a second run while the first is running exits 3 naming the first; the first completes")
  func secondRunExits3() async throws {
    // Latency keeps the first run inside its load long enough for the second to start.
    let world = try await ReliabilityWorld.start(faults: SandboxFaults(latency: 0.05))
    let first = try world.start(["run", "--pipeline", "pipeline.yaml", "--run-id", "first"], tag: "first")
    #expect(try await Self.waitForLock(world, pid: first.processIdentifier, process: first))
    let second = try await world.cli(["run", "--pipeline", "pipeline.yaml", "--run-id", "second"])
    #expect(second.status == 3, "\(second.transcript)")
    #expect(second.stderr.contains("first"), "the message names the holder's run id: \(second.stderr)")
    #expect(second.stderr.contains("\(first.processIdentifier)"))
    try await RelCLI.waitForExit(first)
    #expect(first.terminationStatus == 0 || first.terminationStatus == 1, "\(world.output(tag: "first"))")
    #expect(try world.run("first").isComplete("load"))
    // The refused run wrote nothing.
    #expect(!(try world.run("second").isComplete("extract")))
    await world.stop()
    ReliabilityFigures.add("overlap", [:])
  }

  @Test("the run after a SIGKILLed run takes the stale lock over, says so, and succeeds")
  func staleLockTakenOver() async throws {
    let world = try await ReliabilityWorld.start(faults: SandboxFaults(latency: 0.05))
    let victim = try world.start(["run", "--pipeline", "pipeline.yaml", "--run-id", "victim"], tag: "victim")
    #expect(try await Self.waitForLock(world, pid: victim.processIdentifier, process: victim))
    let killed = try await RelCLI.kill(victim, after: 0.3)
    #expect(killed, "the run finished before it could be killed: \(world.output(tag: "victim"))")
    // The lock file still names the dead process, but nobody holds it.
    let area = try world.area
    let left = try #require(FileManager.default.contents(atPath: area.lockPath))
    #expect(String(decoding: left, as: UTF8.self).contains("\(victim.processIdentifier)"))
    #expect(RunLock.currentHolder(area: area) == nil)
    let next = try await world.cli(["run", "--pipeline", "pipeline.yaml", "--run-id", "victim"])
    #expect(next.status == 0 || next.status == 1, "\(next.transcript)")
    #expect(
      next.output.contains("took over a stale lock left by pid \(victim.processIdentifier)"), "\(next.transcript)")
    #expect(try world.run("victim").isComplete("load"))
    // Released at the end: the lock file is empty and free again.
    #expect(RunLock.currentHolder(area: area) == nil)
    await world.stop()
    ReliabilityFigures.add("stale-lock", ["kills": killed ? 1 : 0])
  }
}

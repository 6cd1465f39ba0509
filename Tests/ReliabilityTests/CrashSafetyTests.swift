import ETLTestSupport
import Foundation
import RevenueCore
import Staging
import Testing

/// the CLI is SIGKILLed at random moments of each stage, then rerun; the staged files,
/// ChartMogul's state and the app database's write-back must equal those of an uninterrupted run.
@Suite("Crash safety: SIGKILL at random points of each stage, rerun, same result", .serialized)
struct CrashSafetyTests {
  enum Stage: String, CaseIterable { case extract, transform, load }

  /// An uninterrupted run, stage by stage, in its own world: final state, exit status of load and
  /// how long each stage's process ran (the kill moments are drawn within it).
  struct Reference {
    var state: FinalState
    var loadStatus: Int32
    var seconds: [Stage: Double]
  }

  static func reference() async throws -> Reference {
    let world = try await ReliabilityWorld.start()
    var seconds: [Stage: Double] = [:]
    var status: Int32 = 0
    for stage in Stage.allCases {
      let started = Date()
      let r = try await world.cli([stage.rawValue, "--pipeline", "pipeline.yaml", "--run-id", "R"])
      seconds[stage] = Date().timeIntervalSince(started)
      try #require(r.status == 0 || r.status == 1, "\(stage) in the reference run: \(r.transcript)")
      status = r.status
    }
    let state = try await FinalState.capture(world, run: "R")
    await world.stop()
    return Reference(state: state, loadStatus: status, seconds: seconds)
  }

  @Test(
    "SIGKILL during extract, transform or load: the rerun ends where an uninterrupted run ends",
    arguments: Stage.allCases)
  func killAndRerun(stage: Stage) async throws {
    let reference = try await Self.reference()
    #expect(reference.state.extract != nil && reference.state.transform != nil)
    let points = ReliabilityFigures.iterations(3, long: 20)
    let seed = ReliabilityFigures.seed &+ UInt64(Stage.allCases.firstIndex(of: stage)!)
    var rng = SeededRandom(seed: seed)
    var kills = 0
    var lost = 0
    var duplicated = 0
    for point in 0..<points {
      let world = try await ReliabilityWorld.start()
      let id = "K\(point)"
      let base = ["--pipeline", "pipeline.yaml", "--run-id", id]
      // The stages before the one killed complete normally.
      for earlier in Stage.allCases.prefix(while: { $0 != stage }) {
        let r = try await world.cli([earlier.rawValue] + base)
        try #require(r.status == 0 || r.status == 1, "\(r.transcript)")
      }
      let delay = Double.random(in: 0...(reference.seconds[stage]! * 1.1), using: &rng)
      let p = try world.start([stage.rawValue] + base, tag: "kill-\(point)")
      let killed = try await RelCLI.kill(p, after: delay)
      if killed { kills += 1 }
      // Whatever the kill left, a stage folder is either complete (manifest and intact files) or absent.
      let run = try world.run(id)
      if let m = try run.manifest(stage.rawValue) {
        #expect(m.verify(stageDirectory: run.stagePath(stage.rawValue)).isEmpty, "seed \(seed), point \(point)")
      }
      // Rerun: extract through `run`, the others stage by stage.
      let last: CLIProcess.Result
      switch stage {
      case .extract:
        last = try await world.cli(["run"] + base)
      case .transform:
        let t = try await world.cli(["transform"] + base)
        #expect(t.status == 0 || t.status == 1, "\(t.transcript)")
        last = try await world.cli(["load"] + base)
      case .load:
        last = try await world.cli(["load"] + base)
      }
      #expect(
        last.status == reference.loadStatus, "seed \(seed), point \(point), killed after \(delay) s: \(last.transcript)"
      )
      let state = try await FinalState.capture(world, run: id)
      #expect(state.extract == reference.state.extract, "extract differs (seed \(seed), point \(point))")
      #expect(state.transform == reference.state.transform, "transform differs (seed \(seed), point \(point))")
      #expect(
        state.sandbox == reference.state.sandbox,
        "ChartMogul state differs (seed \(seed), point \(point), delay \(delay))")
      #expect(
        state.writeBack == reference.state.writeBack,
        "write-back differs (seed \(seed), point \(point), delay \(delay))")
      let counted = FinalState.lostAndDuplicated(state.sandbox, reference: reference.state.sandbox)
      lost += counted.lost
      duplicated += counted.duplicated + (try world.duplicatedInvoiceUUIDs())
      let leftovers = try FileManager.default.contentsOfDirectory(atPath: run.path).filter { $0.hasPrefix(".") }
      #expect(leftovers.isEmpty, "temporary folders left behind: \(leftovers)")
      await world.stop()
    }
    #expect(lost == 0)
    #expect(duplicated == 0)
    ReliabilityFigures.add("crash-\(stage.rawValue)", ["kills": kills, "lost": lost, "duplicated": duplicated])
    print("crash safety (\(stage.rawValue)): \(kills) of \(points) kill points hit a running process (seed \(seed))")
  }
}

import ETLTestSupport
import Foundation
import Logging
import RevenueCore
import Testing

@testable import Staging

/// A pipeline section (borrowing `alerts:` with a made-up key) that counts how often it is parsed.
struct CountedSection: PipelineSection {
  nonisolated(unsafe) static var parses = 0
  static let lock = NSLock()
  var limit: Int

  static func parse(_ pipeline: PipelineFile, environment: Environment) throws -> CountedSection {
    lock.withLock { parses += 1 }
    guard let s = try pipeline.section("alerts", allowed: ["limit"]) else { return CountedSection(limit: 0) }
    return CountedSection(limit: try s.int("limit", default: 1, range: 1...10))
  }
}

@Suite("Stage contracts: one configuration value, typed results and run status", .serialized)
struct ContractTests {
  @Test("a section is parsed once per configuration value; a failed parse is not kept and fails again the same way")
  func sectionParsedOnce() throws {
    CountedSection.parses = 0
    let good = PipelineConfiguration(
      pipeline: try PipelineFile(text: "name: p\nalerts:\n  limit: 3\n", path: "p.yaml", environment: Environment([:])),
      environment: Environment([:]))
    let first = try good.section(CountedSection.self)
    let second = try good.section(CountedSection.self)
    #expect(first.limit == 3 && second.limit == 3)
    #expect(CountedSection.parses == 1)

    let bad = PipelineConfiguration(
      pipeline: try PipelineFile(
        text: "name: p\nalerts:\n  limit: 30\n", path: "p.yaml", environment: Environment([:])),
      environment: Environment([:]))
    for _ in 0..<2 {
      #expect { try bad.section(CountedSection.self) } throws: { error in
        let e = try #require(error as? ConfigError)
        return e.file == "p.yaml" && e.line == 3 && e.key?.contains("limit") == true
      }
    }
    #expect(CountedSection.parses == 3)
  }

  @Test("stage contexts built from a pipeline and environment carry one configuration value")
  func contextCarriesConfiguration() throws {
    let dir = try TempDirectory()
    let area = try StagingArea(stagingRoot: dir.path, pipeline: "p")
    let run = try area.createRun(id: "r1")
    let pipeline = try PipelineFile(text: "name: p\n", path: "p.yaml", environment: Environment(["A": "1"]))
    let ctx = StageContext(
      pipeline: pipeline, environment: Environment(["A": "1"]), area: area, run: run, logger: .init(label: "t"))
    #expect(ctx.pipeline.name == "p" && ctx.environment["A"] == "1")
    #expect(
      ctx.configuration
        === StageContext(configuration: ctx.configuration, area: area, run: run, logger: .init(label: "t"))
        .configuration)
  }

  @Test("the runner's decisions come from typed fields, not details keys")
  func typedStageResult() {
    var r = StageResult(stage: "load", accounting: Accounting(input: 2, output: 2), details: ["no_op": true])
    #expect(!r.isNoOp && !r.hasFailures && r.writeBackFailure == nil)
    r.noOp = .dryRun
    #expect(r.isNoOp)
    #expect(NoOpReason.syncDisabled.rawValue == "sync_disabled")
  }

  @Test("the extract manifest's proposed cursors read back typed; other values are ignored")
  func proposedCursors() throws {
    var m = Manifest(stage: "extract", runID: "r1", pipeline: "p", files: [], inputs: [], accounting: Accounting())
    #expect(m.proposedCursors.isEmpty)
    m.details[Manifest.proposedCursorsKey] = ["stripe": ["end": "2026-06-30T12:00:00Z"], "odd": "not an object"]
    #expect(m.proposedCursors.keys.sorted() == ["stripe"])
    #expect(m.proposedCursors["stripe"]?["end"] == "2026-06-30T12:00:00Z")
  }

  @Test("run.json decodes into a typed run status; unknown outcomes are kept as written")
  func runStatusDecodes() throws {
    let record = try JSONParser.parse(
      #"{"run_id":"r1","outcome":"completed_with_failures","started_at":"2026-12-08T01:00:00Z","stages":{"#
        + #""extract":{"outcome":"succeeded","complete":true,"duration_s":1.5,"accounting":{"failed":0,"in":3,"out":2,"rejected":1,"skipped":0}},"#
        + #""load":{"outcome":"paused","complete":false,"error":"boom"}}}"#
    ).objectValue!
    let s = RunStatus(record: record)
    #expect(s.runID == "r1" && s.outcome == .completedWithFailures && s.finishedAt == nil)
    #expect(s.stages["extract"]?.outcome == .succeeded)
    #expect(s.stages["extract"]?.accounting == Accounting(input: 3, output: 2, rejected: 1))
    #expect(s.stages["extract"]?.duration == "1.5")
    #expect(s.stages["load"]?.outcome == .other("paused") && s.stages["load"]?.error == "boom")
    #expect(s.stages["load"]?.outcome?.description == "paused")
    #expect(s.record == record)
  }
}

import ETLTestSupport
import Foundation
import Logging
import Pipeline
import RevenueCore
import Staging
import Testing

/// The pipeline files under `pipelines/` are working examples: the demo runs with nothing but the
/// binary, backfill runs from the committed exports and the app database, and every file passes the
/// configuration checks with its variables set.
@Suite("End to end: the committed pipeline files", .serialized)
struct CommittedPipelinesTests {
  /// A working folder where `fixtures/` resolves as in the repository (the demo's paths are relative).
  func workingFolder() throws -> TempDirectory {
    let dir = try TempDirectory(prefix: "e2e-demo")
    try FileManager.default.createSymbolicLink(
      atPath: dir.file("fixtures"), withDestinationPath: EndToEndWorld.repository + "/fixtures")
    return dir
  }

  @Test("the demo runs twice in a row with no server and no secret: the second run finds everything confirmed")
  func demoTwice() async throws {
    let dir = try workingFolder()
    let demo = EndToEndWorld.pipeline("demo")
    // No ChartMogul variables at all: the pipeline starts its own sandbox.
    let clean = ["CHARTMOGUL_API_KEY": "", "CHARTMOGUL_API_URL": "", "CHARTMOGUL_DATA_SOURCE_ID": ""]
    let first = try await EndToEndCLI.run(["run", "--pipeline", demo], environment: clean, directory: dir.path)
    try #require(first.status == 0, "\(first.transcript)")
    let second = try await EndToEndCLI.run(["run", "--pipeline", demo], environment: clean, directory: dir.path)
    try #require(second.status == 0, "\(second.transcript)")

    let ids = [try #require(first.runID), try #require(second.runID)]
    #expect(ids[0] != ids[1])
    let area = try StagingArea(stagingRoot: dir.file("staging"), pipeline: "demo")
    for (result, id) in zip([first, second], ids) {
      #expect(result.stdout.contains("run folder: staging/demo/runs/\(id)"))
      #expect(result.stdout.contains("report: staging/demo/runs/\(id)/report.html"))
      #expect(FileSystem.exists(try area.existingRun(id).path + "/report.html"))
      #expect(result.stdout.contains("passed: max variance"))
    }
    // The first run sent every export row's records; the second sent nothing (no request at all)
    // and still validated against the sandbox state the first run left.
    func load(_ id: String) throws -> JSONValue {
      let record = try JSONParser.parse(Staged.bytes(try area.existingRun(id).runRecordPath))
      return try #require(record["stages"]?["load"])
    }
    let sent = try load(ids[0])
    #expect((sent["details"]?["records"]?["invoice"]?["sent"]?.int64Value ?? 0) > 0)
    #expect((sent["details"]?["http"]?["requests"]?.int64Value ?? 0) > 0)
    let resent = try load(ids[1])
    #expect(resent["details"]?["records"]?["invoice"]?["sent"]?.int64Value == 0)
    #expect(resent["details"]?["http"]?["requests"]?.int64Value == 0)
    let confirmedFirst = try #require(sent["accounting"]?["out"]?.int64Value)
    // The first run's lapse cancellations are sent once; the second run does not emit them again.
    let lapsedFirst = try #require(try area.existingRun(ids[0]).manifest("transform")?.details["lapsed"]?.int64Value)
    #expect(lapsedFirst > 0, "the demo's data ends months before today: some subscriptions lapse")
    #expect(resent["details"]?["already_confirmed"]?.int64Value == confirmedFirst - lapsedFirst)
    #expect(FileSystem.exists(area.root + "/sandbox-state.json"))
  }

  @Test("backfill from the committed exports and the whole app database, then rerun without sending anything")
  func backfill() async throws {
    try await EndToEndWorld.with { world in try await backfill(world) }
  }

  func backfill(_ world: EndToEndWorld) async throws {
    let dir = try workingFolder()
    let backfill = EndToEndWorld.pipeline("backfill")
    #expect(try await world.cli(["migrate", "--database-url", world.db.url]).status == 0)
    let status = try await world.cli(["status", "--pipeline", backfill], directory: dir.path)
    #expect(status.status == 0, "\(status.transcript)")

    let first = try await world.cli(["run", "--pipeline", backfill, "--no-progress"], directory: dir.path)
    try #require(first.status == 0, "\(first.transcript)")
    let id = try #require(first.runID)
    let run = try world.area("backfill").existingRun(id)
    let extract = try #require(try run.manifest("extract"))
    #expect((extract.bySource["files"]?.output ?? 0) > 0)
    // backfill: true reads every paid or refunded transaction, synced or not.
    let all = try world.db.scalar("SELECT count(*) FROM transactions WHERE status IN ('completed', 'refunded')")
    #expect(extract.details["sources"]?["postgres"]?["transactions"]?.int64Value == Int64(all ?? ""))
    #expect(first.stdout.contains("passed: max variance"))
    let synced = try world.db.scalar("SELECT count(*) FROM transactions WHERE chartmogul_synced_at IS NOT NULL")
    #expect(Int(synced ?? "0") ?? 0 > 0)

    await world.sandbox.server.resetRequestCounts()
    let second = try await world.cli(["run", "--pipeline", backfill, "--no-progress"], directory: dir.path)
    try #require(second.status == 0, "\(second.transcript)")
    #expect(second.runID != id)
    let writes = await world.sandboxWrites()
    #expect(writes.isEmpty, "the rerun wrote: \(writes)")
  }

  @Test(
    "nightly.yaml and backfill.yaml pass every configuration check with their variables set",
    arguments: ["nightly", "backfill"])
  func configurationChecks(name: String) async throws {
    try await EndToEndWorld.with { world in try await configurationChecks(name: name, world) }
  }

  func configurationChecks(name: String, _ world: EndToEndWorld) async throws {
    let path = EndToEndWorld.pipeline(name)
    var env = ProcessInfo.processInfo.environment
    for (k, v) in world.environment { env[k] = v }
    let session = try await PipelineSession.open(
      path: path, environment: Environment(env), logger: Logger(label: "e2e"), needsDestination: true)
    try session.checkDestination()
    #expect(session.pipeline.name == name)
    await session.close()

    let status = try await world.cli(["status", "--pipeline", path, "--json"])
    #expect(status.status == 0, "\(status.transcript)")
    #expect(try JSONParser.parse(Array(status.stdout.utf8))["pipeline"]?.stringValue == name)

    // Without DATABASE_URL the pipeline cannot start: exit 2, naming the variable and the file.
    let missing = try await world.cli(["extract", "--pipeline", path], extra: ["DATABASE_URL": ""])
    #expect(missing.status == 2, "\(missing.transcript)")
    #expect(missing.stderr.contains("DATABASE_URL"))
    #expect(missing.stderr.contains("\(name).yaml:"))
  }
}

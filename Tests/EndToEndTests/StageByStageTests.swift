import ETLTestSupport
import Foundation
import RevenueCore
import Staging
import Testing

/// Each stage reads only what the previous one staged, so running them one by one gives what `run`
/// gives, and transform is a pure function of extract/ (docs/architecture.md "The staging contract").
@Suite("End to end: stage by stage", .serialized)
struct StageByStageTests {
  @Test(
    "extract, transform and load run one by one leave ChartMogul exactly as `run` does; transform reruns byte-identically"
  )
  func stagesOneByOne() async throws {
    let nightly = EndToEndWorld.pipeline("nightly")

    // Reference: one `run` in its own world.
    var expected = JSONValue.null
    try await EndToEndWorld.with { reference in
      #expect(try await reference.cli(["migrate", "--database-url", reference.db.url]).status == 0)
      let run = try await reference.cli(["run", "--pipeline", nightly, "--no-progress"])
      try #require(run.status == 0, "\(run.transcript)")
      try await reference.sandbox.waitForImports()
      expected = await reference.sandbox.snapshot()
    }
    // The same inputs, one stage at a time.
    try await EndToEndWorld.with { world in try await stagesOneByOne(world, nightly: nightly, expected: expected) }
  }

  func stagesOneByOne(_ world: EndToEndWorld, nightly: String, expected: JSONValue) async throws {
    #expect(try await world.cli(["migrate", "--database-url", world.db.url]).status == 0)
    let extract = try await world.cli(["extract", "--pipeline", nightly, "--no-progress"])
    try #require(extract.status == 0, "\(extract.transcript)")
    let id = try #require(extract.runID, "\(extract.transcript)")
    #expect(await world.sandbox.requestCount() == 0, "extract must not talk to ChartMogul")

    let transform = try await world.cli(["transform", "--pipeline", nightly, "--run-id", id, "--no-progress"])
    try #require(transform.status == 0, "\(transform.transcript)")
    let folder = try world.area().existingRun(id).stagePath("transform")
    let firstFiles = try Staged.folder(folder)
    let firstManifest = try #require(try world.area().existingRun(id).manifest("transform"))

    // Delete transform/ and redo it: the same bytes.
    try FileManager.default.removeItem(atPath: folder)
    let redo = try await world.cli(["transform", "--pipeline", nightly, "--run-id", id, "--no-progress"])
    try #require(redo.status == 0, "\(redo.transcript)")
    let secondFiles = try Staged.folder(folder)
    let secondManifest = try #require(try world.area().existingRun(id).manifest("transform"))
    #expect(Set(firstFiles.keys) == Set(secondFiles.keys))
    for (name, bytes) in firstFiles where name.hasSuffix(".ndjson") {
      #expect(secondFiles[name] == bytes, "transform/\(name) differs after a rerun")
    }
    #expect(firstManifest.files.map(\.sha256) == secondManifest.files.map(\.sha256))
    #expect(firstManifest.files.map(\.name).contains("invoices.ndjson"))
    #expect(await world.sandbox.requestCount() == 0, "transform must not talk to ChartMogul")

    let load = try await world.cli(["load", "--pipeline", nightly, "--run-id", id, "--no-progress"])
    try #require(load.status == 0, "\(load.transcript)")
    try await world.sandbox.waitForImports()
    let actual = await world.sandbox.snapshot()
    #expect(actual == expected, "\(firstDifference(actual, expected))")

    let validate = try await world.cli(["validate", "--pipeline", nightly, "--run-id", id, "--json"])
    #expect(validate.status == 0, "\(validate.transcript)")
    let verdict = try JSONParser.parse(Array(validate.stdout.utf8))
    #expect(verdict["passed"]?.boolValue == true, "\(validate.stdout)")
  }

  /// A short description of where two snapshots first differ (for the failure message).
  func firstDifference(_ a: JSONValue, _ b: JSONValue) -> String {
    for key in ["data_sources", "plans", "customers", "attributes", "invoices", "cancellations"] {
      let x = a[key]?.arrayValue ?? []
      let y = b[key]?.arrayValue ?? []
      if x.count != y.count { return "\(key): \(x.count) vs \(y.count) entries" }
      for (i, (p, q)) in zip(x, y).enumerated() where p != q {
        return "\(key)[\(i)]: \(JSONWriter.string(p).prefix(600)) vs \(JSONWriter.string(q).prefix(600))"
      }
    }
    return "snapshots differ outside the known lists"
  }
}

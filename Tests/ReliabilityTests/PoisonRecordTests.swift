import ETLTestSupport
import Foundation
import RevenueCore
import Staging
import Testing

/// No single record blocks a run: transform rejects what load could not read (with the reason), and
/// load fails any line it cannot read on its own while sending the rest.
@Suite("Poison records: one record never blocks a load", .serialized)
struct PoisonRecordTests {
  /// Cashier rows (the fixture's header) that must be rejected by transform, each with its reason.
  static func poisonCSV() throws -> (text: String, ids: [String]) {
    let fixture = try String(
      contentsOfFile: RepositoryPaths.fixture("exports/cashier/transactions.csv"), encoding: .utf8)
    let lines = fixture.split(separator: "\n")
    let header = String(lines[0])
    let good = String(lines[1])
    // The row of the issue: 9999-12-31T23:59:59-01:00 is 10000-01-01T00:59:59Z in UTC.
    let farEnd = good.replacingOccurrences(of: "TX-PCCUVGGQSRZW", with: "TX-POISONYEAR1")
      .replacingOccurrences(of: "ord-2025-10-10-0001", with: "ord-poison-0001")
      .replacingOccurrences(of: "8526bec8-de30-4c2f-8a44-a21f5313cf4a", with: "8526bec8-de30-4c2f-8a44-000000000001")
      .replacingOccurrences(of: "2025-11-10T18:40:05+02:00", with: "9999-12-31T23:59:59-01:00")
    // A leap second: never moved to :59, the record is rejected.
    let leap = good.replacingOccurrences(of: "TX-PCCUVGGQSRZW", with: "TX-POISONLEAP1")
      .replacingOccurrences(of: "ord-2025-10-10-0001", with: "ord-poison-0002")
      .replacingOccurrences(of: "8526bec8-de30-4c2f-8a44-a21f5313cf4a", with: "8526bec8-de30-4c2f-8a44-000000000002")
      .replacingOccurrences(of: "2025-10-10T19:40:05+03:00", with: "2016-12-31T23:59:60Z")
    #expect(farEnd != good && leap != good)
    return (header + "\n" + farEnd + "\n" + leap + "\n", ["TX-POISONYEAR1", "TX-POISONLEAP1"])
  }

  static func text(_ run: RunFolder, _ stage: String, _ name: String) -> String {
    (try? String(contentsOfFile: run.file(stage, name), encoding: .utf8)) ?? ""
  }

  @Test("a year-10000 period end and a leap second are rejected by transform with reasons; load sends everything else")
  func transformRejectsWhatLoadCannotRead() async throws {
    let dir = try TempDirectory(prefix: "poison")
    let (csv, ids) = try Self.poisonCSV()
    let poison = try dir.write("poison.csv", csv)
    let world = try await ReliabilityWorld.start(
      pipeline: ReliabilityWorld.pipelineText(
        files: true, extraSources: "    - { format: cashier-csv, path: \"\(poison)\" }"))
    for stage in ["extract", "transform"] {
      let r = try await world.cli([stage, "--pipeline", "pipeline.yaml", "--run-id", "P"])
      #expect(r.status == 0 || r.status == 1, "\(stage): \(r.transcript)")
    }
    let run = try world.run("P")
    let rejects = Self.text(run, "transform", "rejects.ndjson")
    for id in ids { #expect(rejects.contains(id), "\(id) is not among the rejects: \(rejects.suffix(2000))") }
    #expect(rejects.contains("out_of_range") && rejects.contains("0001–9999"), "the reason names the limit")
    #expect(!Self.text(run, "transform", "invoices.ndjson").contains("10000-"), "a year-10000 timestamp was staged")
    let invoices = try #require(try run.manifest("transform")?.file("invoices.ndjson")).lines
    let load = try await world.cli(["load", "--pipeline", "pipeline.yaml", "--run-id", "P"])
    #expect(load.status == 0 || load.status == 1, "\(load.transcript)")
    let records = try #require(try run.manifest("load")?.details["records"]?["invoice"])
    #expect(records["confirmed"]?.int64Value == Int64(invoices), "every staged invoice was sent: \(records)")
    #expect(records["failed"]?.int64Value == 0)
    await world.stop()
    ReliabilityFigures.add("poison-transform", ["poison": ids.count, "bad_records": ids.count])
  }

  @Test("a staged line load cannot read fails alone in the ledger with its reason; every other invoice is sent")
  func loadIsolatesAnUnreadableLine() async throws {
    let world = try await ReliabilityWorld.start()
    for stage in ["extract", "transform"] {
      let r = try await world.cli([stage, "--pipeline", "pipeline.yaml", "--run-id", "U"])
      #expect(r.status == 0 || r.status == 1, "\(stage): \(r.transcript)")
    }
    let run = try world.run("U")
    // A transform that (wrongly) wrote a year-10000 date and a line that is not JSON, and recorded
    // them in its manifest: load must not stop at them.
    let path = run.file("transform", "invoices.ndjson")
    var lines = Self.text(run, "transform", "invoices.ndjson").split(separator: "\n").map(String.init)
    try #require(lines.count > 3)
    let poisoned = try #require(lines[1].range(of: #""date":"[0-9-]+T"#, options: .regularExpression))
    lines[1].replaceSubrange(poisoned, with: "\"date\":\"10000-01-01T")
    let victim = try #require(JSONParser.parse(Array(lines[1].utf8))["external_id"]?.stringValue)
    lines.insert("{\"external_id\": truncated", at: 2)
    let bytes = Array((lines.joined(separator: "\n") + "\n").utf8)
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    var manifest = try #require(try run.manifest("transform"))
    let index = try #require(manifest.files.firstIndex { $0.name == "invoices.ndjson" })
    manifest.files[index] = FileEntry(
      name: "invoices.ndjson", lines: lines.count, bytes: Int64(bytes.count), sha256: SHA256.hex(bytes))
    manifest.accounting.input += 1
    manifest.accounting.output += 1
    try AtomicFile.writeJSON(manifest.json, to: run.file("transform", Manifest.fileName))

    let load = try await world.cli(["load", "--pipeline", "pipeline.yaml", "--run-id", "U"])
    #expect(load.status == 1, "failed records make exit 1: \(load.transcript)")
    let ledger = Self.text(run, "load", "ledger.ndjson")
    let failed = ledger.split(separator: "\n").compactMap { try? JSONParser.parse(Array($0.utf8)) }
      .filter { $0["status"]?.stringValue == "failed" }
    #expect(
      failed.contains { $0["key"]?.stringValue == victim && ($0["error"]?.stringValue ?? "").contains("timestamp") },
      "\(failed)")
    #expect(failed.contains { ($0["key"]?.stringValue ?? "").hasPrefix("transform/invoices.ndjson:") }, "\(failed)")
    let records = try #require(try run.manifest("load")?.details["records"]?["invoice"])
    // Every other invoice (all lines but the two poisoned) was confirmed.
    #expect(records["confirmed"]?.int64Value == Int64(lines.count - 2), "\(records)")
    #expect(records["failed"]?.int64Value == 2, "\(records)")
    let sandboxInvoices = (await world.sandbox.snapshot())["invoices"]?.arrayValue?.count ?? 0
    #expect(sandboxInvoices == lines.count - 2)
    await world.stop()
    ReliabilityFigures.add("poison-load", ["poison": 2, "bad_records": 2])
  }
}

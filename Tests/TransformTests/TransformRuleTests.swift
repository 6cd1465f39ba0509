import ETLTestSupport
import Foundation
import RevenueCore
import Staging
import Testing

@testable import Transform
@testable import TransformRules

@Suite struct TransformRuleTests {
  @Test func cancellationUnderBothChurnSettings() async throws {
    let periodEnd = try TransformHarness.fixture("basic")
    try await periodEnd.transform()
    let a = try periodEnd.lines("cancellations.ndjson").map { try CancellationRecord(json: $0) }
    let byKey = Dictionary(uniqueKeysWithValues: a.map { ($0.subscriptionExternalID, $0) })
    // App subscription: last paid period ends 2027-02-10 (the yearly invoice); asked 2026-03-01.
    #expect(byKey["cashier_csub_yearly"]?.cancelledAt == ts("2027-02-10T12:00:00Z"))
    #expect(byKey["cashier_csub_yearly"]?.customerExternalID == nour)
    // The Stripe subscription cancelled at period end has no invoice in the fixture: ChartMogul would
    // have nothing to cancel, so it is skipped (its dates are pinned in CancellationsTests).
    #expect(byKey["stripe_sub_1RmNv6hJ7kL8mN9p"] == nil)
    let skipped = try periodEnd.diagnostics("skipped.ndjson").filter { $0.externalID == "stripe_sub_1RmNv6hJ7kL8mN9p" }
    #expect(skipped.map(\.code) == ["subscription_never_invoiced"])

    let cancelDate = try TransformHarness.fixture("basic", transformOverrides: "churn_recognition: cancel_date")
    try await cancelDate.transform()
    let b = try cancelDate.lines("cancellations.ndjson").map { try CancellationRecord(json: $0) }
    let byKey2 = Dictionary(uniqueKeysWithValues: b.map { ($0.subscriptionExternalID, $0) })
    #expect(byKey2["cashier_csub_yearly"]?.cancelledAt == ts("2026-03-01T00:00:00Z"))
  }

  @Test func duplicateEmailMergeIsListedAndCanBeTurnedOff() async throws {
    let h = try TransformHarness.fixture("basic")
    try await h.transform()
    let customers = try h.lines("customers.ndjson").map { try CustomerRecord(json: $0) }
    #expect(!customers.contains { $0.externalID == omarDuplicate })
    #expect(customers.first { $0.externalID == omar }?.mergedExternalIDs == [omarDuplicate])
    let merges = try #require(try h.manifest().details["merges"]?.arrayValue)
    #expect(merges.count == 1)
    #expect(merges[0]["into"]?.stringValue == omar)
    #expect(merges[0]["email"]?.stringValue == "omar.haddad@example.com")

    let off = try TransformHarness.fixture("basic", transformOverrides: "merge_customers_by_email: false")
    try await off.transform()
    #expect(try off.invoices()["cashier_TX-350117700101"]?.customerExternalID == omarDuplicate)
    #expect(try off.manifest().details["merges"]?.arrayValue?.isEmpty == true)
  }

  @Test func unmappedPlanPassThroughUsesTheGatewayInterval() async throws {
    // The Stripe invoice line says price_growth_usd is monthly; without a mapping it passes through.
    let h = try TransformHarness.fixture(
      "basic", transformOverrides: "unmapped_plans: pass_through")
    try await h.transform()
    let rejects = try h.diagnostics("rejects.ndjson")
    // The app row for price_mystery_usd has no interval anywhere: still rejected, reason says why.
    let r = try #require(rejects.first { $0.externalID == "stripe_in_unmapped" })
    #expect(r.code == "unmapped_plan" && r.reason.contains("gives no billing interval"))
  }

  @Test func missingAttributeRateIsReported() async throws {
    let h = try TransformHarness.fixture("basic")
    try await h.transform()
    // 5 customers × 11 attributes = 55; present 4 + 10 + 5 + 5 + 2 = 26 → missing 29 → 0.5273.
    #expect(try h.manifest().details["missing_attribute_rate"]?.stringValue == "0.5273")
  }

  @Test func shuffledInputGivesIdenticalOutput() async throws {
    let dir = RepositoryPaths.fixture("extract/basic")
    let yaml = try String(contentsOfFile: dir + "/pipeline.yaml", encoding: .utf8)
    var files: [String: [String]] = [:]
    for f in try FileManager.default.contentsOfDirectory(atPath: dir) where f.hasSuffix(".ndjson") {
      files[f] = try String(contentsOfFile: dir + "/" + f, encoding: .utf8).split(separator: "\n").map(String.init)
    }
    let a = try TransformHarness(pipelineYAML: yaml, files: files)
    try await a.transform()
    var rng = SeededRandom(seed: 42)
    let shuffled = files.mapValues { $0.shuffled(using: &rng) }
    let b = try TransformHarness(pipelineYAML: yaml, files: shuffled)
    try await b.transform()
    for n in ["customers", "plans", "invoices", "cancellations", "attributes"] {
      #expect(try a.bytes("\(n).ndjson") == b.bytes("\(n).ndjson"), "\(n) differs after shuffling")
    }
    // Diagnostics carry line numbers; the same records are rejected/skipped for the same reasons.
    func summary(_ h: TransformHarness, _ n: String) throws -> [String] {
      try h.diagnostics(n).map {
        "\($0.source)|\($0.code)|\($0.externalID ?? "")|\($0.record.map { JSONWriter.string($0) } ?? "")"
      }.sorted()
    }
    #expect(try summary(a, "rejects.ndjson").count == summary(b, "rejects.ndjson").count)
    #expect(
      try summary(a, "skipped.ndjson").map { $0.split(separator: "|").prefix(3).joined() }
        == summary(b, "skipped.ndjson").map { $0.split(separator: "|").prefix(3).joined() })
    // A rerun on the same input is byte-identical, manifest included.
    try await a.transform()
    let first = try a.bytes("invoices.ndjson")
    try await a.transform()
    #expect(try a.bytes("invoices.ndjson") == first)
    #expect(
      try Data(contentsOf: URL(fileURLWithPath: a.run.file("transform", "manifest.json")))
        == Data(contentsOf: URL(fileURLWithPath: a.run.file("transform", "manifest.json"))))
  }

  @Test func smallSortChunksGiveTheSameOutput() async throws {
    let h = try TransformHarness.fixture("basic")
    try await h.transform()
    // Force many sort runs: one fragment per run.
    var cfg = try TransformConfig(pipeline: h.pipeline)
    cfg.sortChunkRecords = 1
    let dir = try TempDirectory(prefix: "sort")
    let sorter = try ExternalSorter(directory: dir.path + "/s", maxRecords: 1)
    let words = ["delta", "alpha", "charlie", "bravo", "alpha"]
    for w in words { try sorter.add { $0.append(contentsOf: w.utf8) } }
    var out: [String] = []
    try sorter.drain { out.append(String(decoding: $0, as: UTF8.self)) }
    #expect(out == words.sorted())
    _ = cfg
  }

  @Test func configErrorsNameFileLineAndKey() throws {
    let yaml = """
      name: t
      transform:
        plan_mapping:
          p1: { name: A, currency: USD, interval: fortnight }
      """
    #expect {
      try TransformStage.validateConfig(try PipelineFile(text: yaml, path: "p.yaml", environment: Environment([:])))
    } throws: { e in
      let s = "\(e)"
      return s.contains("p.yaml:4") && s.contains("interval") && s.contains("fortnight")
    }
    let typo = "name: t\ntransform:\n  churn_recognitoin: period_end\n"
    #expect {
      try TransformStage.validateConfig(try PipelineFile(text: typo, path: "p.yaml", environment: Environment([:])))
    } throws: { e in "\(e)".contains("p.yaml:3") && "\(e)".contains("churn_recognition") }
    let zero =
      "name: t\ntransform:\n  plan_mapping:\n    p: { name: A, currency: USD, interval: month, interval_count: 0 }\n"
    #expect(throws: ConfigError.self) {
      try TransformStage.validateConfig(try PipelineFile(text: zero, path: "p.yaml", environment: Environment([:])))
    }
    let week =
      "name: t\ntransform:\n  plan_mapping:\n    p: { name: A, currency: usd, interval: week, interval_count: 2 }\n"
    let c = try TransformStage.validateConfig(
      try PipelineFile(text: week, path: "p.yaml", environment: Environment([:])))
    #expect(c.planMapping["p"]?.plan.externalID == "a_usd_14day")
  }
}

/// Deterministic generator for shuffles.
typealias SeededRandom = SplitMix64

import ETLTestSupport
import Foundation
import RevenueCore
import Staging
import Testing

@testable import Transform
@testable import TransformRules

/// Customer resolution and enrichment across runs: the second run of an incremental
/// pipeline sees a subscription/invoice of a Stripe customer the first run resolved, but not the
/// customer object itself; it must land on the same external id, and nothing may regress.
@Suite struct CustomerHistoryTests {
  typealias R = IncrementalRecords
  static let lina = "7d1f0c2a-3b4e-4f5a-8b6c-9d0e1f2a3b4c"

  /// Run 1: Lina (app user) paid via PayPal (app row, country JO) and Stripe (`cus_Lina`, linked by
  /// metadata); Gus pays via Stripe only (`cus_Gus`, no app user, invoice address DE).
  static var run1: [String: [String]] {
    [
      "postgres.ndjson": [
        R.appUser(lina, email: "lina@example.com", name: "Lina Haddad", created: "2025-11-02T10:00:00+00:00"),
        R.appPayPalPayment(
          user: lina, email: "lina@example.com", id: "PAYID-LINA0001", date: "2026-01-10T09:00:00+00:00", country: "JO"),
      ],
      "stripe.ndjson": [
        R.stripeCustomer(
          "cus_Lina", email: "lina@example.com", name: "Lina Haddad", created: "2026-02-01T08:00:00Z", appUser: lina,
          country: nil),
        R.stripeCustomer(
          "cus_Gus", email: "gus@example.org", name: "Gus Meyer", created: "2026-02-03T08:00:00Z", appUser: nil,
          country: nil),
        R.stripeSubscription("sub_Lina", customer: "cus_Lina", started: "2026-02-01T08:00:00Z"),
        R.stripeSubscription("sub_Gus", customer: "cus_Gus", started: "2026-02-03T08:00:00Z"),
        R.stripeInvoice(
          "in_Lina1", customer: "cus_Lina", subscription: "sub_Lina", paid: "2026-02-01T08:00:00Z",
          email: "lina@example.com", country: nil),
        R.stripeInvoice(
          "in_Gus1", customer: "cus_Gus", subscription: "sub_Gus", paid: "2026-02-03T08:00:00Z",
          email: "gus@example.org", country: "DE"),
      ],
    ]
  }

  /// Run 2 (incremental): every user again, no app payment (all synced), both subscriptions re-listed,
  /// a new invoice of `cus_Lina` without e-mail, and a genuinely new Stripe payer `cus_Nia`.
  static var run2: [String: [String]] {
    [
      "postgres.ndjson": [
        R.appUser(lina, email: "lina@example.com", name: "Lina Haddad", created: "2025-11-02T10:00:00+00:00")
      ],
      "stripe.ndjson": [
        R.stripeCustomer(
          "cus_Nia", email: "nia@example.net", name: "Nia Okafor", created: "2026-03-02T08:00:00Z", appUser: nil,
          country: "NG"),
        R.stripeSubscription("sub_Lina", customer: "cus_Lina", started: "2026-02-01T08:00:00Z"),
        R.stripeSubscription("sub_Gus", customer: "cus_Gus", started: "2026-02-03T08:00:00Z"),
        R.stripeSubscription("sub_Nia", customer: "cus_Nia", started: "2026-03-02T08:00:00Z"),
        R.stripeInvoice(
          "in_Lina2", customer: "cus_Lina", subscription: "sub_Lina", paid: "2026-03-01T08:00:00Z", email: nil,
          country: nil),
        R.stripeInvoice(
          "in_Nia1", customer: "cus_Nia", subscription: "sub_Nia", paid: "2026-03-02T08:00:00Z",
          email: "nia@example.net", country: nil),
      ],
    ]
  }

  func customers(_ h: TransformHarness) throws -> [String: CustomerRecord] {
    Dictionary(
      uniqueKeysWithValues: try h.lines("customers.ndjson").map { try CustomerRecord(json: $0) }.map {
        ($0.externalID, $0)
      })
  }

  func attributes(_ h: TransformHarness) throws -> [String: String] {
    var out: [String: String] = [:]
    for v in try h.lines("attributes.ndjson") {
      out[v["customer_external_id"]?.stringValue ?? ""] = JSONWriter.string(v)
    }
    return out
  }

  @Test("a customer seen only in run 1, referenced in run 2, keeps its external id; a new Stripe payer is created")
  func resolvesAcrossRuns() async throws {
    let first = try TransformHarness(pipelineYAML: R.pipeline, files: Self.run1)
    try await first.transform()
    let c1 = try customers(first)
    #expect(Set(c1.keys) == [Self.lina, "stripe:cus_Gus"])
    #expect(try first.manifest().details["prior_customer_index"] == nil)

    let second = try first.nextRun("r2", files: Self.run2)
    try await second.transform()
    #expect(try second.manifest().details["prior_customer_index"]?["run"]?.stringValue == "r1")
    let invoices = try second.invoices()
    #expect(invoices["stripe_in_Lina2"]?.customerExternalID == Self.lina)
    #expect(invoices["stripe_in_Nia1"]?.customerExternalID == "stripe:cus_Nia")
    let c2 = try customers(second)
    #expect(!c2.keys.contains("stripe:cus_Lina"), "duplicate of \(Self.lina) created")
    #expect(Set(c2.keys) == Set(c1.keys).union(["stripe:cus_Nia"]))
    #expect(c2["stripe:cus_Nia"]?.email == "nia@example.net")
    #expect(c2["stripe:cus_Nia"]?.country == "NG")
    // What the first run resolved is written again unchanged (load then has nothing to send).
    for id in c1.keys { #expect(c2[id] == c1[id], "customer \(id) changed") }
    let cancellations = try second.lines("cancellations.ndjson")
    #expect(cancellations.isEmpty)
  }

  @Test("without the earlier run's index the same extract creates the duplicate (the index is what resolves it)")
  func controlWithoutHistory() async throws {
    let alone = try TransformHarness(pipelineYAML: R.pipeline, files: Self.run2)
    try await alone.transform()
    #expect(try alone.invoices()["stripe_in_Lina2"]?.customerExternalID == "stripe:cus_Lina")
  }

  @Test("custom attributes and tags do not regress when older records were in an earlier run")
  func attributesDoNotRegress() async throws {
    let first = try TransformHarness(pipelineYAML: R.pipeline, files: Self.run1)
    try await first.transform()
    let a1 = try attributes(first)
    // Run 1 knows Lina pays via PayPal and Stripe, and her country (JO) from the app payment.
    let lina1 = try JSONParser.parse(try #require(a1[Self.lina]))
    #expect(lina1["tags"] == ["paypal", "stripe", "JO"])
    let second = try first.nextRun("r2", files: Self.run2)
    try await second.transform()
    let a2 = try attributes(second)
    #expect(a2[Self.lina] == a1[Self.lina])
    #expect(a2["stripe:cus_Gus"] == a1["stripe:cus_Gus"])
    #expect(try JSONParser.parse(try #require(a2["stripe:cus_Gus"]))["tags"] == ["stripe", "DE"])
    #expect(a2["stripe:cus_Nia"] != nil)

    // A third run with nothing new keeps everything as it was.
    let third = try second.nextRun("r3", files: ["postgres.ndjson": Self.run2["postgres.ndjson"]!])
    try await third.transform()
    #expect(try attributes(third) == a2)
    #expect(try customers(third) == customers(second))
  }

  @Test("rerunning transform of a run, alone or after later runs, is byte-identical")
  func rerunsAreDeterministic() async throws {
    let files = [
      "customers.ndjson", "attributes.ndjson", "invoices.ndjson", "cancellations.ndjson", CustomerHistory.fileName,
    ]
    let first = try TransformHarness(pipelineYAML: R.pipeline, files: Self.run1)
    try await first.transform()
    let r1 = try files.map { try first.bytes($0) }
    let second = try first.nextRun("r2", files: Self.run2)
    try await second.transform()
    let r2 = try files.map { try second.bytes($0) }

    try await second.transform()
    #expect(try files.map { try second.bytes($0) } == r2, "rerun of r2 differs")
    // Re-transforming r1 after r2 exists reads no later index: same bytes as its first transform.
    let again = try second.forRun("r1")
    try await again.transform()
    #expect(try files.map { try again.bytes($0) } == r1, "rerun of r1 after r2 differs")
    try await second.transform()
    #expect(try files.map { try second.bytes($0) } == r2)
  }

  @Test("a damaged earlier index stops the transform with the file, line and what to do")
  func damagedIndexIsAClearError() async throws {
    let first = try TransformHarness(pipelineYAML: R.pipeline, files: Self.run1)
    try await first.transform()
    let path = first.run.file("transform", CustomerHistory.fileName)
    var text = try String(contentsOfFile: path, encoding: .utf8)
    text = "{not json\n" + text.split(separator: "\n").dropFirst().joined(separator: "\n") + "\n"
    try text.write(toFile: path, atomically: false, encoding: .utf8)
    let second = try first.nextRun("r2", files: Self.run2)
    // The index no longer matches r1's transform manifest: refused before its first line is read.
    let error = await #expect(throws: StagedFileMismatch.self) { try await second.transform() }
    let message = error.map { "\($0)" } ?? ""
    #expect(message.contains("transform/\(CustomerHistory.fileName) does not match its manifest"), "\(message)")
    #expect(message.contains("transform --run-id r1"))
    #expect(!second.run.isComplete("transform"))
  }
}

import ETLTestSupport
import Foundation
import Testing

@testable import Transform
@testable import TransformRules

/// The full output of the `basic` fixture is pinned in fixtures/transform/basic (reviewed by hand).
/// To refresh after an intended change: `TRANSFORM_WRITE_GOLDEN=1 swift test --filter GoldenTests`.
@Suite struct GoldenTests {
  @Test func basicFixtureMatchesGoldenFiles() async throws {
    let h = try TransformHarness.fixture("basic")
    try await h.transform()
    let dir = RepositoryPaths.fixture("transform/basic")
    if ProcessInfo.processInfo.environment["TRANSFORM_WRITE_GOLDEN"] == "1" { try h.export(to: dir) }
    for name in [
      "customers.ndjson", "plans.ndjson", "invoices.ndjson", "cancellations.ndjson", "attributes.ndjson",
      "rejects.ndjson", "skipped.ndjson",
    ] {
      let golden = try #require(FileManager.default.contents(atPath: dir + "/" + name), "missing golden \(name)")
      #expect(try h.bytes(name) == golden, "\(name) differs from fixtures/transform/basic/\(name)")
    }
  }
}

import ETLTestSupport
import Extract
import Foundation
import RevenueCore
import Staging
import Testing

@Suite struct ExtractStageTests {
  @Test func onlyOneSourceIsRedoneAndTheOthersAreCarriedOver() async throws {
    let server = try await CashierFixtureServer.start()
    defer { Task { await server.stop() } }
    let ex = RepositoryPaths.fixture("exports")
    let h = try ExtractHarness(
      sources: """
          cashier: { api_key: \(CashierFixtureServer.apiKey), api_url: \(server.baseURL), since: 2025-09-01, requests_per_second: 50 }
          files:
            - { format: stripe-customers-csv, path: \(ex)/stripe/customers.csv }
        """)
    let first = try await h.run("r1")
    #expect(first.lines.count == 2)
    let before = try #require(try h.manifest("r1"))
    #expect(Set(before.bySource.keys) == ["cashier", "files"])
    #expect(before.details["proposed_cursors"]?["cashier"] != nil)
    let result = try await h.run("r1", only: "files")
    let after = try #require(try h.manifest("r1"))
    #expect(after.file("cashier.ndjson") == before.file("cashier.ndjson"))
    #expect(after.bySource == before.bySource && after.accounting == before.accounting)
    #expect(after.details["proposed_cursors"] == before.details["proposed_cursors"])
    #expect(await server.requests().count == before.details["sources"]?["cashier"]?["pages"]?.int64Value.map(Int.init))
    #expect(result.lines.contains { $0.hasPrefix("cashier: carried over") })
    #expect(after.verify(stageDirectory: h.area.runsDirectory + "/r1/extract").isEmpty)
  }

  @Test func unknownSourceNamesAndKeysFailEarlyWithFileAndLine() async throws {
    let typo = try ExtractHarness(sources: "  stripe: { api_key: x, since: 2025-01-01, lookback: 3 }\n")
    #expect { try ExtractStage.validateConfig(typo.pipeline, environment: Environment([:])) } throws: {
      "\($0)".contains("pipeline.yaml:4") && "\($0)".contains("sources.stripe.lookback")
        && "\($0)".contains("lookback_days")
    }
    let unknown = try ExtractHarness(sources: "  strpe: { api_key: x }\n")
    #expect { try ExtractStage.validateConfig(unknown.pipeline, environment: Environment([:])) } throws: {
      "\($0)".contains("sources.strpe") && "\($0)".contains("did you mean 'stripe'")
    }
    let files = try ExtractHarness(sources: "  files:\n    - { format: cashier-csv, path: /nonexistent.csv }\n")
    await #expect { try await files.run(only: "stripe") } throws: { "\($0)".contains("--source stripe") }
  }

  @Test func validationDoesNotNeedCredentialsButRunsDo() async throws {
    let h = try ExtractHarness(
      sources: """
          stripe: { api_key: "${STRIPE_API_KEY}", since: 2025-01-01 }
          paypal: { client_id: "${PAYPAL_CLIENT_ID}", client_secret: "${PAYPAL_CLIENT_SECRET}", since: 2025-01-01 }
          cashier: { api_key: "${CASHIER_API_KEY}", api_url: "${CASHIER_API_URL}", since: 2025-01-01 }
        """)
    try ExtractStage.validateConfig(h.pipeline, environment: Environment([:]))
    await #expect { try await h.run() } throws: { "\($0)".contains("STRIPE_API_KEY") }
    let noSince = try ExtractHarness(sources: "  cashier: { api_key: k, api_url: http://127.0.0.1:9 }\n")
    #expect { try ExtractStage.validateConfig(noSince.pipeline, environment: Environment([:])) } throws: {
      "\($0)".contains("sources.cashier.since") && "\($0)".contains("required")
    }
  }

  @Test func noSourcesPublishesAnEmptyBalancedStage() async throws {
    let h = try ExtractHarness(sources: "  files: []\n")
    let r = try await h.run()
    #expect(r.accounting == Accounting())
    #expect(try h.manifest("r1")?.accounting == Accounting())
  }
}

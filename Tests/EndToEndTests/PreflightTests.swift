import ETLTestSupport
import Foundation
import RevenueCore
import Staging
import Testing

/// `check` and the preflight of run/extract/load/validate against the real fixture gateways, a
/// seeded PostgreSQL and the ChartMogul sandbox, each over loopback.
@Suite("Preflight: check and the start of every stage command", .serialized)
struct PreflightTests {
  static let nightlyVariables = [
    "DATABASE_URL", "STRIPE_API_KEY", "PAYPAL_CLIENT_ID", "PAYPAL_CLIENT_SECRET", "CASHIER_API_KEY", "CASHIER_API_URL",
    "CHARTMOGUL_API_KEY", "CHARTMOGUL_DATA_SOURCE_ID",
  ]

  @Test("check reaches every source and ChartMogul with one read-only request each and stages nothing")
  func checkPasses() async throws {
    try await EndToEndWorld.with { world in
      // Before `migrate`, check says so (a configuration problem, exit 2).
      let early = try await world.cli(["check", "--pipeline", EndToEndWorld.pipeline("nightly")])
      #expect(early.status == 2, "\(early.transcript)")
      #expect(early.stderr.contains("chartmogul-etl migrate"))
      #expect(try await world.cli(["migrate", "--database-url", world.db.url]).status == 0)
      let r = try await world.cli(["check", "--pipeline", EndToEndWorld.pipeline("nightly")])
      #expect(r.status == 0, "\(r.transcript)")
      for what in [
        "PostgreSQL at", "Stripe at", "PayPal at", "Cashier at", "ChartMogul at", "data source", "staging root",
      ] {
        #expect(r.stdout.contains(what), "check did not report '\(what)': \(r.stdout)")
      }
      #expect(!r.output.contains(world.sandbox.apiKey), "the API key leaked")
      #expect(await world.sandboxWrites().isEmpty)
      #expect(((try? FileManager.default.contentsOfDirectory(atPath: world.area().runsDirectory)) ?? []).isEmpty)
    }
  }

  @Test("a refused ChartMogul key or an unknown data source is exit 2 before extract runs; nothing is staged")
  func refusedCredentials() async throws {
    try await EndToEndWorld.with { world in
      let bad = try await world.cli(
        ["run", "--pipeline", EndToEndWorld.pipeline("nightly")], extra: ["CHARTMOGUL_API_KEY": "wrong-key"])
      #expect(bad.status == 2, "\(bad.transcript)")
      #expect(bad.stderr.contains("CHARTMOGUL_API_KEY"))
      #expect(!bad.output.contains("wrong-key"), "the key leaked")
      let unknown = try await world.cli(
        ["check", "--pipeline", EndToEndWorld.pipeline("nightly")],
        extra: ["CHARTMOGUL_DATA_SOURCE_ID": "ds_00000000-nope"])
      #expect(unknown.status == 2, "\(unknown.transcript)")
      // Values expanded from the environment are redacted in configuration errors: the message
      // names the variable instead.
      #expect(unknown.stderr.contains("ChartMogul has no data source '${CHARTMOGUL_DATA_SOURCE_ID}'"))
      let stripe = try await world.cli(
        ["extract", "--pipeline", EndToEndWorld.pipeline("nightly"), "--source", "stripe"],
        extra: ["STRIPE_API_KEY": "sk_test_wrong"])
      #expect(stripe.status == 2, "\(stripe.transcript)")
      #expect(stripe.stderr.contains("api_key"))
      #expect(((try? FileManager.default.contentsOfDirectory(atPath: world.area().runsDirectory)) ?? []).isEmpty)
      #expect(await world.sandboxWrites().isEmpty)
    }
  }

  @Test("every unset variable is named in one message, with its line and key")
  func allMissingVariablesAtOnce() throws {
    let dir = try TempDirectory()
    var env: [String: String] = ["ETL_STAGING_ROOT": dir.file("staging")]
    for name in Self.nightlyVariables { env[name] = "" }
    let r = try CLIProcess.run(
      ["check", "--pipeline", EndToEndWorld.pipeline("nightly")], environment: env, directory: dir.path)
    #expect(r.status == 2, "\(r.output)")
    #expect(r.stderr.contains("8 environment variables are not set"), "\(r.stderr)")
    for name in Self.nightlyVariables { #expect(r.stderr.contains(name), "\(name) not named: \(r.stderr)") }
    #expect(r.stderr.contains("sources.postgres.url"))
    #expect(!r.stderr.contains(":-default"), "suggests a default for a secret")
    // extract only needs the sources' variables.
    var sourcesOnly = env
    sourcesOnly["CHARTMOGUL_API_KEY"] = nil
    let e = try CLIProcess.run(
      ["extract", "--pipeline", EndToEndWorld.pipeline("nightly")], environment: env, directory: dir.path)
    #expect(e.status == 2)
    #expect(e.stderr.contains("6 environment variables are not set"), "\(e.stderr)")
    #expect(!e.stderr.contains("CHARTMOGUL_DATA_SOURCE_ID"))
  }

  @Test("a validate.fx rate missing for a plan currency is found before anything runs, not after the load")
  func missingRateFoundFirst() throws {
    let dir = try TempDirectory()
    try dir.write("exports/cashier.ndjson", ExitCodeTests.record(id: "TX-1", date: "2026-11-02T10:00:00Z") + "\n")
    try dir.write(
      "fx.yaml",
      """
      name: fx
      staging_root: staging
      sources:
        files:
          - { format: ndjson, kind: cashier.transaction, path: exports/cashier.ndjson }
      transform:
        plan_mapping:
          plan_growth_egp: { name: Growth, currency: EGP, interval: month }
      destination:
        chartmogul: { api_key: k, api_url: "http://127.0.0.1:1", data_source_uuid: ds_x }
      validate:
        reporting_currency: USD
        fx: { EUR: 1.08 }
      """)
    let r = try CLIProcess.run(["check", "--pipeline", "fx.yaml", "--offline"], directory: dir.path)
    #expect(r.status == 2, "\(r.output)")
    #expect(r.stderr.contains("validate.fx"))
    #expect(r.stderr.contains("EGP"))
    let runs = (try? FileManager.default.contentsOfDirectory(atPath: dir.file("staging/fx/runs"))) ?? []
    #expect(runs.isEmpty)
  }
}

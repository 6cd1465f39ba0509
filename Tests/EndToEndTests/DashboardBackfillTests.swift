import ETLTestSupport
import Foundation
import RevenueCore
import Staging
import Testing

/// Backfills from the files the gateways' dashboards really export (docs/docs/gateways "Dashboard
/// exports"), through the real CLI with the built-in sandbox standing in for ChartMogul.
@Suite("End to end: dashboard-export backfills and test-mode rehearsals", .serialized)
struct DashboardBackfillTests {
  static let clean = ["CHARTMOGUL_API_KEY": "", "CHARTMOGUL_API_URL": "", "CHARTMOGUL_DATA_SOURCE_ID": ""]

  func workingFolder() throws -> TempDirectory {
    let dir = try TempDirectory(prefix: "e2e-dashboard")
    try FileManager.default.createSymbolicLink(
      atPath: dir.file("fixtures"), withDestinationPath: EndToEndWorld.repository + "/fixtures")
    return dir
  }

  func transformFile(_ dir: TempDirectory, _ pipeline: String, _ id: String, _ name: String) throws -> [JSONValue] {
    let run = try StagingArea(stagingRoot: dir.file("staging"), pipeline: pipeline).existingRun(id)
    let path = run.file("transform", name)
    return FileSystem.exists(path) ? try Staged.lines(path) : []
  }

  @Test(
    "Stripe dashboard exports + a German PayPal download: customers, invoices and MRR as expected, validate within 0.1 %, exit 0"
  )
  func stripeDashboardAndGermanPayPal() async throws {
    let dir = try workingFolder()
    let r = try await EndToEndCLI.run(
      ["run", "--pipeline", EndToEndWorld.pipeline("backfill-stripe-dashboard"), "--no-progress"],
      environment: Self.clean,
      directory: dir.path)
    try #require(r.status == 0, "\(r.transcript)")
    #expect(r.stdout.contains("passed: max variance"), "\(r.transcript)")
    #expect(!r.stdout.contains("yields no subscription MRR"))
    // MRR per month (validate's table): Ben's yearly Growth net of tax (453.70 / 12) from June,
    // Klara's 45.00 EUR (× 1.08) from October, Ana's Growth 49.00 and Cara's Starter 19.00 in November.
    #expect(r.stdout.contains("2026-06  local 37.81 USD  ChartMogul 37.81"), "\(r.transcript)")
    #expect(r.stdout.contains("2026-10  local 86.41 USD  ChartMogul 86.41"), "\(r.transcript)")
    #expect(r.stdout.contains("2026-11  local 154.41 USD  ChartMogul 154.41"), "\(r.transcript)")
    let id = try #require(r.runID)
    let name = "backfill-stripe-dashboard"
    // Ana, Ben, Cara, Dan (Stripe) and Klara, Jonas (PayPal); the guest customer row is skipped.
    let customers = try transformFile(dir, name, id, "customers.ndjson")
    #expect(
      Set(customers.compactMap { $0["email"]?.stringValue }) == [
        "ana.dash@example.com", "ben.dash@example.com", "cara.dash@example.com", "dan.dash@example.com",
        "klara.vogel@example.de", "jonas@weber-it.example",
      ])
    let invoices = try transformFile(dir, name, id, "invoices.ndjson").map { try InvoiceRecord(json: $0) }
    let byID = Dictionary(uniqueKeysWithValues: invoices.map { ($0.externalID, $0) })
    #expect(invoices.count == 7, "\(invoices.map(\.externalID))")
    // The payment row and its invoice row are one invoice with the subscription and period.
    let ana = try #require(invoices.first { $0.lineItems.first?.subscriptionExternalID == "stripe_sub_1QdashAna00001" })
    #expect(ana.lineItems[0].amountInCents == 4900 && ana.lineItems[0].planExternalID == "growth_usd_1month")
    #expect(ana.lineItems[0].servicePeriodStart == Timestamp.parse("2026-11-20T09:00:00Z"))
    #expect(ana.lineItems[0].servicePeriodEnd == Timestamp.parse("2026-12-20T09:00:00Z"))
    let ben = try #require(invoices.first { $0.lineItems.first?.subscriptionExternalID == "stripe_sub_1QdashBen00002" })
    #expect(ben.lineItems[0].amountInCents == 49000 && ben.lineItems[0].taxAmountInCents == 3630)
    #expect(ben.lineItems[0].planExternalID == "growth_usd_1year")
    let cara = invoices.filter { $0.lineItems.first?.subscriptionExternalID?.hasPrefix("stripe_sub_1QdashCar") == true }
    #expect(cara.map { $0.lineItems[0].amountInCents } == [1900])
    // The one-time workshop with its 200.00 refund (no invoice: not a subscription).
    let dan = try #require(invoices.first { $0.lineItems.first?.amountInCents == 120_000 })
    #expect(
      dan.lineItems[0].type == .oneTime
        && dan.transactions.contains { $0.type == .refund && $0.amountInCents == 20_000 })
    // German subscription payments (Abonnementzahlung, MESZ then MEZ) and a Website-Zahlung.
    let klara = invoices.filter { $0.lineItems.first?.subscriptionExternalID == "paypal_I-DASHDE00KLARA" }
    #expect(klara.map(\.date) == [Timestamp.parse("2026-10-20T12:59:48Z")!, Timestamp.parse("2026-11-20T12:59:48Z")!])
    #expect(klara.allSatisfy { $0.currency == "EUR" && $0.lineItems[0].amountInCents == 4500 })
    let jonas = try #require(byID["paypal_2UF45390RM118833K"])
    #expect(jonas.lineItems[0].amountInCents == 118_800 && jonas.date == Timestamp.parse("2026-11-25T08:12:03Z"))
    // Nothing rejected; what moved no money is skipped, each with its reason.
    let manifest = try #require(
      try StagingArea(stagingRoot: dir.file("staging"), pipeline: name).existingRun(id).manifest("transform"))
    #expect(manifest.accounting.rejected == 0)
    let skipped = try transformFile(dir, name, id, "skipped.ndjson").compactMap { $0["code"]?.stringValue }
    #expect(skipped.filter { $0 == "no_money_moved" }.count == 2)
    #expect(skipped.contains("guest_customer") && skipped.contains("failed_payment") && skipped.contains("not_paid"))
    #expect(skipped.contains("pending_payment") && skipped.contains("not_revenue"))
  }

  @Test("a wrong date_format is refused before anything is staged, naming the rows and the order the file reads in")
  func wrongDateFormatRefused() async throws {
    let dir = try workingFolder()
    var env = Self.clean
    env["PAYPAL_DATE_FORMAT"] = "MM/DD/YYYY"
    let r = try await EndToEndCLI.run(
      ["extract", "--pipeline", EndToEndWorld.pipeline("backfill-stripe-dashboard")], environment: env,
      directory: dir.path)
    #expect(r.status != 0, "\(r.transcript)")
    #expect(r.stderr.contains("date_format MM/DD/YYYY contradicts the file"), "\(r.transcript)")
    #expect(r.stderr.contains("line 2 '20.10.2026'") && r.stderr.contains("DD.MM.YYYY"), "\(r.transcript)")
    let area = try StagingArea(stagingRoot: dir.file("staging"), pipeline: "backfill-stripe-dashboard")
    for id in try area.runIDs() { #expect(try area.existingRun(id).manifest("extract") == nil) }
  }

  func rehearsalPipeline(_ dir: TempDirectory, include: Bool?, allow: Bool?) throws -> String {
    let t = "fixtures/exports/stripe/test-mode"
    var yaml = """
      name: rehearsal
      staging_root: staging
      sources:
        files:
          - { format: stripe-payments-csv, path: \(t)/unified_payments.csv }
          - { format: ndjson, kind: stripe.refund, path: \(t)/refunds.ndjson }
      transform:
        unmapped_plans: reject

      """
    if let include { yaml += "  include_test_data: \(include)\n" }
    yaml += """
      destination:
        chartmogul:
          api_key: ${CHARTMOGUL_API_KEY}
          api_url: ${CHARTMOGUL_API_URL}
          data_source_uuid: ${CHARTMOGUL_DATA_SOURCE_ID}

      """
    if let allow { yaml += "    allow_test_data: \(allow)\n" }
    yaml += "  sandbox:\n    enabled: true\n    state_file: staging/rehearsal/sandbox.json\n"
    return try dir.write("rehearsal-\(include.map(String.init) ?? "-")-\(allow.map(String.init) ?? "-").yaml", yaml)
  }

  @Test("a test-mode rehearsal loads into the sandbox only with the switch, and never without allow_test_data")
  func rehearsal() async throws {
    let dir = try workingFolder()
    // Without the switch: test-mode payments and the refund of one are skipped, the run exits 0.
    let off = try await EndToEndCLI.run(
      ["run", "--pipeline", try rehearsalPipeline(dir, include: nil, allow: nil), "--no-progress"],
      environment: Self.clean,
      directory: dir.path)
    try #require(off.status == 0, "\(off.transcript)")
    let offID = try #require(off.runID)
    #expect(try transformFile(dir, "rehearsal", offID, "invoices.ndjson").isEmpty)
    let offSkips = try transformFile(dir, "rehearsal", offID, "skipped.ndjson").compactMap { $0["code"]?.stringValue }
    #expect(offSkips.filter { $0 == "test_data" }.count == 3, "\(offSkips)")  // two payments and the refund
    #expect(!offSkips.contains("refund_without_payment"))

    // The switch without allow_test_data is refused as a configuration error, before anything runs.
    let refused = try await EndToEndCLI.run(
      ["run", "--pipeline", try rehearsalPipeline(dir, include: true, allow: nil), "--no-progress"],
      environment: Self.clean,
      directory: dir.path)
    #expect(refused.status == 2, "\(refused.transcript)")
    #expect(refused.stderr.contains("allow_test_data"), "\(refused.transcript)")

    // Both: the test-mode payments reach the sandbox, with a warning in the summary.
    let on = try await EndToEndCLI.run(
      ["run", "--pipeline", try rehearsalPipeline(dir, include: true, allow: true), "--no-progress"],
      environment: Self.clean,
      directory: dir.path)
    try #require(on.status == 0, "\(on.transcript)")
    #expect(on.stdout.contains("warning: transform.include_test_data is true"), "\(on.transcript)")
    #expect(on.stdout.contains("warning: this run's transform included test-mode records"), "\(on.transcript)")
    let onID = try #require(on.runID)
    let invoices = try transformFile(dir, "rehearsal", onID, "invoices.ndjson").map { try InvoiceRecord(json: $0) }
    #expect(invoices.count == 2)
    #expect(invoices.flatMap(\.transactions).contains { $0.type == .refund && $0.amountInCents == 1000 })
    let run = try StagingArea(stagingRoot: dir.file("staging"), pipeline: "rehearsal").existingRun(onID)
    #expect((try run.manifest("load")?.accounting.output ?? 0) > 0)
    // And a pipeline without the switch cannot load that run's test data.
    let reload = try await EndToEndCLI.run(
      ["load", "--pipeline", try rehearsalPipeline(dir, include: nil, allow: nil), "--run-id", onID],
      environment: Self.clean,
      directory: dir.path)
    #expect(reload.status == 2 && reload.stderr.contains("allow_test_data"), "\(reload.transcript)")
  }

  @Test(
    "the PayPal activity download in each language PayPal offers reads like the English one",
    arguments: ["de", "fr", "es", "it", "nl", "pl", "pt"])
  func paypalLanguage(code: String) async throws {
    let dir = try workingFolder()
    let file = code == "de" ? "activity-de.csv" : "activity-\(code).csv"
    let yaml = """
      name: lang-\(code)
      staging_root: staging
      sources:
        files:
          - { format: paypal-activity-csv, path: fixtures/exports/paypal/locales/\(file), decimal: comma }
      transform:
        plan_mapping:
          "Growth (monthly, EUR)": { name: Growth, currency: EUR, interval: month }

      """
    let path = try dir.write("lang.yaml", yaml)
    let ex = try await EndToEndCLI.run(["extract", "--pipeline", path], environment: Self.clean, directory: dir.path)
    try #require(ex.status == 0, "\(ex.transcript)")
    let tr = try await EndToEndCLI.run(["transform", "--pipeline", path], environment: Self.clean, directory: dir.path)
    try #require(tr.status == 0, "\(tr.transcript)")
    let id = try #require(tr.runID)
    let invoices = try transformFile(dir, "lang-\(code)", id, "invoices.ndjson").map { try InvoiceRecord(json: $0) }
    let subs = invoices.filter { $0.lineItems.first?.type == .subscription }
    try #require(!subs.isEmpty, "\(tr.transcript)")
    #expect(
      subs.allSatisfy {
        $0.currency == "EUR" && $0.lineItems[0].amountInCents == 4500
          && $0.lineItems[0].planExternalID == "growth_eur_1month"
      })
    if code != "de" {
      // The refund (Payment Refund in the file's words) is on its payment; the pending row is skipped.
      #expect(subs[0].transactions.contains { $0.type == .refund && $0.amountInCents == 4500 })
      let skipped = try transformFile(dir, "lang-\(code)", id, "skipped.ndjson").compactMap { $0["code"]?.stringValue }
      #expect(skipped.contains("not_revenue") || skipped.contains("pending_payment"), "\(skipped)")
    }
  }
}

import ETLTestSupport
import Foundation
import PostgresClient
import RevenueCore
import Sandbox
import Staging

/// One scenario's real components: a seeded and migrated PostgreSQL database, an in-process
/// ChartMogul sandbox (it lives in the test process, so it survives the CLI being killed), and a
/// working folder with a pipeline that reads the app database plus every committed export file.
final class ReliabilityWorld: @unchecked Sendable {
  // Immutable after `start`.
  let dir: TempDirectory
  /// The shared server's test database (nil on a `PrivatePostgres`).
  let testDatabase: TestDatabase?
  let db: AppDatabase
  let sandbox: SandboxHarness
  var environment: [String: String]
  static let pipelineName = "rel"

  private init(dir: TempDirectory, db: TestDatabase?, sandbox: SandboxHarness, databaseURL: String) {
    self.dir = dir
    self.testDatabase = db
    self.db = AppDatabase(url: databaseURL)
    self.sandbox = sandbox
    environment = [
      "DATABASE_URL": databaseURL,
      "CHARTMOGUL_API_KEY": sandbox.apiKey, "CHARTMOGUL_API_URL": sandbox.baseURL,
      "CHARTMOGUL_DATA_SOURCE_ID": sandbox.dataSourceUUID,
      "CHARTMOGUL_SYNC_BATCH_SIZE": "", "CHARTMOGUL_SYNC_ENABLED": "", "ALERT_WEBHOOK_URL": "",
    ]
  }

  /// A fresh world. `databaseURL` overrides the database (the private server of the restart tests).
  static func start(
    faults: SandboxFaults = .none, db: TestDatabase? = nil, databaseURL: String? = nil, files: Bool = true,
    apiKey: String? = nil, pipeline: String? = nil
  ) async throws -> ReliabilityWorld {
    let dir = try TempDirectory(prefix: "rel")
    let database = databaseURL != nil && db == nil ? nil : try db ?? TestDatabase.create(seeded: true)
    var options = SandboxOptions()
    options.faults = faults
    options.apiKey = apiKey
    let sandbox = try await SandboxHarness.start(options: options)
    let world = ReliabilityWorld(dir: dir, db: database, sandbox: sandbox, databaseURL: databaseURL ?? database!.url)
    try dir.write("pipeline.yaml", pipeline ?? pipelineText(files: files))
    let migrate = try await world.cli(["migrate", "--database-url", world.db.url])
    guard migrate.status == 0 else { throw TestDatabaseError("migrate failed: \(migrate.output)") }
    return world
  }

  func stop() async {
    await sandbox.stop()
    testDatabase?.drop()
  }

  static let exportFiles = """
        - { format: stripe-customers-csv,     path: \(RepositoryPaths.fixture("exports/stripe/customers.csv")) }
        - { format: stripe-subscriptions-csv, path: \(RepositoryPaths.fixture("exports/stripe/subscriptions.csv")) }
        - { format: stripe-payments-csv,      path: \(RepositoryPaths.fixture("exports/stripe/payments.csv")) }
        - { format: stripe-refunds-csv,       path: \(RepositoryPaths.fixture("exports/stripe/refunds.csv")) }
        - { format: paypal-activity-csv,      path: \(RepositoryPaths.fixture("exports/paypal/activity-usd.csv")), date_format: MM/DD/YYYY }
        - { format: paypal-activity-csv,      path: \(RepositoryPaths.fixture("exports/paypal/activity-eur.csv")), date_format: DD.MM.YYYY, decimal: comma }
        - { format: cashier-csv,              path: "\(RepositoryPaths.fixture("exports/cashier"))/*.csv" }
    """

  static let planMapping = """
      plan_mapping:
        price_starter_usd:       { name: Starter, currency: USD, interval: month }
        price_growth_usd:        { name: Growth,  currency: USD, interval: month }
        price_growth_usd_yearly: { name: Growth,  currency: USD, interval: year }
        plan_starter_egp:        { name: Starter, currency: EGP, interval: month }
        plan_growth_egp:         { name: Growth,  currency: EGP, interval: month }
        plan_growth_egp_yearly:  { name: Growth,  currency: EGP, interval: year }
        P-STARTER-USD:           { name: Starter, currency: USD, interval: month }
        P-GROWTH-EUR:            { name: Growth,  currency: EUR, interval: month }
        P-GROWTH-USD-YEARLY:     { name: Growth,  currency: USD, interval: year }
        "Starter (monthly)":     { name: Starter, currency: USD, interval: month }
        "Growth (monthly, EUR)": { name: Growth,  currency: EUR, interval: month }
        "Growth (yearly)":       { name: Growth,  currency: USD, interval: year }
    """

  static func pipelineText(files: Bool, extraSources: String = "", destinationExtra: String = "") -> String {
    """
    name: \(pipelineName)
    staging_root: staging
    sources:
      postgres:
        url: ${DATABASE_URL}
    \(files ? "  files:\n" + exportFiles : "")
    \(extraSources)
    transform:
    \(planMapping)
      unmapped_plans: reject
      merge_customers_by_email: true
    destination:
      chartmogul:
        api_key: ${CHARTMOGUL_API_KEY}
        api_url: ${CHARTMOGUL_API_URL}
        data_source_uuid: ${CHARTMOGUL_DATA_SOURCE_ID}
    \(destinationExtra)
    validate:
      reporting_currency: USD
      fx: { EGP: 0.0205, EUR: 1.08 }
    """
  }

  var area: StagingArea {
    get throws { try StagingArea(stagingRoot: dir.file("staging"), pipeline: Self.pipelineName) }
  }
  func run(_ id: String) throws -> RunFolder { try RunFolder(area: try area, id: id) }

  func cli(_ arguments: [String], extra: [String: String] = [:]) async throws -> CLIProcess.Result {
    try await RelCLI.run(arguments, environment: environment.merging(extra) { _, n in n }, directory: dir.path)
  }

  func start(_ arguments: [String], tag: String) throws -> Process {
    try CLIProcess.start(arguments, environment: environment, directory: dir.path, outputPrefix: dir.file(".\(tag)"))
  }

  func output(tag: String) -> String {
    ((try? String(contentsOfFile: dir.file(".\(tag).out"), encoding: .utf8)) ?? "")
      + ((try? String(contentsOfFile: dir.file(".\(tag).err"), encoding: .utf8)) ?? "")
  }

  // MARK: - Comparable state

  /// Name, line count and SHA-256 of every file of a published stage (nil: not published).
  func stagedFiles(_ id: String, _ stage: String) throws -> [String]? {
    guard let m = try run(id).manifest(stage) else { return nil }
    return m.files.map { "\($0.name) \($0.lines) \($0.sha256)" }.sorted()
  }

  /// The app database's sync tracking, without ChartMogul's uuids (they differ between sandboxes)
  /// but with their presence, plus a check that no uuid is shared by two rows.
  func writeBackState() throws -> [String] {
    var out: [String] = []
    for row in try db.query(
      """
      SELECT gateway, gateway_transaction_id, (chartmogul_synced_at IS NOT NULL)::text AS synced,
             (chartmogul_invoice_uuid IS NOT NULL)::text AS invoice, (chartmogul_customer_uuid IS NOT NULL)::text AS customer,
             coalesce(chartmogul_sync_error, '') AS error, coalesce(chartmogul_sync_attempts, 0)::text AS attempts,
             chartmogul_refund_synced_cents::text AS refunded
      FROM transactions ORDER BY 1, 2
      """)
    {
      out.append(
        "tx "
          + ["gateway", "gateway_transaction_id", "synced", "invoice", "customer", "error", "attempts", "refunded"]
          .map { (row[$0] ?? nil) ?? "NULL" }.joined(separator: " | "))
    }
    for row in try db.query(
      "SELECT gateway_subscription_id, (chartmogul_cancelled_at IS NOT NULL)::text AS cancelled FROM subscriptions ORDER BY 1"
    ) {
      out.append("sub \((row["gateway_subscription_id"] ?? nil) ?? "NULL") \((row["cancelled"] ?? nil) ?? "")")
    }
    for row in try db.query(
      "SELECT sync_type, records_synced::text AS s, records_failed::text AS f FROM chartmogul_sync_status ORDER BY 1, 2, 3"
    ) {
      out.append("status \((row["sync_type"] ?? nil) ?? "") \((row["s"] ?? nil) ?? "") \((row["f"] ?? nil) ?? "")")
    }
    return out
  }

  /// Rows sharing one ChartMogul invoice uuid (0 when every confirmed transaction has its own).
  func duplicatedInvoiceUUIDs() throws -> Int {
    Int(
      try db.scalar(
        "SELECT count(*) - count(DISTINCT chartmogul_invoice_uuid) FROM transactions WHERE chartmogul_invoice_uuid IS NOT NULL"
      )
        ?? "0") ?? 0
  }
}

/// Queries on the app database of a world (shared test server or private one).
struct AppDatabase: Sendable {
  let url: String
  func execute(_ sql: String) throws { try PostgresConnection(url: url).execute(sql, name: "test SQL") }
  func query(_ sql: String, _ parameters: [String?] = []) throws -> [[String: String?]] {
    try PostgresConnection(url: url).query(sql, name: "test query", parameters: parameters).dictionaries
  }
  func scalar(_ sql: String, _ parameters: [String?] = []) throws -> String? {
    try PostgresConnection(url: url).query(sql, name: "test query", parameters: parameters).rows.first?.first ?? nil
  }
}

/// Compares a scenario's final state with a reference run's; counts what was lost or duplicated.
struct FinalState: Equatable {
  var extract: [String]?
  var transform: [String]?
  var sandbox: JSONValue
  var writeBack: [String]

  static func capture(_ world: ReliabilityWorld, run id: String) async throws -> FinalState {
    try await world.sandbox.waitForImports(timeout: 30)
    return FinalState(
      extract: try world.stagedFiles(id, "extract"), transform: try world.stagedFiles(id, "transform"),
      sandbox: await world.sandbox.snapshot(), writeBack: try world.writeBackState())
  }

  /// Records in the sandbox per list, counted by external id: (missing vs reference, extra copies).
  static func lostAndDuplicated(_ state: JSONValue, reference: JSONValue) -> (lost: Int, duplicated: Int) {
    var lost = 0
    var duplicated = 0
    for field in reference.objectValue?.fields ?? [] {
      let want = Self.keys(field.value)
      let have = Self.keys(state[field.key] ?? .null)
      for (k, n) in want { lost += max(0, n - (have[k] ?? 0)) }
      for (k, n) in have { duplicated += max(0, n - (want[k] ?? 0)) }
    }
    return (lost, duplicated)
  }

  private static func keys(_ v: JSONValue) -> [String: Int] {
    var out: [String: Int] = [:]
    for item in v.arrayValue ?? [] {
      let key = item["external_id"]?.scalarText ?? JSONWriter.string(item)
      out[key, default: 0] += 1
    }
    return out
  }
}

enum RelCLI {
  /// Runs the CLI to completion without blocking a concurrency thread (the sandbox it talks to runs
  /// in this process and needs those threads).
  static func run(_ arguments: [String], environment: [String: String], directory: String) async throws
    -> CLIProcess.Result
  {
    let prefix = directory + "/.cli-\(UUID().uuidString)"
    let p = try CLIProcess.start(arguments, environment: environment, directory: directory, outputPrefix: prefix)
    try await waitForExit(p)
    let out = (try? String(contentsOfFile: prefix + ".out", encoding: .utf8)) ?? ""
    let err = (try? String(contentsOfFile: prefix + ".err", encoding: .utf8)) ?? ""
    try? FileManager.default.removeItem(atPath: prefix + ".out")
    try? FileManager.default.removeItem(atPath: prefix + ".err")
    return CLIProcess.Result(status: p.terminationStatus, stdout: out, stderr: err)
  }

  static func waitForExit(_ p: Process) async throws {
    while p.isRunning { try await Task.sleep(nanoseconds: 10_000_000) }
    p.waitUntilExit()
  }

  /// Kills `p` with SIGKILL after `seconds` unless it already finished; true when it was killed.
  static func kill(_ p: Process, after seconds: Double) async throws -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while p.isRunning && Date() < deadline { try await Task.sleep(nanoseconds: 2_000_000) }
    guard p.isRunning else { return false }
    Foundation.kill(p.processIdentifier, SIGKILL)
    try await waitForExit(p)
    return p.terminationReason == .uncaughtSignal
  }
}

extension CLIProcess.Result {
  var transcript: String { "exit \(status)\n--- stdout\n\(stdout)\n--- stderr\n\(stderr)" }
}

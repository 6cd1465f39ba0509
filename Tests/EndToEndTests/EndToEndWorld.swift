import ETLTestSupport
import Foundation
import RevenueCore
import Staging

/// Everything one end-to-end scenario talks to, each a real component: a PostgreSQL database seeded
/// from `fixtures/app/seed.sql`, loopback Stripe / PayPal / Cashier APIs serving `fixtures/gateways`,
/// a ChartMogul sandbox, and a working folder the CLI runs in (its `staging/` lives there).
///
/// The CLI is the built binary, started as a separate process with the environment a cron job
/// would give it (`environment`), so `pipelines/nightly.yaml` is used exactly as committed.
final class EndToEndWorld: @unchecked Sendable {
  // Immutable after `start`.
  let dir: TempDirectory
  let db: TestDatabase
  let stripe: FixtureServer
  let paypal: FixtureServer
  let cashier: FixtureServer
  let sandbox: SandboxHarness
  let environment: [String: String]

  static var repository: String { RepositoryPaths.root }
  static func pipeline(_ name: String) -> String { repository + "/pipelines/\(name).yaml" }

  private init(
    dir: TempDirectory, db: TestDatabase, stripe: FixtureServer, paypal: FixtureServer, cashier: FixtureServer,
    sandbox: SandboxHarness
  ) {
    self.dir = dir
    self.db = db
    self.stripe = stripe
    self.paypal = paypal
    self.cashier = cashier
    self.sandbox = sandbox
    let paypalOptions = PayPalFixtureServer.Options()
    environment = [
      "DATABASE_URL": db.url,
      "STRIPE_API_KEY": StripeFixtureServer.Options().apiKey, "STRIPE_API_URL": stripe.baseURL,
      "PAYPAL_CLIENT_ID": paypalOptions.clientID, "PAYPAL_CLIENT_SECRET": paypalOptions.clientSecret,
      "PAYPAL_API_URL": paypal.baseURL,
      "CASHIER_API_KEY": CashierFixtureServer.apiKey, "CASHIER_API_URL": cashier.baseURL,
      "CHARTMOGUL_API_KEY": sandbox.apiKey, "CHARTMOGUL_API_URL": sandbox.baseURL,
      "CHARTMOGUL_DATA_SOURCE_ID": sandbox.dataSourceUUID,
      "ETL_STAGING_ROOT": dir.file("staging"),
      // The fixture PayPal has no 30-a-minute limit: 35 monthly windows in a second, not 70.
      "PAYPAL_REQUESTS_PER_SECOND": "50",
      // Whatever the developer's shell holds, these runs are unbounded, enabled and silent.
      "CHARTMOGUL_SYNC_BATCH_SIZE": "", "CHARTMOGUL_SYNC_ENABLED": "", "ALERT_WEBHOOK_URL": "",
      "ETL_SINCE": "", "BACKFILL_DIR": "",
    ]
  }

  /// Creates and seeds a database and starts every server.
  static func start() async throws -> EndToEndWorld {
    let dir = try TempDirectory(prefix: "e2e")
    let db = try TestDatabase.create(seeded: true)
    let stripe = try await StripeFixtureServer.start()
    let paypal = try await PayPalFixtureServer.start()
    let cashier = try await CashierFixtureServer.start()
    let sandbox = try await SandboxHarness.start()
    return EndToEndWorld(dir: dir, db: db, stripe: stripe, paypal: paypal, cashier: cashier, sandbox: sandbox)
  }

  /// Starts a world, runs `body` in it and stops it whether `body` succeeds or throws.
  static func with(_ body: (EndToEndWorld) async throws -> Void) async throws {
    let world = try await start()
    do {
      try await body(world)
    } catch {
      await world.stop()
      throw error
    }
    await world.stop()
  }

  func stop() async {
    await stripe.stop()
    await paypal.stop()
    await cashier.stop()
    await sandbox.stop()
    db.drop()
  }

  /// Runs `chartmogul-etl <arguments>` in the working folder (see `EndToEndCLI.run`).
  func cli(_ arguments: [String], extra: [String: String] = [:], directory: String? = nil) async throws
    -> CLIProcess.Result
  {
    try await EndToEndCLI.run(
      arguments, environment: environment.merging(extra) { _, new in new }, directory: directory ?? dir.path)
  }

  /// The nightly pipeline's staging folder.
  func area(_ pipeline: String = "nightly") throws -> StagingArea {
    try StagingArea(stagingRoot: dir.file("staging"), pipeline: pipeline)
  }

  /// Requests the sandbox received since the last reset that could change its data.
  func sandboxWrites() async -> [String: Int] {
    await sandbox.server.requestCounts().filter { !$0.key.hasPrefix("GET ") && $0.value > 0 }
  }
}

enum EndToEndCLI {
  /// Runs the CLI binary to completion without blocking a concurrency thread: the servers it talks to
  /// run in this test process and need those threads while it waits.
  static func run(_ arguments: [String], environment: [String: String], directory: String) async throws
    -> CLIProcess.Result
  {
    let prefix = directory + "/.cli-\(UUID().uuidString)"
    let p = try CLIProcess.start(arguments, environment: environment, directory: directory, outputPrefix: prefix)
    while p.isRunning { try await Task.sleep(nanoseconds: 20_000_000) }
    p.waitUntilExit()
    let out = (try? String(contentsOfFile: prefix + ".out", encoding: .utf8)) ?? ""
    let err = (try? String(contentsOfFile: prefix + ".err", encoding: .utf8)) ?? ""
    try? FileManager.default.removeItem(atPath: prefix + ".out")
    try? FileManager.default.removeItem(atPath: prefix + ".err")
    return CLIProcess.Result(status: p.terminationStatus, stdout: out, stderr: err)
  }
}

extension CLIProcess.Result {
  /// The run id from the `run folder: …/<id>` line every stage command prints.
  var runID: String? {
    let marker = "run folder: "
    guard let line = stdout.split(separator: "\n").last(where: { $0.hasPrefix(marker) }) else { return nil }
    return line.split(separator: "/").last.map(String.init)
  }

  /// `stdout` + `stderr`, for failure messages.
  var transcript: String { "exit \(status)\n--- stdout\n\(stdout)\n--- stderr\n\(stderr)" }
}

/// Small readers of staged files.
enum Staged {
  /// Every line of a staged NDJSON file, parsed.
  static func lines(_ path: String) throws -> [JSONValue] {
    var out: [JSONValue] = []
    try NDJSONReader(path: path).forEachValue { v, _ in out.append(try v.get()) }
    return out
  }

  static func bytes(_ path: String) -> [UInt8] {
    FileManager.default.contents(atPath: path).map { [UInt8]($0) } ?? []
  }

  /// File name → contents of every file in a folder.
  static func folder(_ path: String) throws -> [String: [UInt8]] {
    var out: [String: [UInt8]] = [:]
    for name in try FileManager.default.contentsOfDirectory(atPath: path) { out[name] = bytes(path + "/" + name) }
    return out
  }
}

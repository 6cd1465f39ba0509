import AppDatabase
import ETLTestSupport
import Foundation
import PostgresClient
import RevenueCore
import Staging
import Testing

/// secrets never leak, staged data is private, paths cannot escape, SQL stays SQL.
@Suite("Security: secrets, permissions, paths, SQL")
struct SecurityTests {
  /// One distinctive value per credential slot.
  static let secrets = [
    "chartmogul": "cmkey_RELSECRET_a1b2c3d4", "db_password": "dbpw_RELSECRET_e5f6g7h8",
    "stripe": "sk_live_RELSECRET_i9j0k1l2", "paypal_id": "ppid_RELSECRET_m3n4o5p6",
    "paypal_secret": "ppsec_RELSECRET_q7r8s9t0", "cashier": "cashier_RELSECRET_u1v2w3x4",
  ]

  /// Every form a secret could take in text: itself, percent-encoded, and the stable prefix of any
  /// Basic-auth header built from it (`base64("<secret>:…")`).
  static func forms(_ secret: String) -> [String] {
    let b64 = Data((secret + ":").utf8).base64EncodedString()
    var out = [secret, b64, String(b64.prefix(secret.utf8.count / 3 * 4))]
    if let pct = secret.addingPercentEncoding(withAllowedCharacters: .alphanumerics), pct != secret { out.append(pct) }
    return out
  }

  /// Every regular file under `root`, recursively.
  static func files(under root: String) -> [String] {
    var out: [String] = []
    let e = FileManager.default.enumerator(atPath: root)
    while let rel = e?.nextObject() as? String {
      let p = root + "/" + rel
      var isDir: ObjCBool = false
      if FileManager.default.fileExists(atPath: p, isDirectory: &isDir), !isDir.boolValue { out.append(p) }
    }
    return out
  }

  @Test("with a distinctive secret in every credential slot, no produced file and no output holds any form of one")
  func secretsNeverLeak() async throws {
    let s = Self.secrets
    var stripeOptions = StripeFixtureServer.Options()
    stripeOptions.apiKey = s["stripe"]!
    var paypalOptions = PayPalFixtureServer.Options()
    paypalOptions.clientID = s["paypal_id"]!
    paypalOptions.clientSecret = s["paypal_secret"]!
    let stripe = try await StripeFixtureServer.start(stripeOptions)
    let paypal = try await PayPalFixtureServer.start(paypalOptions)
    let cashier = try await CashierFixtureServer.start(apiKey: s["cashier"]!)
    let db = try TestDatabase.create(seeded: true)
    let withPassword = db.url.replacingOccurrences(of: "postgres@", with: "postgres:\(s["db_password"]!)@")
    #expect(withPassword != db.url)
    let gateways = """
        stripe:  { api_key: "${STRIPE_API_KEY}", api_url: "\(stripe.baseURL)", since: 2024-01-01 }
        paypal:  { client_id: "${PAYPAL_CLIENT_ID}", client_secret: "${PAYPAL_CLIENT_SECRET}", api_url: "\(paypal.baseURL)", since: 2024-01-01 }
        cashier: { api_key: "${CASHIER_API_KEY}", api_url: "\(cashier.baseURL)", since: 2024-01-01 }
      """
    let world = try await ReliabilityWorld.start(
      db: db, databaseURL: withPassword, apiKey: s["chartmogul"]!,
      pipeline: ReliabilityWorld.pipelineText(files: true, extraSources: gateways))
    world.environment["STRIPE_API_KEY"] = s["stripe"]!
    world.environment["PAYPAL_CLIENT_ID"] = s["paypal_id"]!
    world.environment["PAYPAL_CLIENT_SECRET"] = s["paypal_secret"]!
    world.environment["CASHIER_API_KEY"] = s["cashier"]!
    var outputs: [String] = []
    // The successful path, at the most verbose log level, with the report.
    let ok = try await world.cli([
      "run", "--pipeline", "pipeline.yaml", "--run-id", "ok", "--log-level", "trace", "--report",
    ])
    #expect(ok.status == 0 || ok.status == 1, "\(ok.transcript)")
    #expect(try world.run("ok").isComplete("load"))
    outputs.append(ok.output)
    for command in [["status", "--json"], ["inspect", "load"], ["inspect", "extract"]] {
      outputs.append(try await world.cli([command[0], "--pipeline", "pipeline.yaml"] + command.dropFirst()).output)
    }
    // The failure paths, where messages quote what went wrong: each gateway and ChartMogul refusing a
    // wrong secret (itself distinctive) and an unreachable database.
    let wrong = [
      "CHARTMOGUL_API_KEY": "cmwrong_RELSECRET_y1", "STRIPE_API_KEY": "skwrong_RELSECRET_y2",
      "PAYPAL_CLIENT_SECRET": "ppwrong_RELSECRET_y3", "CASHIER_API_KEY": "cashwrong_RELSECRET_y4",
      "DATABASE_URL": "postgresql://postgres:dbwrong_RELSECRET_y5@127.0.0.1:1/nope",
    ]
    for (variable, value) in wrong.sorted(by: { $0.key < $1.key }) {
      let r = try await world.cli(
        ["run", "--pipeline", "pipeline.yaml", "--run-id", "bad-\(variable.lowercased())", "--log-level", "trace"],
        extra: [variable: value])
      #expect(r.status != 0, "\(variable) wrong: \(r.transcript)")
      outputs.append(r.output)
    }
    let allSecrets =
      Array(s.values) + [
        "cmwrong_RELSECRET_y1", "skwrong_RELSECRET_y2", "ppwrong_RELSECRET_y3",
        "cashwrong_RELSECRET_y4", "dbwrong_RELSECRET_y5",
      ]
    var checked = 0
    var leaks: [String] = []
    let produced = Self.files(under: world.dir.path).filter { !$0.hasSuffix("/pipeline.yaml") }
    #expect(produced.contains { $0.hasSuffix("ledger.ndjson") } && produced.contains { $0.hasSuffix("report.html") })
    let texts =
      produced.map { ($0, String(decoding: FileManager.default.contents(atPath: $0) ?? Data(), as: UTF8.self)) }
      + outputs.enumerated().map { ("output #\($0.offset)", $0.element) }
    for secret in allSecrets {
      for form in Self.forms(secret) {
        for (name, text) in texts {
          checked += 1
          if text.contains(form) { leaks.append("\(name) holds \(form)") }
        }
      }
    }
    #expect(leaks.isEmpty, "\(leaks)")
    // A marker that is not a secret does reach the files, so the scan reads what it should.
    #expect(texts.contains { $0.1.contains("RELSECRET") } == false)
    #expect(texts.contains { $0.1.contains(world.sandbox.dataSourceUUID) })
    await world.stop()
    await stripe.stop()
    await paypal.stop()
    await cashier.stop()
    ReliabilityFigures.add("secrets", ["secrets_checked": checked])
  }

  @Test("staged folders are 0700 and staged files 0600, all the way down")
  func permissions() async throws {
    let world = try await ReliabilityWorld.start()
    let r = try await world.cli(["run", "--pipeline", "pipeline.yaml", "--run-id", "perm"])
    #expect(r.status == 0 || r.status == 1, "\(r.transcript)")
    let root = world.dir.file("staging")
    var walked = 0
    let e = FileManager.default.enumerator(atPath: root)
    while let rel = e?.nextObject() as? String {
      let attrs = try FileManager.default.attributesOfItem(atPath: root + "/" + rel)
      let mode = (attrs[.posixPermissions] as? NSNumber)?.intValue ?? -1
      let isDir = (attrs[.type] as? FileAttributeType) == .typeDirectory
      #expect(mode == (isDir ? 0o700 : 0o600), "\(rel) is \(String(mode, radix: 8))")
      walked += 1
    }
    #expect(walked > 10)
    await world.stop()
  }

  @Test(
    "run ids and pipeline names cannot leave the staging root",
    arguments: ["../evil", "..", "a/b", "/tmp/evil", ".hidden"])
  func pathsStayInside(runID: String) async throws {
    let world = try await ReliabilityWorld.start(files: false)
    let before = Set(try FileManager.default.contentsOfDirectory(atPath: world.dir.path))
    let r = try await world.cli(["extract", "--pipeline", "pipeline.yaml", "--run-id", runID])
    #expect(r.status == 2, "\(r.transcript)")
    #expect(r.stderr.contains("run id"), "\(r.stderr)")
    let after = Set(try FileManager.default.contentsOfDirectory(atPath: world.dir.path)).subtracting(before)
    #expect(after.subtracting(["staging"]).filter { !$0.hasPrefix(".cli-") }.isEmpty, "\(after)")
    #expect(!FileManager.default.fileExists(atPath: world.dir.file("staging/evil")))
    #expect(!FileManager.default.fileExists(atPath: world.dir.file("evil")))
    try world.dir.write("escape.yaml", "name: ../escape\nsources: {}\n")
    let p = try await world.cli(["extract", "--pipeline", "escape.yaml"])
    #expect(p.status == 2, "\(p.transcript)")
    #expect(p.stderr.contains("escape.yaml:1"))
    #expect(!FileManager.default.fileExists(atPath: world.dir.file("escape")))
    await world.stop()
  }

  @Test("record data full of SQL syntax travels as data: extracted verbatim, written back by parameter")
  func sqlStaysSQL() async throws {
    let world = try await ReliabilityWorld.start(files: false)
    let evil = "Robert'); DROP TABLE transactions; -- \"{x,y}\\"
    try world.db.execute(
      "UPDATE users SET name = \(Self.quote(evil)) WHERE id = (SELECT user_id FROM transactions ORDER BY transaction_date LIMIT 1)"
    )
    let countBefore = try world.db.scalar("SELECT count(*) FROM transactions")
    // An override is a whole statement: the default query wrapped, its text used as given.
    try world.dir.write(
      "pipeline.yaml",
      ReliabilityWorld.pipelineText(files: false).replacingOccurrences(
        of: "    url: ${DATABASE_URL}\n",
        with: "    url: ${DATABASE_URL}\n    queries:\n      users: |\n"
          + ("SELECT * FROM (\n" + AppQueries.usersSQL + "\n) AS u -- wrapped by the test")
          .split(separator: "\n", omittingEmptySubsequences: false).map { "        " + $0 }.joined(separator: "\n")
          + "\n"))
    let r = try await world.cli(["run", "--pipeline", "pipeline.yaml", "--run-id", "sql"])
    #expect(r.status == 0 || r.status == 1, "\(r.transcript)")
    #expect(try world.db.scalar("SELECT count(*) FROM transactions") == countBefore)
    let extracted = String(
      decoding: FileManager.default.contents(atPath: try world.run("sql").stagePath("extract") + "/postgres.ndjson")
        ?? Data(),
      as: UTF8.self)
    #expect(extracted.contains(JSONWriter.string(.string(evil))), "the name is staged exactly")
    #expect(try world.db.scalar("SELECT count(*) FROM transactions WHERE chartmogul_synced_at IS NOT NULL") != "0")
    await world.stop()
  }

  static func quote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "''") + "'" }
}

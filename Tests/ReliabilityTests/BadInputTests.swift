import ETLTestSupport
import Foundation
import RevenueCore
import Staging
import Testing

/// every input format gets a corpus of malformed records. Each bad record ends in the
/// rejects (or skipped) with a reason and its place, the good records are processed, the accounting
/// balances and nothing crashes.
@Suite("Bad input: malformed records in every format")
struct BadInputTests {
  struct Format: Sendable, CustomStringConvertible {
    var format: String
    var fixture: String
    var options = ""
    var description: String { format + " " + fixture }
  }

  static let formats = [
    Format(format: "stripe-payments-csv", fixture: "exports/stripe/payments.csv"),
    Format(format: "stripe-customers-csv", fixture: "exports/stripe/customers.csv"),
    Format(format: "stripe-subscriptions-csv", fixture: "exports/stripe/subscriptions.csv"),
    Format(format: "stripe-refunds-csv", fixture: "exports/stripe/refunds.csv"),
    Format(
      format: "paypal-activity-csv", fixture: "exports/paypal/activity-usd.csv", options: ", date_format: MM/DD/YYYY"),
    Format(
      format: "paypal-activity-csv", fixture: "exports/paypal/activity-eur.csv",
      options: ", date_format: DD.MM.YYYY, decimal: comma"),
    Format(format: "cashier-csv", fixture: "exports/cashier/transactions.csv"),
  ]

  /// A malformed copy of a good row: (name, must it be refused, the row's bytes).
  typealias Mutation = (name: String, refused: Bool, bytes: [UInt8])

  /// Splits CSV text into records: a newline inside a quoted cell belongs to the record (the Stripe
  /// refund and Cashier exports have multi-line descriptions).
  static func records(_ text: String) -> [String] {
    var out: [String] = []
    var current = ""
    var quoted = false
    for scalar in text.unicodeScalars {
      if scalar == "\"" { quoted.toggle() }
      if !quoted && (scalar == "\n" || scalar == "\r") {
        if !current.isEmpty { out.append(current) }
        current = ""
      } else {
        current.unicodeScalars.append(scalar)
      }
    }
    if !current.isEmpty { out.append(current) }
    return out
  }

  /// Splits one CSV record into cells.
  static func cells(_ line: String) -> [String] {
    var out: [String] = []
    var cur = ""
    var quoted = false
    var it = Array(line)
    var i = 0
    while i < it.count {
      let c = it[i]
      if quoted {
        if c == "\"" && i + 1 < it.count && it[i + 1] == "\"" {
          cur.append("\"")
          i += 1
        } else if c == "\"" {
          quoted = false
        } else {
          cur.append(c)
        }
      } else if c == "\"" {
        quoted = true
      } else if c == "," {
        out.append(cur)
        cur = ""
      } else {
        cur.append(c)
      }
      i += 1
    }
    it.removeAll()
    out.append(cur)
    return out
  }

  static func join(_ cells: [String]) -> String {
    cells.map { cell in
      var out = "\""
      for ch in cell.unicodeScalars {
        if ch == "\"" { out += "\"" }
        out.unicodeScalars.append(ch)
      }
      return out + "\""
    }.joined(separator: ",")
  }

  static func mutations(header: [String], good: [String], idColumn: Int, tag: String) -> [Mutation] {
    func col(_ names: [String]) -> [Int] {
      header.indices.filter { i in names.contains { header[i].lowercased().contains($0) } }
    }
    let amounts = col(["amount", "gross", "total spend"]).filter { !header[$0].lowercased().contains("refunded") }
    let currencies = col(["currency"])
    let dates = col(["date", "created", "period"])
    var out: [Mutation] = []
    func row(_ name: String, refused: Bool, _ edit: (inout [String]) -> Void) {
      var c = good
      while c.count <= max(idColumn, header.count) { c.append("") }
      c[idColumn] = "BAD\(tag)\(name)"
      edit(&c)
      out.append((name, refused, Array(join(c).utf8)))
    }
    if !amounts.isEmpty {
      row("WRONGTYPE", refused: true) { c in for a in amounts { c[a] = "twelve" } }
      row("HUGE", refused: true) { c in for a in amounts { c[a] = String(repeating: "9", count: 40) + ".00" } }
      row("NEGATIVE", refused: false) { c in for a in amounts { c[a] = "-" + c[a] } }
    }
    if !currencies.isEmpty { row("CURRENCY", refused: true) { c in for a in currencies { c[a] = "QQQ" } } }
    if !dates.isEmpty {
      row("FUTURE", refused: false) { c in
        for d in dates where c[d].hasPrefix("202") { c[d] = "2199" + c[d].dropFirst(4) }
      }
      row("BADDATE", refused: true) { c in for d in dates { c[d] = "31/31/31 25:61" } }
    }
    row("MISSING", refused: true) { c in for i in c.indices where i != idColumn { c[i] = "" } }
    // Truncated: the line ends half-way through (fewer cells than the header).
    var truncated = good
    truncated[idColumn] = "BAD\(tag)TRUNCATED"
    out.append(("TRUNCATED", true, Array(join(Array(truncated.prefix(max(idColumn + 1, truncated.count / 2)))).utf8)))
    // Invalid UTF-8 inside a cell.
    var utf = Array(join(good.enumerated().map { $0.offset == idColumn ? "BAD\(tag)UTF8" : $0.element }).utf8)
    if let comma = utf.lastIndex(of: UInt8(ascii: ",")) { utf.insert(contentsOf: [0xFF, 0xFE, 0xC3], at: comma) }
    out.append(("UTF8", true, utf))
    // A field far too long for any real export.
    let longColumn = idColumn + 1 < good.count ? idColumn + 1 : 0
    row("HUGEFIELD", refused: false) { c in
      if c.indices.contains(longColumn) { c[longColumn] = String(repeating: "x", count: 200_000) }
    }
    return out
  }

  @Test(
    "a corpus of malformed rows in each export format: every bad row accounted for with a reason", arguments: formats)
  func exportFormat(_ f: Format) async throws {
    let dir = try TempDirectory(prefix: "rel-bad")
    let original = try String(contentsOfFile: RepositoryPaths.fixture(f.fixture), encoding: .utf8)
    let lines = Self.records(original)
    let header = Self.cells(lines[0])
    var good = Self.cells(lines[1])
    while good.count < header.count { good.append("") }
    let idNames = ["transaction id", "transaction_id", "id"]
    let idColumn = idNames.lazy.compactMap { n in header.firstIndex { $0.lowercased() == n } }.first ?? 0
    let tag = String(f.format.prefix(6).filter(\.isLetter)).uppercased()
    let bad = Self.mutations(header: header, good: good, idColumn: idColumn, tag: tag)
    var bytes = Array(original.utf8)
    if bytes.last != 0x0A { bytes.append(0x0A) }
    for m in bad { bytes += m.bytes + [0x0A] }
    FileManager.default.createFile(atPath: dir.file("input.csv"), contents: Data(bytes))
    try dir.write(
      "pipeline.yaml",
      """
      name: bad
      staging_root: staging
      sources:
        files:
          - { format: \(f.format), path: input.csv\(f.options) }
      transform:
      \(ReliabilityWorld.planMapping)
      """)
    for stage in ["extract", "transform"] {
      let r = try await RelCLI.run(
        [stage, "--pipeline", "pipeline.yaml", "--run-id", "b"], environment: [:], directory: dir.path)
      #expect(r.status == 0 || r.status == 1, "\(f) \(stage) must not crash: \(r.transcript)")
    }
    let run = try RunFolder(area: try StagingArea(stagingRoot: dir.file("staging"), pipeline: "bad"), id: "b")
    let extract = try #require(try run.manifest("extract"))
    let transform = try #require(try run.manifest("transform"))
    #expect(extract.accounting.isBalanced && transform.accounting.isBalanced)
    #expect(extract.accounting.input == lines.count - 1 + bad.count, "every data row counted in")
    // Where each bad row went.
    func text(_ path: String) -> String {
      String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
    }
    let diagnostics =
      (try FileManager.default.contentsOfDirectory(atPath: run.stagePath("extract")))
      .filter { $0.hasPrefix("rejects") }.map { text(run.stagePath("extract") + "/" + $0) }.joined()
      + text(run.stagePath("transform") + "/rejects.ndjson") + text(run.stagePath("transform") + "/skipped.ndjson")
    let processed = (try FileManager.default.contentsOfDirectory(atPath: run.stagePath("transform")))
      .filter { !["rejects.ndjson", "skipped.ndjson", "manifest.json"].contains($0) }
      .map { text(run.stagePath("transform") + "/" + $0) }.joined()
    for m in bad {
      let id = "BAD\(tag)\(m.name)"
      let diag = diagnostics.split(separator: "\n").first { $0.contains(id) }
      if let diag {
        let v = try JSONParser.parse(Array(diag.utf8))
        #expect((v["reason"]?.stringValue ?? "").isEmpty == false, "\(id): \(diag)")
      } else if m.refused {
        Issue.record("\(f): the \(m.name) row (\(id)) is not in the rejects (processed: \(processed.contains(id)))")
      } else {
        #expect(processed.contains(id) || extract.accounting.output > 0, "\(id) vanished")
      }
    }
    ReliabilityFigures.add("bad-\(f.format)", ["bad_records": bad.count])
  }

  @Test("malformed pipeline files: exit 2 naming file and line, never a crash")
  func pipelineFiles() async throws {
    let dir = try TempDirectory(prefix: "rel-badyaml")
    let corpus = [
      "name: x\nsources: [unclosed\n", "name: x\nsources:\n  stripe:\n    api_kye: x\n", "name: \"\u{0}\"\n",
      "name: x\nsources:\n  files:\n    - { format: nope, path: a.csv }\n", "name: x\nsources: 12\n",
      "name: x\nsources:\n  files: {}\n", ": : :\n",
      "name: x\ntransform:\n  plan_mapping:\n    p: { name: A, currency: ZZZ, interval: month }\n",
      "name: x\ntransform:\n  plan_mapping:\n    p: { name: A, currency: USD, interval: fortnight }\n",
      "name: x\ndestination:\n  chartmogul:\n    requests_per_second: 1000\n    api_key: k\n    data_source_uuid: ds\n",
      "name: " + String(repeating: "a", count: 300) + "\n",
      "name: x\nsources:\n  postgres:\n    url: ${NOPE_NOT_SET}\n",
      "name: x\nname: y\n", "- a\n- b\n", "name: x\nsources:\n  stripe: { api_key: k, since: 2024-13-45 }\n",
    ]
    for (i, text) in corpus.enumerated() {
      try dir.write("p\(i).yaml", text)
      let r = try await RelCLI.run(["extract", "--pipeline", "p\(i).yaml"], environment: [:], directory: dir.path)
      #expect(r.status == 2, "pipeline #\(i) \(text.debugDescription): \(r.transcript)")
      #expect(r.stderr.contains("p\(i).yaml"), "the message names the file: \(r.stderr)")
    }
    ReliabilityFigures.add("bad-pipelines", ["bad_records": corpus.count])
  }

  @Test("Postgres rows with NULLs and odd values: each refused row named in rejects, the rest loaded")
  func postgresRows() async throws {
    let world = try await ReliabilityWorld.start(files: false)
    let odd = [
      "currency = 'QQQ'", "amount_cents = -500", "amount_cents = 9223372036854775807",
      "transaction_date = '2199-01-01'",
      "plan_name = NULL", "currency = '   '", "plan_name = 'no_such_plan'",
      "period_end = period_start - interval '40 days'",
    ]
    let ids = try world.db.query(
      "SELECT id::text AS id FROM transactions WHERE status = 'completed' ORDER BY transaction_date, id"
    )
    .compactMap { $0["id"] ?? nil }
    try #require(ids.count >= odd.count + 2)
    for (i, set) in odd.enumerated() { try world.db.execute("UPDATE transactions SET \(set) WHERE id = '\(ids[i])'") }
    try world.db.execute(
      "UPDATE users SET name = NULL, country = NULL, last_login_at = NULL WHERE id IN (SELECT user_id FROM transactions WHERE id = '\(ids[odd.count])')"
    )
    let r = try await world.cli(["run", "--pipeline", "pipeline.yaml", "--run-id", "odd"])
    #expect(r.status == 0 || r.status == 1, "\(r.transcript)")
    let run = try world.run("odd")
    let transform = try #require(try run.manifest("transform"))
    #expect(transform.accounting.isBalanced)
    #expect(try run.isComplete("load"))
    let rejects = String(
      decoding: FileManager.default.contents(atPath: run.stagePath("transform") + "/rejects.ndjson") ?? Data(),
      as: UTF8.self)
    for (i, set) in odd.enumerated()
    where ["currency = 'QQQ'", "currency = '   '", "plan_name = 'no_such_plan'", "plan_name = NULL"].contains(set) {
      let gatewayID =
        try world.db.scalar("SELECT gateway_transaction_id FROM transactions WHERE id = '\(ids[i])'") ?? ids[i]
      #expect(rejects.contains(gatewayID) || rejects.contains(ids[i]), "\(set) row \(ids[i]) is in the rejects")
    }
    // Nothing refused was written back as synced; the good rows were.
    #expect(
      try world.db.scalar(
        "SELECT count(*) FROM transactions WHERE id = '\(ids[0])' AND chartmogul_synced_at IS NOT NULL") == "0")
    #expect(try world.db.scalar("SELECT count(*) FROM transactions WHERE chartmogul_synced_at IS NOT NULL") != "0")
    await world.stop()
    ReliabilityFigures.add("bad-postgres", ["bad_records": odd.count + 1])
  }
}

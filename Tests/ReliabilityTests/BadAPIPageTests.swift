import ETLTestSupport
import Foundation
import RevenueCore
import Staging
import Testing

/// For the gateway APIs: every page type (Stripe customers, subscriptions, invoices,
/// charges, refunds; PayPal transactions, subscriptions, plans; Cashier transactions) served by the
/// loopback fakes with malformed copies of good records. Each refused copy ends in the extract or
/// transform rejects/skipped with a reason naming it, tolerable ones are processed or diagnosed, the
/// accounting balances, nothing crashes, and the good records give exactly the records they give alone.
@Suite("Bad input: malformed records and pages from the gateway APIs")
struct BadAPIPageTests {
  static let gateways = ["stripe", "paypal", "cashier"]

  /// The `sources` entry for `gateway` at `url` (`pageSize` records per page).
  static func source(_ gateway: String, url: String, pageSize: Int) -> String {
    switch gateway {
    case "stripe":
      let key = StripeFixtureServer.Options().apiKey
      return
        "stripe: { api_key: \(key), api_url: \"\(url)\", since: 2025-01-01, page_size: \(pageSize), requests_per_second: 80 }"
    case "paypal":
      let o = PayPalFixtureServer.Options()
      return
        "paypal: { client_id: \(o.clientID), client_secret: \(o.clientSecret), api_url: \"\(url)\", since: 2025-09-01, page_size: \(pageSize), requests_per_second: 50 }"
    default:
      return
        "cashier: { api_key: \(CashierFixtureServer.apiKey), api_url: \"\(url)\", since: 2025-01-01, per_page: \(pageSize), requests_per_second: 50 }"
    }
  }

  static func pipeline(_ name: String, _ gateway: String, url: String, pageSize: Int) -> String {
    """
    name: \(name)
    staging_root: staging
    sources:
      \(source(gateway, url: url, pageSize: pageSize))
    transform:
    \(ReliabilityWorld.planMapping)
    """
  }

  /// A fake gateway: healthy fixtures, or fixtures plus the corpus.
  static func server(_ gateway: String, corpus: Bool) async throws -> (FixtureServer, [APIMutant]) {
    switch gateway {
    case "stripe":
      let c = try APICorpus.stripe()
      return (try await StripeFixtureServer.start(objects: corpus ? c.objects : nil), corpus ? c.mutants : [])
    case "paypal":
      let c = try APICorpus.paypal()
      return (
        try await PayPalFixtureServer.start(corpus ? c.options : PayPalFixtureServer.Options()), corpus ? c.mutants : []
      )
    default:
      let c = try APICorpus.cashier()
      return (
        try await CashierFixtureServer.start(
          rows: corpus ? c.rows : nil, undatedAt: Timestamp.parse("2025-10-15T00:00:00Z")),
        corpus ? c.mutants : []
      )
    }
  }

  /// The staged output of one pipeline's run `r` (extract + transform through the CLI).
  struct Outcome {
    var extract: Manifest
    var transform: Manifest
    /// Every rejects/skipped line of both stages, parsed.
    var diagnostics: [(line: String, value: JSONValue)]
    /// Transform output files (not diagnostics) → their lines.
    var outputs: [String: [String]]
    var staged: String
    var transcript: String
  }

  static func run(_ dir: TempDirectory, _ name: String) async throws -> Outcome {
    var transcript = ""
    for stage in ["extract", "transform"] {
      let r = try await RelCLI.run(
        [stage, "--pipeline", "\(name).yaml", "--run-id", "r"], environment: [:], directory: dir.path)
      #expect(r.status == 0 || r.status == 1, "\(name) \(stage) must not crash: \(r.transcript)")
      transcript += "\(stage): \(r.transcript)\n"
    }
    let run = try RunFolder(area: try StagingArea(stagingRoot: dir.file("staging"), pipeline: name), id: "r")
    let extract = try #require(try run.manifest("extract"), "\(transcript)")
    let transform = try #require(try run.manifest("transform"), "\(transcript)")
    func lines(_ path: String) -> [String] {
      String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self).split(separator: "\n").map(
        String.init)
    }
    var diagnostics: [(String, JSONValue)] = []
    var outputs: [String: [String]] = [:]
    var staged = ""
    for stage in ["extract", "transform"] {
      let dir = run.stagePath(stage)
      for file in try FileManager.default.contentsOfDirectory(atPath: dir).sorted() where file.hasSuffix(".ndjson") {
        if file.hasPrefix("rejects") || file.hasPrefix("skipped") {
          for l in lines(dir + "/" + file) { diagnostics.append((l, try JSONParser.parse(l))) }
        } else if stage == "transform" {
          outputs[file] = lines(dir + "/" + file)
        } else {
          staged += lines(dir + "/" + file).joined(separator: "\n")
        }
      }
    }
    return Outcome(
      extract: extract, transform: transform, diagnostics: diagnostics, outputs: outputs, staged: staged,
      transcript: transcript)
  }

  @Test(
    "a corpus of malformed records in every API page type: refused ones named in the rejects, the rest processed",
    arguments: gateways)
  func records(_ gateway: String) async throws {
    let dir = try TempDirectory(prefix: "rel-badapi")
    let (good, _) = try await Self.server(gateway, corpus: false)
    let (bad, mutants) = try await Self.server(gateway, corpus: true)
    defer {
      Task {
        await good.stop()
        await bad.stop()
      }
    }
    try dir.write("good.yaml", Self.pipeline("good", gateway, url: good.baseURL, pageSize: 100))
    try dir.write("bad.yaml", Self.pipeline("bad", gateway, url: bad.baseURL, pageSize: 100))
    let base = try await Self.run(dir, "good")
    let out = try await Self.run(dir, "bad")
    #expect(base.extract.accounting.rejected == 0, "the healthy fixtures extract cleanly: \(base.transcript)")
    for o in [base, out] {
      #expect(
        o.extract.accounting.isBalanced && o.transform.accounting.isBalanced,
        "\(o.extract.accounting) \(o.transform.accounting)")
    }
    #expect(out.extract.accounting.input >= base.extract.accounting.input + mutants.count, "every mutant was read")
    #expect(out.transform.accounting.input == out.extract.accounting.output, "transform reads every staged record")
    let processed = out.outputs.values.map { $0.joined(separator: "\n") }.joined(separator: "\n")
    for m in mutants {
      let what = "\(m.kind) \(m.name) (\(m.probe ?? m.marker))"
      let named = out.diagnostics.filter { (d: (line: String, value: JSONValue)) -> Bool in
        guard let probe = m.probe else { return d.line.contains(m.marker) }
        return (d.value["external_id"]?.stringValue ?? "").contains(probe)
          || (d.value["reason"]?.stringValue ?? "").contains(probe)
      }
      for d in named {
        #expect(
          (d.value["reason"]?.stringValue ?? "").isEmpty == false,
          "\(what): a diagnostic without a reason: \(d.line.prefix(300))")
      }
      if m.refused {
        #expect(
          !named.isEmpty,
          "\(what) must be refused with a reason naming it; processed: \(m.probe.map(processed.contains) ?? false)")
        // Payments must not be invoiced; a refused subscription or plan may still be named by a
        // good payment that references it.
        if let probe = m.probe, !m.indexOnly, !m.kind.hasSuffix("subscription") {
          #expect(
            !(out.outputs["invoices.ndjson"] ?? []).contains { $0.contains(probe) },
            "\(what) was refused but still invoiced")
        }
      } else {
        let probe = m.probe ?? m.marker
        let done = m.indexOnly ? out.staged.contains(probe) : processed.contains(probe)
        #expect(done || !named.isEmpty, "\(what) vanished: neither processed nor diagnosed")
      }
    }
    // The good records give exactly the records they give without the corpus; anything more is a mutant's.
    for (file, lines) in base.outputs.sorted(by: { $0.key < $1.key }) where file != "customer-index.ndjson" {
      let have = Set(out.outputs[file] ?? [])
      let missing = lines.filter { !have.contains($0) }
      #expect(
        missing.isEmpty,
        "\(gateway) \(file): \(missing.count) good records changed or lost, e.g. \(missing.first?.prefix(400) ?? "")")
      let baseSet = Set(lines)
      let foreign = (out.outputs[file] ?? []).filter { !baseSet.contains($0) && !$0.lowercased().contains("bad") }
      #expect(
        foreign.isEmpty,
        "\(gateway) \(file): records not from a mutant appeared, e.g. \(foreign.first?.prefix(400) ?? "")")
    }
    ReliabilityFigures.add("bad-api-\(gateway)", ["bad_records": mutants.count])
  }
}

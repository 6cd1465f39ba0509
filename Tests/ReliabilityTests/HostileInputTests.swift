import ETLTestSupport
import Foundation
import RevenueCore
import Sandbox
import Staging
import Testing

/// Hostile pipeline files, configuration errors carrying secrets, a staging folder rigged with
/// symbolic links, and `validate` racing a load.
@Suite("Hostile inputs: YAML bombs, secrets in errors, rigged staging folders, validate during load", .serialized)
struct HostileInputTests {
  /// A pipeline without databases or servers: one Cashier export.
  static func filesPipeline(name: String = "hostile") -> String {
    """
    name: \(name)
    staging_root: staging
    sources:
      files:
        - { format: cashier-csv, path: "\(RepositoryPaths.fixture("exports/cashier/transactions.csv"))" }
    """
  }

  static func cli(_ dir: TempDirectory, _ args: [String], env: [String: String] = [:]) async throws -> CLIProcess.Result
  {
    try await RelCLI.run(args, environment: env, directory: dir.path)
  }

  /// (name, pipeline text, what the error must say).
  static func hostileYAML() -> [(String, String, String)] {
    var bomb =
      "name: laughs\nsources:\n  a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
    var previous = "a"
    for level in ["b", "c", "d", "e", "f", "g", "h", "i"] {
      bomb += "  \(level): &\(level) [" + Array(repeating: "*\(previous)", count: 9).joined(separator: ",") + "]\n"
      previous = level
    }
    let aliasKey = "name: k\ntransform: &t { unmapped_plans: reject }\nvalidate: *t\n"
    let mergeKey = "name: m\nbase: &b { x: 1 }\ntransform:\n  <<: *b\n"
    let deep =
      "name: deep\ntransform:\n  plan_mapping: " + String(repeating: "[", count: 200)
      + String(repeating: "]", count: 200) + "\n"
    let huge = "name: huge\n# " + String(repeating: "x", count: YAMLLimits.maxFileBytes) + "\n"
    return [
      ("billion laughs", bomb, "anchors and aliases are not supported"),
      ("alias of a section", aliasKey, "anchors and aliases are not supported"),
      ("merge key", mergeKey, "anchors and aliases are not supported"),
      ("200 levels deep", deep, "levels deep|is not valid YAML"),
      ("larger than the limit", huge, "larger than"),
    ]
  }

  @Test("anchors, aliases, deep nesting and oversized files are configuration errors (exit 2) naming the file")
  func hostileYAMLIsRefused() async throws {
    let dir = try TempDirectory(prefix: "yaml")
    var refused = 0
    for (name, text, message) in Self.hostileYAML() {
      try dir.write("p.yaml", text)
      let r = try await Self.cli(dir, ["status", "--pipeline", "p.yaml"])
      #expect(r.status == 2, "\(name): \(r.transcript.prefix(2000))")
      #expect(
        r.stderr.contains("p.yaml") && message.split(separator: "|").contains { r.stderr.contains($0) },
        "\(name): \(r.stderr.prefix(2000))")
      if r.status == 2 { refused += 1 }
    }
    // 40,000 plan mappings (key handling is linear) are read, and a duplicate among them is found.
    var many = "name: many\ntransform:\n  plan_mapping:\n"
    for i in 0..<40_000 { many += "    p\(i): { name: P\(i), currency: USD, interval: month }\n" }
    try dir.write("many.yaml", many)
    let ok = try await Self.cli(dir, ["status", "--pipeline", "many.yaml"])
    #expect(ok.status == 0, "\(ok.transcript.prefix(2000))")
    try dir.write("many.yaml", many + "    p39999: { name: again, currency: USD, interval: month }\n")
    let dup = try await Self.cli(dir, ["status", "--pipeline", "many.yaml"])
    #expect(dup.status == 2 && dup.stderr.contains("p39999"), "\(dup.transcript.prefix(2000))")
    ReliabilityFigures.add("hostile-yaml", ["hostile_yaml": refused + 1])
  }

  @Test("a secret expanded into any setting never appears in the configuration error that quotes it")
  func configurationErrorsAreRedacted() async throws {
    let dir = try TempDirectory(prefix: "cfgsecret")
    let secret = "cmkey_CFGSECRET_9f8e7d6c5b4a"
    let cases = [
      "name: ${CHARTMOGUL_API_KEY}x/\n",
      Self.filesPipeline() + "\ntransform:\n  unmapped_plans: ${CHARTMOGUL_API_KEY}\n",
      Self.filesPipeline() + "\ntransform:\n  reject_amount_above: \"${CHARTMOGUL_API_KEY}\"\n",
      Self.filesPipeline()
        + "\ndestination:\n  chartmogul:\n    api_key: k\n    api_url: \"${CHARTMOGUL_API_KEY}\"\n    data_source_uuid: ds_x\n",
    ]
    var checked = 0
    for (i, text) in cases.enumerated() {
      try dir.write("p.yaml", text)
      // `transform` checks every section before it starts (and needs no server).
      let r = try await Self.cli(dir, ["transform", "--pipeline", "p.yaml"], env: ["CHARTMOGUL_API_KEY": secret])
      #expect(r.status == 2, "case \(i): \(r.transcript)")
      for form in SecurityTests.forms(secret) {
        #expect(!r.output.contains(form), "case \(i): the secret is in the output: \(r.output)")
        checked += 1
      }
      #expect(
        r.stderr.contains("${CHARTMOGUL_API_KEY}"), "case \(i): the error shows where the value came from: \(r.stderr)")
    }
    ReliabilityFigures.add("config-redaction", ["secrets_checked": checked])
  }

  @Test("a symlinked lock or runs/ and an open or foreign pipeline folder are refused; nothing is written through them")
  func riggedStagingFolders() async throws {
    let dir = try TempDirectory(prefix: "rigged")
    try dir.write("p.yaml", Self.filesPipeline())
    let pipelineDir = dir.file("staging/hostile")
    try FileSystem.makeDirectory(pipelineDir)
    // The lock, linked to a file the attacker wants truncated.
    let victim = try dir.write("victim.txt", "precious\n")
    try FileManager.default.createSymbolicLink(atPath: pipelineDir + "/lock", withDestinationPath: victim)
    let viaLock = try await Self.cli(dir, ["extract", "--pipeline", "p.yaml", "--run-id", "x"])
    #expect(viaLock.status != 0 && viaLock.stderr.contains("symbolic link"), "\(viaLock.transcript)")
    #expect(
      try String(contentsOfFile: victim, encoding: .utf8) == "precious\n", "the lock was written through the link")
    try FileManager.default.removeItem(atPath: pipelineDir + "/lock")
    // runs/, linked out of the staging root.
    let outside = dir.file("outside")
    try FileSystem.makeDirectory(outside)
    try? FileManager.default.removeItem(atPath: pipelineDir + "/runs")
    try FileManager.default.createSymbolicLink(atPath: pipelineDir + "/runs", withDestinationPath: outside)
    let viaRuns = try await Self.cli(dir, ["extract", "--pipeline", "p.yaml", "--run-id", "x"])
    #expect(viaRuns.status != 0 && viaRuns.stderr.contains("symbolic link"), "\(viaRuns.transcript)")
    #expect(try FileManager.default.contentsOfDirectory(atPath: outside).isEmpty, "a run was written outside staging")
    try FileManager.default.removeItem(atPath: pipelineDir + "/runs")
    // A reused folder others can read.
    chmod(pipelineDir, 0o755)
    let open = try await Self.cli(dir, ["extract", "--pipeline", "p.yaml", "--run-id", "x"])
    #expect(open.status != 0 && open.stderr.contains("open to group or others"), "\(open.transcript)")
    chmod(pipelineDir, 0o700)
    var refused = 3
    if geteuid() == 0 {
      chown(pipelineDir, 65534, 65534)
      let foreign = try await Self.cli(dir, ["extract", "--pipeline", "p.yaml", "--run-id", "x"])
      #expect(foreign.status != 0 && foreign.stderr.contains("belongs to user id 65534"), "\(foreign.transcript)")
      chown(pipelineDir, 0, 0)
      refused += 1
    }
    // Repaired, the same command works.
    let fine = try await Self.cli(dir, ["extract", "--pipeline", "p.yaml", "--run-id", "x"])
    #expect(fine.status == 0 || fine.status == 1, "\(fine.transcript)")
    ReliabilityFigures.add("rigged-staging", ["tampered": refused])
  }

  @Test(
    "validate started during a load waits for the lock, then reports exactly what a validate after the load reports")
  func validateWaitsForLoad() async throws {
    let world = try await ReliabilityWorld.start(faults: SandboxFaults(latency: 0.05))
    for stage in ["extract", "transform"] {
      let r = try await world.cli([stage, "--pipeline", "pipeline.yaml", "--run-id", "V"])
      try #require(r.status == 0 || r.status == 1, "\(stage): \(r.transcript)")
    }
    let load = try world.start(["load", "--pipeline", "pipeline.yaml", "--run-id", "V"], tag: "load")
    #expect(try await OverlapTests.waitForLock(world, pid: load.processIdentifier, process: load))
    let validate = try await world.cli(["validate", "--pipeline", "pipeline.yaml", "--run-id", "V"])
    #expect(!load.isRunning, "validate returned while the load still ran")
    try await RelCLI.waitForExit(load)
    #expect(load.terminationStatus == 0 || load.terminationStatus == 1, "\(world.output(tag: "load"))")
    #expect(validate.output.contains("waiting for the pipeline lock"), "\(validate.transcript)")
    // It compared the finished load: the same months, figures and verdict as a validate started after it.
    let after = try await world.cli(["validate", "--pipeline", "pipeline.yaml", "--run-id", "V"])
    func months(_ r: CLIProcess.Result) -> [String] {
      r.stdout.split(separator: "\n").map(String.init).filter { $0.contains(" local ") && $0.contains("variance") }
    }
    #expect(!months(after).isEmpty, "\(after.transcript)")
    #expect(
      months(validate) == months(after), "validate during the load saw a different ChartMogul: \(validate.transcript)")
    #expect(validate.status == after.status, "\(validate.transcript)\n\(after.transcript)")
    await world.stop()
    ReliabilityFigures.add("validate-lock", [:])
  }
}

import Foundation
import Logging
import RevenueCore
import Staging
// etl-bench transform [--records N] [--dir PATH] [--python python3]
// Generates N app.transaction rows (+ N/10 app.user rows, ~470 bytes/line), runs the transform stage
// on one core, then the Python/orjson reference (benchmarks/transform_reference.py) on the same file,
// and prints records/s, MB/s and peak RSS of both, their ratio, and whether the invoices are identical.
import SystemShims
import Transform

enum TransformBenchmark {
  static let plans: [(id: String, name: String, cur: String, unit: String, count: Int)] = [
    ("price_starter_usd", "Starter", "USD", "month", 1), ("price_growth_usd", "Growth", "USD", "month", 1),
    ("price_business_usd_yearly", "Business", "USD", "year", 1), ("plan_starter_egp", "Starter", "EGP", "month", 1),
    ("plan_growth_egp_quarterly", "Growth", "EGP", "month", 3), ("P-GROWTH-EUR", "Growth", "EUR", "month", 1),
  ]

  static func run(_ args: [String]) async throws {
    var records = 1_000_000
    var dir = ".build-bench/transform"
    var python = "python3"
    var i = 0
    while i < args.count {
      switch args[i] {
      case "--records":
        records = Int(args[i + 1]) ?? records
        i += 1
      case "--dir":
        dir = args[i + 1]
        i += 1
      case "--python":
        python = args[i + 1]
        i += 1
      default: break
      }
      i += 1
    }
    try? FileManager.default.removeItem(atPath: dir)
    try FileSystem.makeDirectory(dir)
    let yaml = pipelineYAML()
    let pipeline = try PipelineFile(text: yaml, path: dir + "/bench.yaml", environment: Environment([:]))
    let area = try StagingArea(stagingRoot: dir, pipeline: pipeline.name)
    let run = try area.createRun(id: "bench")
    let (lines, bytes) = try generate(run: run, records: records)
    print("transform benchmark: \(lines.grouped) staged lines, \(String(format: "%.1f", Double(bytes) / 1e6)) MB")

    let ctx = StageContext(
      pipeline: pipeline, environment: Environment([:]), area: area, run: run, logger: Logger(label: "bench"))
    let rssBefore = cshims_peak_rss_bytes()
    let cpu0 = cpuSeconds(RUSAGE_SELF)
    let t0 = Date()
    let stage = try await TransformStage.run(ctx)
    let secs = Date().timeIntervalSince(t0)
    let cpu = cpuSeconds(RUSAGE_SELF) - cpu0
    let rss = cshims_peak_rss_bytes()
    report("swift transform", lines: lines, bytes: bytes, seconds: secs, cpu: cpu, rss: rss)
    print("  accounting: \(stage.accounting.equation)  (peak RSS before the stage: \(mb(rssBefore)))")

    // Python/orjson reference on the same extract file.
    let mapping = dir + "/plan_mapping.json"
    var m = JSONObject()
    for p in plans {
      m[p.id] = [
        "name": .string(p.name), "currency": .string(p.cur), "interval": .string(p.unit),
        "interval_count": .int(p.count),
      ]
    }
    try AtomicFile.writeJSON(.object(m), to: mapping)
    let refOut = dir + "/reference-invoices.ndjson"
    let script = (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(
      "benchmarks/transform_reference.py")
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = [python, script, run.file("extract", "postgres.ndjson"), mapping, refOut]
    let pipe = Pipe()
    p.standardOutput = pipe
    let pt0 = Date()
    let pcpu0 = cpuSeconds(RUSAGE_CHILDREN)
    try p.run()
    let out = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    let pwall = Date().timeIntervalSince(pt0)
    let pcpu = cpuSeconds(RUSAGE_CHILDREN) - pcpu0
    guard p.terminationStatus == 0, let v = try? JSONParser.parse([UInt8](out)) else {
      print("python reference failed (exit \(p.terminationStatus)); is orjson installed?")
      return
    }
    let psecs = v["seconds"]?.doubleValue ?? pwall
    report(
      "python orjson reference", lines: lines, bytes: bytes, seconds: psecs, cpu: pcpu,
      rss: v["peak_rss_bytes"]?.int64Value ?? 0)
    print(
      String(
        format:
          "  speed ratio swift / orjson: %.2fx by wall clock, %.2fx by CPU time (target >= 1.5x; CPU time is the fair figure on a busy machine)",
        psecs / secs, Double(pcpu) / Double(cpu)))
    print("  swift peak RSS \(mb(rss)) (target < 256 MB)")
    let a = FileManager.default.contents(atPath: run.file("transform", "invoices.ndjson")) ?? Data()
    let b = FileManager.default.contents(atPath: refOut) ?? Data()
    print("  invoices identical to the reference: \(a == b ? "yes" : "NO") (\(a.count.grouped) bytes)")
  }

  static func mb(_ b: Int64) -> String { String(format: "%.1f MB", Double(b) / 1_048_576) }

  static func report(_ what: String, lines: Int, bytes: Int64, seconds: Double, cpu: Double, rss: Int64) {
    print(
      String(
        format: "  %@: %.2f s wall (%.0f records/s, %.1f MB/s), %.2f s CPU (%.0f records/s, %.1f MB/s), peak RSS %@",
        what, seconds, Double(lines) / seconds, Double(bytes) / 1e6 / seconds, cpu, Double(lines) / cpu,
        Double(bytes) / 1e6 / cpu, mb(rss)))
  }

  /// User + system CPU seconds of this process (`RUSAGE_SELF`) or its finished children.
  static func cpuSeconds(_ who: __rusage_who) -> Double {
    var u = rusage()
    getrusage(__rusage_who_t(who.rawValue), &u)
    return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6
  }

  static func pipelineYAML() -> String {
    var s = "name: bench\ntransform:\n  plan_mapping:\n"
    for p in plans {
      s += "    \(p.id): { name: \(p.name), currency: \(p.cur), interval: \(p.unit), interval_count: \(p.count) }\n"
    }
    return s
  }
}

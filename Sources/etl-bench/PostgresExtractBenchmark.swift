import AppDatabase
// etl-bench postgres-extract: the Postgres source's extract path (binary COPY or libpq single-row mode, JSON written in
// Swift, staged through ExtractSink/NDJSONWriter) on the default transactions query, timed over runs.
//
//   etl-bench postgres-extract --url URL [--runs 3] [--dir DIR] [--work-mem 256MB|default] [--keep]
//                                                                  # prints rows/s, MB/s, peak RSS
//   etl-bench postgres-extract --print-query                       # the same query on one line, $1 = NULL (for psql)
//
// benchmarks/postgres-extract.sh generates the data and runs the psql comparisons next to it.
import Extract
import Foundation
import PostgresClient
import RevenueCore
import Staging

enum PostgresExtractBenchmark {
  static func main(_ args: [String]) {
    func value(_ flag: String) -> String? {
      guard let i = args.firstIndex(of: flag), i + 1 < args.count else { return nil }
      return args[i + 1]
    }
    let sql = AppQueries.transactionsSQL(backfill: false)
    if args.contains("--print-query") {
      print(
        sql.replacingOccurrences(of: "$1::bigint", with: "NULL::bigint").split(separator: "\n").joined(separator: " "))
      return
    }
    guard let url = value("--url") else {
      FileHandle.standardError.write(Data("usage: etl-bench postgres-extract --url URL [--runs N] [--dir DIR]\n".utf8))
      exit(2)
    }
    let runs = Int(value("--runs") ?? "3") ?? 3
    let dir = value("--dir") ?? NSTemporaryDirectory() + "/etl-bench-pg-\(getpid())"
    do {
      let report = try Migrations.migrate(url: url)
      if report.changed { print("migrate: \(report.applied.count) step(s) applied") }
      let db = try PostgresConnection(url: url)
      // The Postgres source's session settings (work_mem); `--work-mem default` keeps the server's.
      let workMem = value("--work-mem") ?? PostgresSourceSettings.defaultWorkMem
      try PostgresSourceSettings(url: Secret(url), workMem: workMem == "default" ? nil : workMem).configureSession(db)
      var walls: [Double] = []
      var rows = 0
      var bytes: Int64 = 0
      for run in 1...runs {
        let area = try StagingArea(stagingRoot: dir, pipeline: "bench")
        let folder = try area.createRun(id: "run\(run)")
        let builder = try StageBuilder(run: folder, stage: "extract")
        let sink = try ExtractSink(source: "postgres", builder: builder)
        let start = DispatchTime.now().uptimeNanoseconds
        rows = try AppExtract.stream(AppQueries.transactions, sql: sql, parameters: [nil], db: db) { body in
          try sink.emitSerialized(body)
        }
        // Timed like psql's \copy: rows streamed and written to the file (page cache); the stage's
        // publish (fsync + rename) is reported separately.
        let wall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let entry = try builder.publish(inputs: [], accounting: Accounting(input: rows, output: rows)).files[0]
        let publish = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 - wall
        walls.append(wall)
        bytes = entry.bytes
        print(
          String(
            format: "run %d: %d rows, %.1f MB in %.3f s = %.0f rows/s (publish with fsync +%.3f s)", run, rows,
            Double(bytes) / 1e6, wall, Double(rows) / wall, publish))
        if args.contains("--keep") {  // leave the published file for `cmp` (and stop after this run)
          print("kept \(folder.path)")
          break
        }
        try FileSystem.removeTree(dir)
      }
      let median = walls.sorted()[walls.count / 2]
      var usage = rusage()
      getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
      let cpu =
        Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec)
        / 1e6
      print(
        String(
          format:
            "RESULT swift-extract rows=%d bytes=%lld median_wall=%.3f rows_per_s=%.0f mb_per_s=%.1f bytes_per_row=%.0f client_cpu_total=%.2f peak_rss_mib=%.1f",
          rows, bytes, median, Double(rows) / median, Double(bytes) / 1e6 / median,
          Double(bytes) / Double(max(rows, 1)), cpu,
          Double(usage.ru_maxrss) / 1024))
    } catch {
      FileHandle.standardError.write(Data("postgres-extract: \(error)\n".utf8))
      exit(1)
    }
  }
}

import Foundation
import RevenueCore
import Staging

#if canImport(Glibc)
  import Glibc
#endif

/// The ledger kept once per pipeline and ChartMogul data source, `load-state/<data source>/ledger.ndjson`:
/// every outcome a load wrote, appended after the load publishes, each run closed by a
/// `{"type": "run", "run_id": …}` line; compacted (one line per record, confirmed wins) when it has
/// grown to twice the records it describes. Each run's `load/ledger.ndjson` keeps only the outcomes
/// that run wrote, so nothing is copied into every run folder.
enum PipelineLedger {
  static func path(area: StagingArea, dataSource: String) -> String {
    LoadStateFiles.directory(area: area, dataSource: dataSource) + "/ledger.ndjson"
  }

  /// What the file holds: the run ids it closed and its line count.
  struct Contents {
    var runs = Set<String>()
    var lines = 0
  }

  /// Streams the file into `body` (entries only) and returns the runs it closed. A torn last line
  /// (killed mid-append) is ignored: its run has no closing line, so that run's own ledger is read.
  static func read(area: StagingArea, dataSource: String, _ body: (LedgerEntry) -> Void) throws -> Contents? {
    let p = path(area: area, dataSource: dataSource)
    guard FileSystem.exists(p) else { return nil }
    var c = Contents()
    var pending: [LedgerEntry] = []
    try NDJSONReader(path: p).forEachValue { r, _ in
      guard case .success(let v) = r else { return }
      c.lines += 1
      if v["type"]?.stringValue == "run", let id = v["run_id"]?.stringValue {
        c.runs.insert(id)
        for e in pending { body(e) }
        pending.removeAll(keepingCapacity: true)
        return
      }
      if let e = LedgerEntry(json: v) { pending.append(e) }
    }
    // Lines after the last closing line belong to an append that did not finish.
    return c
  }

  /// Appends a run's outcomes and its closing line, then fsyncs.
  static func append(area: StagingArea, dataSource: String, runID: String, entries: [LedgerEntry]) throws {
    try FileSystem.makeDirectory(area.root + "/load-state")
    try FileSystem.makeDirectory(LoadStateFiles.directory(area: area, dataSource: dataSource))
    let p = path(area: area, dataSource: dataSource)
    let fd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw StagingError("cannot open \(p): \(String(cString: strerror(errno)))") }
    defer { Glibc.close(fd) }
    var buffer: [UInt8] = []
    func flush() throws {
      try buffer.withUnsafeBytes { try FileSystem.writeAll(fd, $0, path: p) }
      buffer.removeAll(keepingCapacity: true)
    }
    for e in entries {
      JSONWriter.write(e.json, into: &buffer)
      buffer.append(0x0A)
      if buffer.count > 4 << 20 { try flush() }
    }
    JSONWriter.write(["type": "run", "run_id": .string(runID)], into: &buffer)
    buffer.append(0x0A)
    try flush()
    fsync(fd)
  }

  /// Rewrites the file as one line per record (`merged`) plus the closing lines of `runs`.
  static func compact(area: StagingArea, dataSource: String, merged: [String: LedgerEntry], runs: Set<String>) throws {
    var bytes: [UInt8] = []
    for id in merged.keys.sorted() {
      JSONWriter.write(merged[id]!.json, into: &bytes)
      bytes.append(0x0A)
    }
    for r in runs.sorted() {
      JSONWriter.write(["type": "run", "run_id": .string(r)], into: &bytes)
      bytes.append(0x0A)
    }
    try AtomicFile.write(bytes, to: path(area: area, dataSource: dataSource))
  }
}

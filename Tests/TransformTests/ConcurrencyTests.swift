import ETLTestSupport
import Foundation
import RevenueCore
import Staging
import SystemShims
import Testing

@testable import Transform
@testable import TransformRules

/// Transform's two-thread helpers: the line pipeline of passes 1 and 2, and the external sorter
/// whose runs a worker writes. Whatever the threads do, the caller must see exactly what one thread
/// would have produced, and an error on either side must stop both without a hang.
@Suite struct ConcurrencyTests {
  final class NoProgress: ProgressSink, @unchecked Sendable {
    var total = 0
    func begin(_ label: String, total: Int?) {}
    func advance(by count: Int) { total += count }
    func end() {}
  }

  struct Boom: Error {}

  /// 5,000 lines (some blank, some the reader drops) in small batches: values arrive in line order
  /// with their own bytes and line numbers, and every line read is counted, threaded or not.
  @Test(arguments: [true, false]) func pipelineKeepsLineOrder(threaded: Bool) throws {
    let dir = try TempDirectory(prefix: "pipeline")
    var text = ""
    for i in 1...5_000 { text += i % 97 == 0 ? "\n" : "{\"n\":\(i)}\n" }
    let path = dir.path + "/in.ndjson"
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    let progress = NoProgress()
    var seen: [(Int, Int, String)] = []
    var counted = 0
    try ReadAheadLines.run(
      path: path, batchLines: 7, depth: 2, threaded: threaded, progress: progress,
      read: { bytes, line -> Int? in
        let s = String(decoding: bytes, as: UTF8.self)
        let n = Int(s.dropFirst(5).dropLast())!
        return n % 3 == 0 ? nil : n  // the reader settles every third line itself
      },
      lines: { counted += $0 },
      use: { n, line, bytes in seen.append((n, line, String(decoding: bytes, as: UTF8.self))) })
    let expected = (1...5_000).filter { $0 % 97 != 0 && $0 % 3 != 0 }
    #expect(seen.map(\.0) == expected)
    #expect(seen.allSatisfy { $0.0 == $0.1 && $0.2 == "{\"n\":\($0.0)}" })
    #expect(counted == 5_000 - 5_000 / 97)  // blank lines are not values, nor counted as read
    #expect(progress.total == counted)
  }

  /// The consumer fails half-way: the error reaches the caller and the reading thread stops (the
  /// call returns instead of hanging on a full queue).
  @Test func consumerErrorStopsTheReader() throws {
    let dir = try TempDirectory(prefix: "pipeline")
    let path = dir.path + "/in.ndjson"
    try String(repeating: "{\"a\":1}\n", count: 20_000).write(toFile: path, atomically: true, encoding: .utf8)
    var used = 0
    #expect(throws: Boom.self) {
      try ReadAheadLines.run(
        path: path, batchLines: 16, depth: 2, threaded: true, progress: NoProgress(),
        read: { _, line in line },
        use: { _, line, _ in
          used += 1
          if line == 1_000 { throw Boom() }
        })
    }
    #expect(used == 1_000)
  }

  /// A reading error (here: the file is missing) is thrown to the caller.
  @Test func readerErrorReachesTheCaller() throws {
    #expect(throws: StagingError.self) {
      try ReadAheadLines.run(
        path: "/nonexistent/extract.ndjson", threaded: true, progress: NoProgress(), read: { _, l in l },
        use: { _, _, _ in })
    }
  }

  /// Tiny chunks force dozens of runs written by the worker and merged through the heap: the
  /// output is every line, sorted, duplicates kept.
  @Test func sorterWithManyRunsMatchesAnInMemorySort() throws {
    let dir = try TempDirectory(prefix: "sort")
    let sorter = try ExternalSorter(directory: dir.path + "/s", maxRecords: 1_000_000, maxBytes: 4_096)
    var rng = SplitMix64(seed: 7)
    var lines: [String] = []
    for _ in 0..<20_000 {
      let w = "k\(rng.next() % 5_000)\t" + String(repeating: "x", count: Int(rng.next() % 40))
      lines.append(w)
      try sorter.add { $0.append(contentsOf: w.utf8) }
    }
    try sorter.finishInput()
    let runs = try FileManager.default.contentsOfDirectory(atPath: dir.path + "/s").count
    #expect(runs > 50)
    var out: [String] = []
    try sorter.drain { out.append(String(decoding: $0, as: UTF8.self)) }
    #expect(out == lines.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path + "/s").isEmpty)
  }

  /// The merge gives each run's bytes back to the file system as it reads them (hole punching), so
  /// half-way through, the runs hold well under their size on disk; the output is still every line
  /// in order and the runs are gone at the end.
  @Test func sortRunsAreReleasedAsTheMergeReadsThem() throws {
    let dir = try TempDirectory(prefix: "sort")
    let runDir = dir.path + "/s"
    let sorter = try ExternalSorter(directory: runDir, maxRecords: 1_000_000, maxBytes: 3 << 20)
    var rng = SplitMix64(seed: 11)
    var keys: [String] = []
    for _ in 0..<40_000 {
      let k = String(format: "%08llu", rng.next() % 100_000_000)
      keys.append(k)
      try sorter.add { $0.append(contentsOf: (k + "\t" + String(repeating: "p", count: 290)).utf8) }
    }
    try sorter.finishInput()
    let runs = try FileManager.default.contentsOfDirectory(atPath: runDir).map { runDir + "/" + $0 }
    #expect(runs.count >= 3)
    // Can this file system punch holes at all? (ext4, xfs, btrfs and tmpfs can.)
    let probe = open(dir.path + "/probe", O_RDWR | O_CREAT, 0o600)
    _ = write(probe, [UInt8](repeating: 1, count: 1 << 20), 1 << 20)
    let canPunch = cshims_punch_hole(probe, 0, 1 << 20) == 0
    close(probe)
    func onDisk() -> (allocated: Int, size: Int) {
      var a = 0
      var n = 0
      for r in runs {
        var st = stat()
        guard stat(r, &st) == 0 else { continue }
        a += Int(st.st_blocks) * 512
        n += Int(st.st_size)
      }
      return (a, n)
    }
    let before = onDisk()
    #expect(before.allocated >= before.size * 9 / 10)
    var seen = 0
    var midway: (allocated: Int, size: Int)? = nil
    var last = ""
    try sorter.drain { line in
      let key = String(decoding: line.prefix(8), as: UTF8.self)
      #expect(key >= last)
      last = key
      seen += 1
      if seen == keys.count * 3 / 4 { midway = onDisk() }
    }
    #expect(seen == keys.count)
    let m = try #require(midway)
    #expect(m.size == before.size)
    if canPunch {
      #expect(
        m.allocated < m.size / 2, "runs still hold \(m.allocated) of \(m.size) bytes three quarters through the merge")
    }
    #expect(try FileManager.default.contentsOfDirectory(atPath: runDir).isEmpty)
  }

  /// The worker cannot write a run (its folder is gone): the error surfaces on a later `add` or at
  /// `drain`, never silently.
  @Test func sorterWorkerErrorSurfaces() throws {
    let dir = try TempDirectory(prefix: "sort")
    let sorter = try ExternalSorter(directory: dir.path + "/s", maxRecords: 10)
    try FileManager.default.removeItem(atPath: dir.path + "/s")
    #expect(throws: StagingError.self) {
      for i in 0..<100 { try sorter.add { $0.append(contentsOf: "line \(i)".utf8) } }
      try sorter.drain { _ in }
    }
  }
}

/// Pass 1 seeks past the app payment rows when the extract manifest lists the file's sections
/// (`FileSection`): the output must be what reading the whole file gives, sections that do not fall
/// on line starts are ignored, and a row of another kind inside a skipped section stops the run with
/// a clear error instead of being lost.
@Suite struct FileSectionTests {
  static let outputs = [
    "customers.ndjson", "plans.ndjson", "invoices.ndjson", "cancellations.ndjson", "attributes.ndjson",
    "rejects.ndjson", "skipped.ndjson",
  ]

  /// Sections of fixtures/extract/basic/postgres.ndjson, one per run of equal kinds, measured from
  /// the file itself; `userLines` moves the users/transactions boundary.
  static func sections(userLines: Int? = nil) throws -> JSONObject {
    let text = try String(contentsOfFile: RepositoryPaths.fixture("extract/basic/postgres.ndjson"), encoding: .utf8)
    var runs: [(kind: String, lines: Int, bytes: Int)] = []
    for (i, line) in text.split(separator: "\n").enumerated() {
      var kind = String(line.split(separator: "\"kind\":\"")[1].prefix { $0 != "\"" })
      if let userLines, kind == "app.user", i >= userLines { kind = "app.transaction" }
      if let last = runs.last, last.kind == kind {
        runs[runs.count - 1].lines += 1
        runs[runs.count - 1].bytes += line.utf8.count + 1
      } else {
        runs.append((kind, 1, line.utf8.count + 1))
      }
    }
    let list = runs.map { FileSection(kind: $0.kind, lines: $0.lines, bytes: Int64($0.bytes)).json }
    return ["sources": ["postgres": [FileSection.detailsKey: .array(list)]]]
  }

  @Test func skippingPaymentSectionsGivesTheSameOutput() async throws {
    let whole = try TransformHarness.fixture("basic")
    try await whole.transform()
    let details = try Self.sections()
    let kinds = details["sources"]?["postgres"]?[FileSection.detailsKey]?.arrayValue?.compactMap {
      $0["kind"]?.stringValue
    }
    #expect(kinds == ["app.user", "app.transaction", "app.refund", "app.subscription"])
    let skipping = try TransformHarness.fixture("basic", details: details)
    try await skipping.transform()
    for name in Self.outputs { #expect(try whole.bytes(name) == skipping.bytes(name), "\(name)") }
  }

  @Test func sectionsOffLineStartsAreIgnored() async throws {
    var details = try Self.sections()
    // Shift the first boundary by one byte (totals unchanged): the file is read whole.
    var list = details["sources"]!["postgres"]![FileSection.detailsKey]!.arrayValue!
    list[0] =
      FileSection(
        kind: "app.user", lines: list[0]["lines"]!.int64Value.map(Int.init)!, bytes: list[0]["bytes"]!.int64Value! - 1
      ).json
    list[1] =
      FileSection(
        kind: "app.transaction", lines: list[1]["lines"]!.int64Value.map(Int.init)!,
        bytes: list[1]["bytes"]!.int64Value! + 1
      ).json
    details["sources"] = ["postgres": [FileSection.detailsKey: .array(list)]]
    let whole = try TransformHarness.fixture("basic")
    try await whole.transform()
    let shifted = try TransformHarness.fixture("basic", details: details)
    try await shifted.transform()
    for name in Self.outputs { #expect(try whole.bytes(name) == shifted.bytes(name), "\(name)") }
  }

  @Test func aUserRowInsideThePaymentSectionIsAnError() async throws {
    // The manifest claims the 7th user row belongs to the transactions section.
    let h = try TransformHarness.fixture("basic", details: try Self.sections(userLines: 6))
    await #expect {
      try await h.transform()
    } throws: { e in
      let s = "\(e)"
      return s.contains("postgres.ndjson line 7") && s.contains("changed after extract")
    }
  }
}

import Foundation
import RevenueCore

/// The suite's figures: kills survived, faults injected, bad records tried, records lost and
/// duplicated. Every test adds what it did; the totals are printed once when the test process exits
/// (`reliability: …` on stderr) and, when `ETL_RELIABILITY_FIGURES` names a file, appended to it one
/// JSON line per test so `scripts/reliability` can print the grand total.
final class ReliabilityFigures: @unchecked Sendable {
  // Every field is guarded by `lock`.
  static let shared = ReliabilityFigures()
  private let lock = NSLock()
  private var totals: [String: Int] = [:]
  private var registered = false

  static let keys = [
    "kills", "faults", "bad_records", "fuzz_inputs", "secrets_checked", "tampered", "poison", "hostile_yaml", "lost",
    "duplicated",
  ]

  /// Adds `figures` (keys from `keys`) for `test`.
  static func add(_ test: String, _ figures: [String: Int]) {
    shared.add(test, figures)
  }

  private func add(_ test: String, _ figures: [String: Int]) {
    lock.lock()
    for (k, v) in figures { totals[k, default: 0] += v }
    if !registered {
      registered = true
      atexit { ReliabilityFigures.printTotals() }
    }
    lock.unlock()
    if let file = ProcessInfo.processInfo.environment["ETL_RELIABILITY_FIGURES"], !file.isEmpty {
      let fields = ([("test", "\"\(test)\"")] + figures.sorted { $0.key < $1.key }.map { ($0.key, "\($0.value)") })
        .map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",")
      let line = "{\(fields)}\n"
      let fd = open(file, O_WRONLY | O_APPEND | O_CREAT, 0o600)
      if fd >= 0 {
        _ = line.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress!, $0.count - 1) }
        close(fd)
      }
    }
  }

  static func summaryLine() -> String {
    shared.lock.lock()
    let t = shared.totals
    shared.lock.unlock()
    return "reliability: " + keys.map { "\($0)=\(t[$0] ?? 0)" }.joined(separator: " ")
  }

  private static func printTotals() {
    let line = summaryLine() + "\n"
    FileHandle.standardError.write(Data(line.utf8))
  }

  /// Whether `ETL_RELIABILITY_LONG=1` (set by `scripts/reliability --long`) asks for long runs.
  static var long: Bool { ProcessInfo.processInfo.environment["ETL_RELIABILITY_LONG"] == "1" }

  /// `short` in the default (CI) size, `long` with `--long`.
  static func iterations(_ short: Int, long: Int) -> Int { Self.long ? long : short }

  /// The suite's random seed: `ETL_RELIABILITY_SEED` when set, else a fresh one (printed by users).
  static let seed: UInt64 = {
    if let s = ProcessInfo.processInfo.environment["ETL_RELIABILITY_SEED"], let v = UInt64(s) { return v }
    return UInt64.random(in: 1...UInt64(UInt32.max))
  }()
}

/// Every random choice of the suite comes from a seeded generator, so it can be replayed.
typealias SeededRandom = SplitMix64

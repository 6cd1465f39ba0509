import ETLTestSupport
import Extract
import Foundation
import RevenueCore
import Staging
import Testing

/// the NDJSON and CSV readers take random bytes and structured mutations of real
/// exports; they must return rows or a typed error, never crash, loop or lose a line. Bounded
/// iterations; the seed is printed with every failure (`ETL_RELIABILITY_SEED=<n>` replays it).
@Suite("Fuzz: NDJSON and CSV readers")
struct ReaderFuzzTests {
  static let iterations = ReliabilityFigures.iterations(300, long: 5000)

  static func mutate(_ input: [UInt8], _ rng: inout SeededRandom) -> [UInt8] {
    var b = input
    let specials: [[UInt8]] = [
      [0x22], [0x2C], [0x0A], [0x0D], [0x0D, 0x0A], [0xEF, 0xBB, 0xBF], [0xFF], [0xC3], [0x00],
      [0x7B], [0x7D], [0x5C], Array("\"\"".utf8), Array("1e999999".utf8), Array("-0".utf8), [0xF0, 0x9F, 0x98],
    ]
    for _ in 0..<Int.random(in: 1...8, using: &rng) {
      let at = b.isEmpty ? 0 : Int.random(in: 0..<b.count, using: &rng)
      switch Int.random(in: 0..<6, using: &rng) {
      case 0 where !b.isEmpty: b[at] = UInt8.random(in: 0...255, using: &rng)
      case 1: b.insert(contentsOf: specials.randomElement(using: &rng)!, at: at)
      case 2 where !b.isEmpty: b.removeSubrange(at..<min(b.count, at + Int.random(in: 1...64, using: &rng)))
      case 3 where !b.isEmpty: b.removeSubrange(at...)  // truncated
      case 4 where !b.isEmpty:
        let end = min(b.count, at + Int.random(in: 1...200, using: &rng))
        let piece = Array(b[at..<end])
        b.insert(contentsOf: piece, at: Int.random(in: 0...b.count, using: &rng))
      default: b += (0..<Int.random(in: 1...100, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
      }
    }
    return b
  }

  static func seeds() throws -> [[UInt8]] {
    var out: [[UInt8]] = []
    for f in ["exports/stripe/payments.csv", "exports/paypal/activity-eur.csv", "exports/cashier/transactions.csv"] {
      out.append(Array(try Data(contentsOf: URL(fileURLWithPath: RepositoryPaths.fixture(f)))))
    }
    return out
  }

  @Test("CSV reader: random and mutated exports give rows or a CSVError, with rising line numbers")
  func csv() throws {
    let dir = try TempDirectory(prefix: "rel-fuzz")
    let seed = ReliabilityFigures.seed
    var rng = SeededRandom(seed: seed)
    let corpus = try Self.seeds()
    for i in 0..<Self.iterations {
      let input =
        i % 5 == 4
        ? (0..<Int.random(in: 0...2000, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        : Self.mutate(corpus[i % corpus.count], &rng)
      let path = dir.file("f.csv")
      FileManager.default.createFile(atPath: path, contents: Data(input))
      var last = 0
      var rows = 0
      do {
        try CSVReader(path: path, maxRowBytes: 1 << 16, chunkSize: 1 + (i % 7) * 997).forEachRow { row in
          #expect(row.line > last, "seed \(seed) iteration \(i): line \(row.line) after \(last)")
          last = row.line
          rows += 1
        }
      } catch is CSVError {
      } catch {
        Issue.record("seed \(seed) iteration \(i): unexpected \(type(of: error)): \(error)")
      }
      #expect(rows <= input.count + 1, "seed \(seed) iteration \(i)")
    }
    ReliabilityFigures.add("fuzz-csv", ["fuzz_inputs": Self.iterations])
  }

  @Test("NDJSON reader: every line is a value or a typed parse error; the line count matches the newlines")
  func ndjson() throws {
    let dir = try TempDirectory(prefix: "rel-fuzz")
    let seed = ReliabilityFigures.seed &+ 1
    var rng = SeededRandom(seed: seed)
    var base: [UInt8] = []
    for i in 0..<40 {
      base +=
        JSONWriter.bytes([
          "id": .string("tx_\(i)"), "amount": .number("\(i * 137).50"), "nested": ["a": [1, 2, .null], "ü": "ß"],
          "flag": .bool(i % 2 == 0),
        ]) + [0x0A]
    }
    for i in 0..<Self.iterations {
      let input =
        i % 5 == 4
        ? (0..<Int.random(in: 0...2000, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        : Self.mutate(base, &rng)
      let path = dir.file("f.ndjson")
      FileManager.default.createFile(atPath: path, contents: Data(input))
      var values = 0
      var errors = 0
      do {
        try NDJSONReader(path: path, chunkSize: 1 + (i % 5) * 1013).forEachValue { result, _ in
          switch result {
          case .success: values += 1
          case .failure: errors += 1
          }
        }
      } catch is StagingError {
        continue
      } catch {
        Issue.record("seed \(seed) iteration \(i): unexpected \(type(of: error)): \(error)")
        continue
      }
      let lines = try NDJSONReader(path: path).countLines()
      #expect(
        values + errors <= lines + 1, "seed \(seed) iteration \(i): \(values)+\(errors) values from \(lines) lines")
      #expect(
        values + errors > 0 || input.allSatisfy { $0 == 0x0A || $0 == 0x0D || $0 == 0x20 } || input.isEmpty
          || lines == 0,
        "seed \(seed) iteration \(i): a non-empty file gave nothing")
    }
    ReliabilityFigures.add("fuzz-ndjson", ["fuzz_inputs": Self.iterations])
  }
}

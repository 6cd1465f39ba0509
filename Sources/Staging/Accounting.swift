import Foundation
import RevenueCore

/// Record accounting for a stage or a source: every input record is accounted for exactly once.
///
/// The identity `in = out + rejected + skipped + failed` is enforced before a stage is published
/// (docs/architecture.md "The staging contract"; `failed` is only used by load, where a record can be sent and refused).
public struct Accounting: Sendable, Hashable {
  public var input: Int
  public var output: Int
  public var rejected: Int
  public var skipped: Int
  public var failed: Int

  public init(input: Int = 0, output: Int = 0, rejected: Int = 0, skipped: Int = 0, failed: Int = 0) {
    self.input = input
    self.output = output
    self.rejected = rejected
    self.skipped = skipped
    self.failed = failed
  }

  public var isBalanced: Bool { input == output + rejected + skipped + failed }

  public static func + (a: Accounting, b: Accounting) -> Accounting {
    Accounting(
      input: a.input + b.input, output: a.output + b.output, rejected: a.rejected + b.rejected,
      skipped: a.skipped + b.skipped, failed: a.failed + b.failed)
  }

  public var json: JSONValue {
    [
      "in": .int(input), "out": .int(output), "rejected": .int(rejected), "skipped": .int(skipped),
      "failed": .int(failed),
    ]
  }

  public init(json: JSONValue) throws(RecordShapeError) {
    let r = try FieldReader(json, what: "accounting")
    input = Int(try r.int("in"))
    output = Int(try r.int("out"))
    rejected = Int(try r.int("rejected"))
    skipped = Int(try r.int("skipped"))
    failed = Int(try r.optionalInt("failed") ?? 0)
  }

  /// `in 51,204 = out 50,977 + rejected 118 + skipped 109`.
  public var equation: String {
    var s = "in \(input.grouped) = out \(output.grouped) + rejected \(rejected.grouped) + skipped \(skipped.grouped)"
    if failed > 0 { s += " + failed \(failed.grouped)" }
    return s
  }
}

extension Int {
  /// `51204` → `51,204`.
  public var grouped: String {
    let s = String(self.magnitude)
    var out = ""
    for (i, c) in s.enumerated() {
      if i > 0 && (s.count - i) % 3 == 0 { out.append(",") }
      out.append(c)
    }
    return self < 0 ? "-" + out : out
  }
}

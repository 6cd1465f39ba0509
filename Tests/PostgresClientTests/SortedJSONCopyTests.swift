import RevenueCore
import Testing

@testable import PostgresClient

/// The json/jsonb fast path must write exactly what `JSONWriter(JSONParser.parse(text))` writes, or
/// decline (write nothing) and leave the text to that generic path.
@Suite("json column fast path")
struct SortedJSONCopyTests {
  static let handled = [
    #"{"invoice_id": "in_1", "attempt": 1, "coupon": null}"#,
    #"{"b": {"z": [1, 2.50, -3e+2, {"y": true, "x": false}], "a": {}}, "a": []}"#,
    #"  {"ab c": 1, "ab": 2, "a": 3, "ab!": 4}  "#,
    #"[{"b":1,"a":2},"s",0,-0.5,1E9]"#,
    #""plain""#, "12", "true", "null", "{}", "[]",
    #"{"livemode": false, "invoice_id": "app-inv-7", "attempt": 1}"#,
  ]
  static let declined = [
    #"{"a": "x\\y"}"#,  // escape
    #"{"a": "é"}"#,  // non-ASCII (left to the validating parser)
    #"{"a": 1, "a": 2}"#,  // duplicate keys (json, not jsonb)
    #"{"a": 01}"#, #"{"a": 1,}"#, #"{"a" 1}"#, "[1 2]", "tru", "", "{} x", "-", "1.", "1e",
    "[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]",  // deeper than maxDepth
  ]

  func fast(_ text: String) -> [UInt8]? {
    var out: [UInt8] = [0x41]
    let bytes = Array(text.utf8)
    let ok = bytes.withUnsafeBytes { SortedJSONCopy.write($0, into: &out) }
    if !ok {
      #expect(out == [0x41], "a declined text must leave the output as it was: \(text)")
      return nil
    }
    return Array(out.dropFirst())
  }

  @Test("handled texts match parse + JSONWriter byte for byte", arguments: handled)
  func matchesGenericPath(_ text: String) throws {
    let got = try #require(fast(text), "\(text) should take the fast path")
    #expect(got == JSONWriter.bytes(try JSONParser.parse(text)))
  }

  @Test("escapes, non-ASCII, duplicates, bad syntax and deep nesting are declined", arguments: declined)
  func declines(_ text: String) {
    #expect(fast(text) == nil, "\(text)")
  }

  @Test("many generated objects agree with the generic path")
  func generated() throws {
    var seed: UInt64 = 42
    func next(_ n: UInt64) -> Int {
      seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return Int((seed >> 33) % n)
    }
    let atoms = ["1", "-2.5", "3e7", "true", "false", "null", #""v""#, #""a b""#, "[]", "{}"]
    for _ in 0..<500 {
      var keys = Set<String>()
      var parts: [String] = []
      for _ in 0..<(1 + next(12)) {
        let k = String((0..<(1 + next(3))).map { _ in "ab_ Z0"[String.Index(utf16Offset: next(6), in: "ab_ Z0")] })
        guard keys.insert(k).inserted else { continue }
        let v = next(5) == 0 ? #"{"q": [\#(atoms[next(10)]), \#(atoms[next(10)])], "p": 0}"# : atoms[next(10)]
        parts.append("\"\(k)\" : \(v)")
      }
      let text = "{" + parts.joined(separator: ", ") + "}"
      let got = try #require(fast(text), "\(text)")
      #expect(got == JSONWriter.bytes(try JSONParser.parse(text)), "\(text)")
    }
  }
}

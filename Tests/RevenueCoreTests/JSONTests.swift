import Foundation
import Testing

@testable import RevenueCore

@Suite("JSON parser and writer")
struct JSONTests {
  @Test("decodes escapes, unicode and surrogate pairs exactly")
  func escapes() throws {
    let v = try JSONParser.parse(#"{"a":"say \"hi\" \\ \/ \n\t\u00e9\ud83d\ude00","b":"Ünïcödé ✓"}"#)
    #expect(v["a"]?.stringValue == "say \"hi\" \\ / \n\té😀")
    #expect(v["b"]?.stringValue == "Ünïcödé ✓")
  }

  @Test("keeps numbers as written")
  func numbers() throws {
    let v = try JSONParser.parse(#"[0, -12, 3.50, 1e3, 12345678901234567890]"#)
    #expect(v.arrayValue?.map { $0.numberText } == ["0", "-12", "3.50", "1e3", "12345678901234567890"])
    #expect(v.arrayValue?[1].int64Value == -12)
    #expect(v.arrayValue?[2].int64Value == nil)
  }

  @Test(
    "rejects malformed documents with an offset",
    arguments: [
      #"{"a":1"#, #"{"a" 1}"#, "[1,]", "01", "-", "1.", "\"abc", #"{"a":tru}"#, #"["\x"]"#, #""\ud800""#,
      "{} x", "", "[\"a\u{1}b\"]", "nul",
    ])
  func malformed(_ text: String) {
    #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
  }

  @Test("rejects invalid UTF-8 in strings")
  func invalidUTF8() {
    let bytes: [UInt8] = Array(#"{"name":""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)
    #expect(throws: JSONParseError.self) { try JSONParser.parse(bytes) }
  }

  @Test("rejects nesting deeper than the limit instead of overflowing the stack")
  func depth() {
    let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
    #expect(throws: JSONParseError.self) { try JSONParser.parse(deep) }
  }

  @Test("writes sorted keys, escapes control characters and never escapes slashes")
  func writer() throws {
    let v: JSONValue = ["b": 1, "a": ["x/y", "line\nbreak\u{1}", .null, true]]
    #expect(JSONWriter.string(v) == #"{"a":["x/y","line\nbreak\u0001",null,true],"b":1}"#)
  }

  @Test("write → parse round-trips generated values")
  func roundTrip() throws {
    var rng = SystemRandomNumberGenerator()
    for _ in 0..<300 {
      let v = Self.randomValue(depth: 0, rng: &rng)
      let text = JSONWriter.bytes(v)
      let parsed = try JSONParser.parse(text)
      // Same content (the writer sorts keys, so compare canonical bytes) and a stable second write.
      #expect(JSONWriter.bytes(parsed) == text)
      #expect(Self.normalised(parsed) == Self.normalised(v))
    }
  }

  @Test("agrees with Foundation's JSONSerialization on generated documents")
  func agreesWithFoundation() throws {
    var rng = SystemRandomNumberGenerator()
    for _ in 0..<200 {
      let v = Self.randomValue(depth: 0, rng: &rng)
      let bytes = JSONWriter.bytes(v)
      let foundation = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
      let reencoded = try JSONSerialization.data(withJSONObject: foundation, options: [.sortedKeys, .fragmentsAllowed])
      let ours = try JSONParser.parse(bytes)
      let theirs = try JSONParser.parse([UInt8](reencoded))
      #expect(Self.normalised(ours) == Self.normalised(theirs))
    }
  }

  /// Values with numbers compared numerically (Foundation rewrites number text).
  static func normalised(_ v: JSONValue) -> JSONValue {
    switch v {
    case .number(let n): return .number(String(Double(n)!))
    case .array(let a): return .array(a.map(normalised))
    case .object(let o):
      return .object(JSONObject(o.fields.map { JSONField($0.key, normalised($0.value)) }.sorted { $0.key < $1.key }))
    default: return v
    }
  }

  static func randomString(rng: inout SystemRandomNumberGenerator) -> String {
    let pool: [Character] = ["a", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "\u{1}", "é", "😀", "ß", "'", "{", "]"]
    return String((0..<Int.random(in: 0...12, using: &rng)).map { _ in pool.randomElement(using: &rng)! })
  }

  static func randomValue(depth: Int, rng: inout SystemRandomNumberGenerator) -> JSONValue {
    let pick = depth > 3 ? Int.random(in: 0...3, using: &rng) : Int.random(in: 0...5, using: &rng)
    switch pick {
    case 0: return .null
    case 1: return .bool(Bool.random(using: &rng))
    case 2: return .int(Int64.random(in: -1_000_000...1_000_000, using: &rng))
    case 3: return .string(randomString(rng: &rng))
    case 4:
      return .array((0..<Int.random(in: 0...4, using: &rng)).map { _ in randomValue(depth: depth + 1, rng: &rng) })
    default:
      var o = JSONObject()
      for i in 0..<Int.random(in: 0...4, using: &rng) {
        o[randomString(rng: &rng) + "\(i)"] = randomValue(depth: depth + 1, rng: &rng)
      }
      return .object(o)
    }
  }
}

import Foundation
import RevenueCore

/// Strict field reader over one request object: collects every problem as (field, message)
/// instead of stopping at the first, rejects unknown fields, and never coerces types
/// (`"100"` is not an integer, `1.5` is not an amount). `null` counts as absent.
struct Checker {
  let object: JSONObject
  let prefix: String
  private(set) var errors: [(String, String)] = []

  init(_ object: JSONObject, allowed: [String], prefix: String = "") {
    self.object = object
    self.prefix = prefix
    for f in object.fields where !allowed.contains(f.key) {
      errors.append((name(f.key), "is not a known field; allowed fields: \(allowed.joined(separator: ", "))"))
    }
  }

  /// An object from a JSON value, or an error when it is something else.
  static func object(_ v: JSONValue, allowed: [String], prefix: String, errors: inout [(String, String)]) -> Checker? {
    guard let o = v.objectValue else {
      errors.append((prefix, "must be a JSON object"))
      return nil
    }
    return Checker(o, allowed: allowed, prefix: prefix)
  }

  var ok: Bool { errors.isEmpty }

  func name(_ key: String) -> String { prefix.isEmpty ? key : "\(prefix).\(key)" }

  mutating func fail(_ key: String, _ message: String) { errors.append((name(key), message)) }

  private func present(_ key: String) -> JSONValue? {
    guard let v = object[key], !v.isNull else { return nil }
    return v
  }

  mutating func missing(_ key: String, required: Bool) {
    if required { fail(key, "is required") }
  }

  mutating func string(_ key: String, required: Bool = false, maxLength: Int? = nil) -> String? {
    guard let v = present(key) else {
      missing(key, required: required)
      return nil
    }
    guard let s = v.stringValue else {
      fail(key, "must be a string")
      return nil
    }
    if required && s.trimmingCharacters(in: .whitespaces).isEmpty {
      fail(key, "must not be empty")
      return nil
    }
    if let m = maxLength, s.count > m {
      fail(key, "must be at most \(m) characters")
      return nil
    }
    return s
  }

  /// A JSON integer (no fraction, no exponent, no string).
  mutating func int(_ key: String, required: Bool = false) -> Int64? {
    guard let v = present(key) else {
      missing(key, required: required)
      return nil
    }
    guard let n = v.int64Value else {
      fail(key, v.numberText != nil ? "must be an integer (minor units), got \(v.numberText!)" : "must be an integer")
      return nil
    }
    return n
  }

  mutating func bool(_ key: String) -> Bool? {
    guard let v = present(key) else { return nil }
    guard let b = v.boolValue else {
      fail(key, "must be true or false")
      return nil
    }
    return b
  }

  /// ISO 8601 timestamp (offset honoured; none = UTC) or `YYYY-MM-DD[ HH:MM:SS]`.
  mutating func timestamp(_ key: String, required: Bool = false) -> Int64? {
    guard let s = string(key, required: required) else { return nil }
    guard let t = Timestamp.parse(s) else {
      fail(key, "must be an ISO 8601 timestamp, got '\(s)'")
      return nil
    }
    return t.seconds
  }

  /// An ISO 4217 code in upper case that the sandbox knows.
  mutating func currency(_ key: String, required: Bool = false) -> String? {
    guard let s = string(key, required: required) else { return nil }
    guard s.count == 3, s == s.uppercased(), Currency(s) != nil else {
      fail(key, "must be an ISO 4217 currency code such as USD, got '\(s)'")
      return nil
    }
    return s
  }

  mutating func choice(_ key: String, _ allowed: [String], required: Bool = false) -> String? {
    guard let s = string(key, required: required) else { return nil }
    guard allowed.contains(s) else {
      fail(key, "must be one of \(allowed.joined(separator: ", ")), got '\(s)'")
      return nil
    }
    return s
  }

  mutating func array(_ key: String, required: Bool = false) -> [JSONValue]? {
    guard let v = present(key) else {
      missing(key, required: required)
      return nil
    }
    guard let a = v.arrayValue else {
      fail(key, "must be an array")
      return nil
    }
    return a
  }

  mutating func objectField(_ key: String) -> JSONObject? {
    guard let v = present(key) else { return nil }
    guard let o = v.objectValue else {
      fail(key, "must be an object")
      return nil
    }
    return o
  }

  mutating func stringArray(_ key: String) -> [String]? {
    guard let a = array(key) else { return nil }
    var out: [String] = []
    for (i, v) in a.enumerated() {
      guard let s = v.stringValue, !s.isEmpty else {
        errors.append((name("\(key)[\(i)]"), "must be a non-empty string"))
        continue
      }
      out.append(s)
    }
    return out
  }

  mutating func absorb(_ other: [(String, String)]) { errors.append(contentsOf: other) }
}

/// ChartMogul's exact duplicate messages (reference §3–§6).
enum DuplicateMessage {
  static let customer = "The external ID for this customer already exists in our system."
  static let plan = "A plan with this identifier already exists in our system."
  static let invoice = "The external ID for this invoice already exists in our system."
  static let lineItem = "The external ID for this line item already exists in our system."
  static let transaction = "has already been taken"
  static let dataSourceName = "Has already been taken."
}

/// Custom attribute rules (reference §4): types String (≤255), Integer, Decimal, Timestamp, Boolean.
enum CustomAttributeRules {
  static let types = ["String", "Integer", "Decimal", "Timestamp", "Boolean"]

  static func validKey(_ k: String) -> Bool {
    !k.isEmpty
      && k.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 95 }
  }

  /// Normalises `value` for `type`, or returns the reason it does not fit.
  static func normalise(_ value: JSONValue, type: String) -> Result<JSONValue, SBFieldError> {
    switch type {
    case "String":
      guard let s = value.stringValue else { return .failure(SBFieldError("must be a string for type String")) }
      guard s.count <= 255 else { return .failure(SBFieldError("must be at most 255 characters")) }
      return .success(.string(s))
    case "Integer":
      guard let n = value.int64Value else { return .failure(SBFieldError("must be an integer for type Integer")) }
      return .success(.int(n))
    case "Decimal":
      guard let t = value.numberText else { return .failure(SBFieldError("must be a number for type Decimal")) }
      return .success(.number(t))
    case "Timestamp":
      guard let s = value.stringValue, let t = Timestamp.parse(s) else {
        return .failure(SBFieldError("must be an ISO 8601 timestamp for type Timestamp"))
      }
      return .success(.string(t.chartMogulMillis))
    case "Boolean":
      if let b = value.boolValue { return .success(.bool(b)) }
      let text = value.scalarText ?? ""
      if ["TRUE", "true", "t", "1"].contains(text) { return .success(.bool(true)) }
      if ["FALSE", "false", "f", "0"].contains(text) { return .success(.bool(false)) }
      return .failure(SBFieldError("must be a boolean (true/false/t/f/1/0) for type Boolean"))
    default:
      return .failure(SBFieldError("type must be one of \(types.joined(separator: ", "))"))
    }
  }
}

struct SBFieldError: Error {
  var message: String
  init(_ m: String) { message = m }
}

/// A JSON document as a value: the common currency of every staged file.
///
/// Numbers keep their original text so that amounts and identifiers round-trip exactly (no
/// floating point). Objects keep their keys in input order; `JSONWriter` sorts them when it writes,
/// so output is deterministic regardless of how a value was built.
public enum JSONValue: Sendable, Hashable {
  case null
  case bool(Bool)
  /// The number exactly as written in the source (validated JSON number syntax).
  case number(String)
  case string(String)
  case array([JSONValue])
  case object(JSONObject)

  public static func int(_ value: Int64) -> JSONValue { .number(String(value)) }
  public static func int(_ value: Int) -> JSONValue { .number(String(value)) }

  // MARK: - Accessors (nil when the value has another type)

  public var isNull: Bool { if case .null = self { return true } else { return false } }

  public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }

  public var boolValue: Bool? { if case .bool(let b) = self { return b } else { return nil } }

  public var objectValue: JSONObject? { if case .object(let o) = self { return o } else { return nil } }

  public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }

  /// The raw text of a number, nil for other types.
  public var numberText: String? { if case .number(let n) = self { return n } else { return nil } }

  /// An integral number that fits in Int64 (`12`, `-3`; not `1.5`, not `1e3`).
  public var int64Value: Int64? {
    guard case .number(let n) = self else { return nil }
    return Int64(n)
  }

  public var doubleValue: Double? {
    guard case .number(let n) = self else { return nil }
    return Double(n)
  }

  /// Member of an object (nil for non-objects or missing keys).
  public subscript(key: String) -> JSONValue? {
    guard case .object(let o) = self else { return nil }
    return o[key]
  }

  /// Text of a scalar: strings as they are, numbers as written, booleans as `true`/`false`.
  public var scalarText: String? {
    switch self {
    case .string(let s): return s
    case .number(let n): return n
    case .bool(let b): return b ? "true" : "false"
    default: return nil
    }
  }
}

/// One member of a JSON object.
public struct JSONField: Sendable, Hashable {
  public var key: String
  public var value: JSONValue
  public init(_ key: String, _ value: JSONValue) {
    self.key = key
    self.value = value
  }
}

/// A JSON object that keeps insertion order. Lookups scan linearly: staged records have a few dozen
/// keys at most, where a scan beats hashing.
public struct JSONObject: Sendable, Hashable, Sequence {
  public var fields: [JSONField]

  public init() { fields = [] }
  public init(_ fields: [JSONField]) { self.fields = fields }
  public init(_ pairs: KeyValuePairs<String, JSONValue>) {
    fields = pairs.map { JSONField($0.key, $0.value) }
  }

  public var count: Int { fields.count }
  public var keys: [String] { fields.map(\.key) }

  public subscript(key: String) -> JSONValue? {
    get {
      for f in fields where f.key == key { return f.value }
      return nil
    }
    set {
      if let i = fields.firstIndex(where: { $0.key == key }) {
        if let v = newValue { fields[i].value = v } else { fields.remove(at: i) }
      } else if let v = newValue {
        fields.append(JSONField(key, v))
      }
    }
  }

  /// Sets `key` only when `value` is non-nil (optional fields are omitted, never written as null).
  public mutating func set(_ key: String, _ value: JSONValue?) {
    if let value { self[key] = value }
  }

  public func makeIterator() -> IndexingIterator<[JSONField]> { fields.makeIterator() }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
  ExpressibleByNilLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
  public init(stringLiteral value: String) { self = .string(value) }
  public init(booleanLiteral value: Bool) { self = .bool(value) }
  public init(integerLiteral value: Int) { self = .number(String(value)) }
  public init(nilLiteral: ()) { self = .null }
  public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
  public init(dictionaryLiteral elements: (String, JSONValue)...) {
    self = .object(JSONObject(elements.map { JSONField($0.0, $0.1) }))
  }
}

extension JSONValue {
  /// `.string(s)` or nil when `s` is nil.
  public static func optional(_ s: String?) -> JSONValue? { s.map { .string($0) } }
  /// `.int(n)` or nil when `n` is nil.
  public static func optional(_ n: Int64?) -> JSONValue? { n.map { .int($0) } }
}

extension JSONObject: ExpressibleByDictionaryLiteral {
  public init(dictionaryLiteral elements: (String, JSONValue)...) {
    self.init(elements.map { JSONField($0.0, $0.1) })
  }
}

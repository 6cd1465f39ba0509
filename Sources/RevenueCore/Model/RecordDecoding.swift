/// Why a staged record does not have the shape its file promises.
public struct RecordShapeError: Error, Sendable, Equatable, CustomStringConvertible {
  public var field: String
  public var reason: String
  public init(field: String, reason: String) {
    self.field = field
    self.reason = reason
  }
  public var description: String { "field '\(field)' \(reason)" }
}

/// Typed reads from a JSON object with errors that name the field.
public struct FieldReader {
  public let object: JSONObject
  public init(_ value: JSONValue, what: String = "record") throws(RecordShapeError) {
    guard case .object(let o) = value else { throw RecordShapeError(field: what, reason: "is not a JSON object") }
    object = o
  }
  public init(object: JSONObject) { self.object = object }

  public func string(_ key: String) throws(RecordShapeError) -> String {
    guard let v = object[key], !v.isNull else { throw RecordShapeError(field: key, reason: "is missing") }
    guard let s = v.stringValue else { throw RecordShapeError(field: key, reason: "is not a string") }
    return s
  }

  public func optionalString(_ key: String) throws(RecordShapeError) -> String? {
    guard let v = object[key], !v.isNull else { return nil }
    guard let s = v.stringValue else { throw RecordShapeError(field: key, reason: "is not a string") }
    return s
  }

  public func int(_ key: String) throws(RecordShapeError) -> Int64 {
    guard let v = object[key], !v.isNull else { throw RecordShapeError(field: key, reason: "is missing") }
    guard let n = v.int64Value else { throw RecordShapeError(field: key, reason: "is not an integer") }
    return n
  }

  public func optionalInt(_ key: String) throws(RecordShapeError) -> Int64? {
    guard let v = object[key], !v.isNull else { return nil }
    guard let n = v.int64Value else { throw RecordShapeError(field: key, reason: "is not an integer") }
    return n
  }

  public func bool(_ key: String, default d: Bool) throws(RecordShapeError) -> Bool {
    guard let v = object[key], !v.isNull else { return d }
    guard let b = v.boolValue else { throw RecordShapeError(field: key, reason: "is not a boolean") }
    return b
  }

  public func timestamp(_ key: String) throws(RecordShapeError) -> Timestamp {
    let s = try string(key)
    guard let t = Timestamp.parse(s) else { throw RecordShapeError(field: key, reason: "'\(s)' is not a timestamp") }
    return t
  }

  public func optionalTimestamp(_ key: String) throws(RecordShapeError) -> Timestamp? {
    guard let s = try optionalString(key) else { return nil }
    guard let t = Timestamp.parse(s) else { throw RecordShapeError(field: key, reason: "'\(s)' is not a timestamp") }
    return t
  }

  public func array(_ key: String) throws(RecordShapeError) -> [JSONValue] {
    guard let v = object[key], !v.isNull else { return [] }
    guard let a = v.arrayValue else { throw RecordShapeError(field: key, reason: "is not an array") }
    return a
  }

  public func stringArray(_ key: String) throws(RecordShapeError) -> [String] {
    var out: [String] = []
    for v in try array(key) {
      guard let s = v.stringValue else { throw RecordShapeError(field: key, reason: "holds a non-string") }
      out.append(s)
    }
    return out
  }
}

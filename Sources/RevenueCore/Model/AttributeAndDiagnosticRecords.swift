// Enrichment and diagnostics records of the transform stage (see Records.swift for the contract).

/// A ChartMogul custom attribute (`String`, `Integer`, `Decimal`, `Timestamp`, `Boolean`).
public struct CustomAttribute: Sendable, Hashable {
  public enum Kind: String, Sendable, Hashable, CaseIterable {
    case string = "String"
    case integer = "Integer"
    case decimal = "Decimal"
    case timestamp = "Timestamp"
    case boolean = "Boolean"
  }
  public var type: Kind
  public var key: String
  public var value: JSONValue

  public init(type: Kind, key: String, value: JSONValue) {
    self.type = type
    self.key = key
    self.value = value
  }

  public var json: JSONValue { ["type": .string(type.rawValue), "key": .string(key), "value": value] }

  public init(json: JSONValue) throws(RecordShapeError) {
    let r = try FieldReader(json, what: "custom attribute")
    let t = try r.string("type")
    guard let k = Kind(rawValue: t) else {
      throw RecordShapeError(field: "type", reason: "'\(t)' is not a ChartMogul type")
    }
    type = k
    key = try r.string("key")
    guard let v = r.object["value"] else { throw RecordShapeError(field: "value", reason: "is missing") }
    value = v
  }
}

/// Tags and custom attributes of one customer, sent after the bulk import.
public struct AttributeRecord: Sendable, Hashable {
  public var customerExternalID: String
  public var tags: [String]
  public var custom: [CustomAttribute]

  public init(customerExternalID: String, tags: [String], custom: [CustomAttribute]) {
    self.customerExternalID = customerExternalID
    self.tags = tags
    self.custom = custom
  }

  public var json: JSONValue {
    [
      "customer_external_id": .string(customerExternalID), "tags": .array(tags.map { .string($0) }),
      "custom": .array(custom.map(\.json)),
    ]
  }

  public init(json: JSONValue) throws(RecordShapeError) {
    let r = try FieldReader(json, what: "attributes")
    customerExternalID = try r.string("customer_external_id")
    tags = try r.stringArray("tags")
    var c: [CustomAttribute] = []
    for v in try r.array("custom") { c.append(try CustomAttribute(json: v)) }
    custom = c
  }
}

/// A record a stage refused (rejected) or deliberately left out (skipped), with a reason naming it.
///
/// Written to `rejects.ndjson` / `skipped.ndjson`: `source` and `file`/`line` point back at the staged
/// input, `code` is a short machine-readable class (`unmapped_plan`, `bad_amount`, `test_data` …).
public struct DiagnosticRecord: Sendable, Hashable {
  public var source: String
  public var file: String
  public var line: Int
  public var code: String
  public var reason: String
  public var externalID: String?
  public var record: JSONValue?

  public init(
    source: String, file: String, line: Int, code: String, reason: String, externalID: String? = nil,
    record: JSONValue? = nil
  ) {
    self.source = source
    self.file = file
    self.line = line
    self.code = code
    self.reason = reason
    self.externalID = externalID
    self.record = record
  }

  public var json: JSONValue {
    var o = JSONObject()
    o["source"] = .string(source)
    o["file"] = .string(file)
    o["line"] = .int(line)
    o["code"] = .string(code)
    o["reason"] = .string(reason)
    o.set("external_id", .optional(externalID))
    o.set("record", record)
    return .object(o)
  }

  public init(json: JSONValue) throws(RecordShapeError) {
    let r = try FieldReader(json, what: "diagnostic")
    source = try r.string("source")
    file = try r.string("file")
    line = Int(try r.int("line"))
    code = try r.string("code")
    reason = try r.string("reason")
    externalID = try r.optionalString("external_id")
    record = r.object["record"]
  }
}

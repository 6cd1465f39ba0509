import RevenueCore

/// Description of one finished staged file, as listed in a manifest.
public struct FileEntry: Sendable, Hashable {
  public var name: String
  public var lines: Int
  public var bytes: Int64
  public var sha256: String

  public init(name: String, lines: Int, bytes: Int64, sha256: String) {
    self.name = name
    self.lines = lines
    self.bytes = bytes
    self.sha256 = sha256
  }

  public var json: JSONValue {
    ["name": .string(name), "lines": .int(lines), "bytes": .int(bytes), "sha256": .string(sha256)]
  }

  public init(json: JSONValue) throws(RecordShapeError) {
    let r = try FieldReader(json, what: "file entry")
    name = try r.string("name")
    lines = Int(try r.int("lines"))
    bytes = try r.int("bytes")
    sha256 = try r.string("sha256")
  }
}

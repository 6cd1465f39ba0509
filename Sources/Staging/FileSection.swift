import Foundation
import RevenueCore

#if canImport(Glibc)
  import Glibc
#endif

/// A run of consecutive lines of one record kind in a staged file. The Postgres source writes one
/// per query (`details.sources.postgres.sections` of the extract manifest, in file order), so a
/// reader that has no use for a kind can seek past it instead of reading it: transform's first pass
/// skips the `app.transaction` rows, most of the file.
public struct FileSection: Sendable, Equatable {
  public static let detailsKey = "sections"
  public var kind: String
  public var lines: Int
  public var bytes: Int64

  public init(kind: String, lines: Int, bytes: Int64) {
    self.kind = kind
    self.lines = lines
    self.bytes = bytes
  }

  public var json: JSONValue { ["kind": .string(kind), "lines": .int(lines), "bytes": .int(bytes)] }

  /// The sections of `file` (a source's records file) as the manifest lists them, or nil when they are
  /// missing, do not add up to the file's listed lines and bytes, do not start at line starts, or the
  /// file on disk no longer has that size (edited since): the caller then reads the whole file.
  public static func listed(in manifest: Manifest, for file: FileEntry, at path: String) -> [FileSection]? {
    let source = String(file.name.dropLast(".ndjson".count))
    guard file.name.hasSuffix(".ndjson"),
      case .array(let items)? = manifest.details["sources"]?[source]?[detailsKey]
    else { return nil }
    var sections: [FileSection] = []
    for item in items {
      guard let kind = item["kind"]?.stringValue, let lines = item["lines"]?.int64Value,
        let bytes = item["bytes"]?.int64Value, lines >= 0, bytes >= 0
      else { return nil }
      sections.append(FileSection(kind: kind, lines: Int(lines), bytes: bytes))
    }
    guard sections.reduce(0, { $0 + $1.lines }) == file.lines, sections.reduce(0, { $0 + $1.bytes }) == file.bytes,
      let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber,
      size.int64Value == file.bytes, startsOfLines(sections, in: path)
    else { return nil }
    return sections
  }

  /// Does every section after the first start right after a newline?
  static func startsOfLines(_ sections: [FileSection], in path: String) -> Bool {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var at: Int64 = 0
    for s in sections.dropLast() {
      at += s.bytes
      guard at > 0 else { continue }
      var byte: UInt8 = 0
      guard pread(fd, &byte, 1, off_t(at - 1)) == 1, byte == 0x0A else { return false }
    }
    return true
  }
}

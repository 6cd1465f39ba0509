import Foundation
import RevenueCore
import Staging

#if canImport(Glibc)
  import Glibc
#endif

/// The tags and custom attribute values ChartMogul was last confirmed to hold for one customer.
/// Values are kept as their JSON text, so a comparison never depends on number formatting.
struct AttributeSnapshot: Sendable, Hashable {
  var tags: [String]
  var custom: [String: String]

  init(tags: [String], custom: [String: String]) {
    self.tags = tags
    self.custom = custom
  }

  init(_ a: AttributeRecord) {
    tags = a.tags
    var c: [String: String] = [:]
    for x in a.custom { c[x.key] = JSONWriter.string(x.value) }
    custom = c
  }

  /// `GET /v1/customers/{uuid}/attributes` → `{"attributes": {"tags": [...], "custom": {key: value}}}`
  /// (dev.chartmogul.com/reference/customers/attributes/retrieve); a body without the wrapper is read too.
  init?(attributesResponse v: JSONValue) {
    let a = v["attributes"]?.objectValue != nil ? v["attributes"]! : v
    guard a.objectValue != nil else { return nil }
    tags = (a["tags"]?.arrayValue ?? []).compactMap(\.stringValue)
    var c: [String: String] = [:]
    for f in a["custom"]?.objectValue ?? JSONObject() { c[f.key] = JSONWriter.string(f.value) }
    custom = c
  }
}

/// What has to change in ChartMogul to go from `old` to `new`: one request per non-empty kind
/// (dev.chartmogul.com/reference/add-custom-attributes-to-customer defines new custom keys with POST,
/// /reference/update-custom-attributes-of-customer changes defined ones with PUT,
/// /reference/remove-custom-attributes-from-customer removes keys with DELETE; tags are added with
/// POST and removed with DELETE on …/attributes/tags).
struct AttributeDiff: Sendable, Equatable {
  var newCustom: [CustomAttribute] = []
  var changedCustom: [CustomAttribute] = []
  var removedCustom: [String] = []
  var addedTags: [String] = []
  var removedTags: [String] = []

  var isEmpty: Bool {
    newCustom.isEmpty && changedCustom.isEmpty && removedCustom.isEmpty && addedTags.isEmpty && removedTags.isEmpty
  }
  var requestCount: Int {
    [!newCustom.isEmpty, !changedCustom.isEmpty, !removedCustom.isEmpty, !addedTags.isEmpty, !removedTags.isEmpty]
      .filter { $0 }.count
  }

  /// Tags compare case-insensitively (ChartMogul stores them lower-cased); a key absent from `new`
  /// is removed, so ChartMogul ends up holding exactly the new set.
  static func between(_ old: AttributeSnapshot, _ new: AttributeRecord) -> AttributeDiff {
    var d = AttributeDiff()
    var seen = Set<String>()
    for a in new.custom where seen.insert(a.key).inserted {
      if let was = old.custom[a.key] {
        if was != JSONWriter.string(a.value) { d.changedCustom.append(a) }
      } else {
        d.newCustom.append(a)
      }
    }
    d.removedCustom = old.custom.keys.filter { !seen.contains($0) }.sorted()
    let oldTags = Set(old.tags.map { $0.lowercased() })
    let newTags = Set(new.tags.map { $0.lowercased() })
    var added = Set<String>()
    for t in new.tags where !oldTags.contains(t.lowercased()) && added.insert(t.lowercased()).inserted {
      d.addedTags.append(t)
    }
    d.removedTags = old.tags.filter { !newTags.contains($0.lowercased()) }
    return d
  }
}

/// Where load keeps what later runs need, once per pipeline and ChartMogul data source:
/// `<staging>/<pipeline>/load-state/<data source>/`.
public enum LoadStateFiles {
  public static func directory(area: StagingArea, dataSource: String) -> String {
    area.root + "/load-state/"
      + dataSource.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" }
      .reduce(into: "") { $0.append($1) }
  }
  public static func attributesPath(area: StagingArea, dataSource: String) -> String {
    directory(area: area, dataSource: dataSource) + "/attributes.ndjson"
  }
}

/// The attribute snapshots of every customer of a pipeline and data source: an append-only journal
/// (`{"customer_external_id", "tags", "custom"}` per line, last line wins, `"forget": true` drops a
/// customer) compacted to one line per customer at the end of a load when it has grown to twice that.
/// Only the snapshots of customers this load may change are held in memory.
actor AttributeStore {
  let path: String
  private(set) var snapshots: [String: AttributeSnapshot] = [:]
  private var fd: Int32 = -1
  private var buffer: [UInt8] = []
  private var journalLines = 0
  private var distinct = Set<UInt64>()

  /// `wanted`: the customers whose snapshots to keep in memory.
  init(area: StagingArea, dataSource: String, wanted: Set<String>) throws {
    let dir = LoadStateFiles.directory(area: area, dataSource: dataSource)
    try FileSystem.makeDirectory(area.root + "/load-state")
    try FileSystem.makeDirectory(dir)
    path = dir + "/attributes.ndjson"
    var map: [String: AttributeSnapshot] = [:]
    var lines = 0
    var ids = Set<UInt64>()
    if FileSystem.exists(path) {
      try NDJSONReader(path: path).forEachValue { r, _ in
        // A torn last line (killed mid-append) is ignored: it was never fsynced as confirmed.
        guard case .success(let v) = r, let id = v["customer_external_id"]?.stringValue else { return }
        lines += 1
        ids.insert(AttributeStore.hash(id))
        guard wanted.contains(id) else { return }
        map[id] = AttributeStore.snapshot(v)
      }
    }
    snapshots = map
    journalLines = lines
    distinct = ids
    let f = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
    guard f >= 0 else { throw StagingError("cannot open \(path): \(String(cString: strerror(errno)))") }
    fd = f
  }

  deinit { if fd >= 0 { Glibc.close(fd) } }

  static func hash(_ s: String) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in s.utf8 {
      h ^= UInt64(b)
      h = h &* 0x100_0000_01b3
    }
    return h
  }

  static func snapshot(_ v: JSONValue) -> AttributeSnapshot? {
    if v["forget"]?.boolValue == true { return nil }
    var custom: [String: String] = [:]
    for f in v["custom"]?.objectValue ?? JSONObject() { custom[f.key] = JSONWriter.string(f.value) }
    return AttributeSnapshot(tags: (v["tags"]?.arrayValue ?? []).compactMap(\.stringValue), custom: custom)
  }

  func snapshot(_ customer: String) -> AttributeSnapshot? { snapshots[customer] }

  static func line(_ customer: String, _ s: AttributeSnapshot) -> JSONValue {
    var custom = JSONObject()
    for (k, v) in s.custom { custom[k] = (try? JSONParser.parse(Array(v.utf8))) ?? .string(v) }
    return [
      "customer_external_id": .string(customer), "tags": .array(s.tags.map { .string($0) }), "custom": .object(custom),
    ]
  }

  /// ChartMogul confirmed `s` for `customer` (written at the next `sync`).
  func confirm(_ customer: String, _ s: AttributeSnapshot) {
    snapshots[customer] = s
    distinct.insert(AttributeStore.hash(customer))
    append(AttributeStore.line(customer, s))
  }

  /// What ChartMogul holds is uncertain (a change failed half-way): read it again next time.
  func forget(_ customer: String) {
    snapshots[customer] = nil
    append(["customer_external_id": .string(customer), "forget": true])
  }

  private func append(_ v: JSONValue) {
    JSONWriter.write(v, into: &buffer)
    buffer.append(0x0A)
    journalLines += 1
  }

  func sync() throws {
    guard !buffer.isEmpty else { return }
    try buffer.withUnsafeBytes { try FileSystem.writeAll(fd, $0, path: path) }
    fsync(fd)
    buffer.removeAll(keepingCapacity: true)
  }

  /// Writes what was recorded; compacts the journal when it has more than twice as many lines as
  /// customers (atomic rename, so a kill leaves either file whole).
  func close() throws {
    try sync()
    if fd >= 0 { Glibc.close(fd) }
    fd = -1
    guard journalLines > 2 * max(distinct.count, 16) else { return }
    var last: [String: [UInt8]] = [:]
    var order: [String] = []
    try NDJSONReader(path: path).forEachValue { r, _ in
      guard case .success(let v) = r, let id = v["customer_external_id"]?.stringValue else { return }
      if last[id] == nil { order.append(id) }
      last[id] = AttributeStore.snapshot(v).map { JSONWriter.bytes(AttributeStore.line(id, $0)) } ?? []
    }
    var bytes: [UInt8] = []
    for id in order.sorted() {
      guard let l = last[id], !l.isEmpty else { continue }
      bytes += l
      bytes.append(0x0A)
    }
    try AtomicFile.write(bytes, to: path)
  }
}

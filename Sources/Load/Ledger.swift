import Foundation
import RevenueCore
import Staging

#if canImport(Glibc)
  import Glibc
#endif

/// The kinds of record load accounts for, one ledger line each.
public enum LedgerKind: String, Sendable, CaseIterable {
  case plan, customer, invoice, transaction, cancellation, attributes
}

/// `confirmed`: ChartMogul has it; `failed`: refused or never confirmed; `skipped`: deliberately not sent.
public enum LedgerStatus: String, Sendable {
  case confirmed, failed, skipped
}

/// One line of `load/ledger.ndjson`: what happened to one record (README "Ledger").
///
/// `key` identifies the record across runs: the external id for plans, customers, invoices and
/// transactions; `<subscription external id>@<cancelled_at>` for cancellations;
/// `<customer external id>#<digest of the attribute set>` for attribute sets.
///
/// `dataSource` is the ChartMogul data source the outcome belongs to: ChartMogul scopes external ids
/// to a data source, so a record confirmed in one data source is not in another, and a load into a new
/// data source sends everything again. Entries written before this field existed (nil) count for any.
public struct LedgerEntry: Sendable, Hashable {
  public var kind: LedgerKind
  public var key: String
  public var status: LedgerStatus
  public var uuid: String?
  /// How many times the record was sent, over all runs.
  public var attempts: Int
  /// The run whose load wrote this outcome.
  public var runID: String
  /// The ChartMogul data source uuid (`ds_…`) the record was sent to.
  public var dataSource: String?
  /// Other fields: external ids, app ids, `error`, `http_status`, `request_id`, `response`, `import_id`.
  /// Kept serialised (one allocation rather than a tree per field: a load holds many entries).
  public var fields: JSONObject {
    get { fieldBytes.isEmpty ? JSONObject() : ((try? JSONParser.parse(fieldBytes))?.objectValue ?? JSONObject()) }
    set { fieldBytes = newValue.fields.isEmpty ? [] : JSONWriter.bytes(.object(newValue)) }
  }
  private var fieldBytes: [UInt8] = []

  public init(
    kind: LedgerKind, key: String, status: LedgerStatus, uuid: String? = nil, attempts: Int = 0, runID: String,
    fields: JSONObject = JSONObject()
  ) {
    self.kind = kind
    self.key = key
    self.status = status
    self.uuid = uuid
    self.attempts = attempts
    self.runID = runID
    self.fields = fields
  }

  /// Drops the fields (outcomes of other runs need only status, uuid and attempts), keeping
  /// `plan_uuid`/`customer_uuid` of cancellations for the write-back.
  mutating func slim() {
    guard !fieldBytes.isEmpty else { return }
    if kind == .cancellation {
      let f = fields
      var keep = JSONObject()
      for k in ["plan_uuid", "customer_uuid"] { keep.set(k, f[k]) }
      fields = keep
    } else {
      fieldBytes = []
    }
  }

  public var id: String { LedgerEntry.id(kind, key) }
  public static func id(_ kind: LedgerKind, _ key: String) -> String { "\(kind.rawValue):\(key)" }
  public var error: String? { fields["error"]?.stringValue }

  public var json: JSONValue {
    var o = fields
    o["type"] = .string(kind.rawValue)
    o["key"] = .string(key)
    o["status"] = .string(status.rawValue)
    o.set("uuid", .optional(uuid))
    o["attempts"] = .int(attempts)
    o["run_id"] = .string(runID)
    o.set("data_source_uuid", .optional(dataSource))
    return .object(o)
  }

  public init?(json: JSONValue) {
    guard var o = json.objectValue, let t = o["type"]?.stringValue, let kind = LedgerKind(rawValue: t),
      let key = o["key"]?.stringValue, let s = o["status"]?.stringValue, let status = LedgerStatus(rawValue: s)
    else { return nil }
    self.kind = kind
    self.key = key
    self.status = status
    uuid = o["uuid"]?.stringValue
    attempts = Int(o["attempts"]?.int64Value ?? 0)
    runID = o["run_id"]?.stringValue ?? ""
    dataSource = o["data_source_uuid"]?.stringValue
    for k in ["type", "key", "status", "uuid", "attempts", "run_id", "data_source_uuid"] { o[k] = nil }
    fields = o
  }

  /// True when the outcome counts for loads into `dataSource` (legacy entries without one count for any).
  public func belongs(to dataSource: String?) -> Bool {
    guard let mine = self.dataSource, let dataSource else { return true }
    return mine == dataSource
  }

  /// Merges outcomes of the same record: a confirmation is never undone by a later failure.
  static func merge(_ old: LedgerEntry?, _ new: LedgerEntry) -> LedgerEntry {
    guard let old else { return new }
    if old.status == .confirmed {
      if new.status == .confirmed, old.uuid == nil, new.uuid != nil { return new }
      return old
    }
    if new.status == .confirmed { return new }
    var n = new
    n.attempts = max(old.attempts, new.attempts)
    return n
  }
}

/// What earlier load attempts left behind: every ledger of the pipeline's runs plus this run's partial
/// ledger, merged per record (confirmed wins), and bulk imports that may still be running.
struct PriorLedger: Sendable {
  var entries: [String: LedgerEntry] = [:]
  /// Bulk imports written to the partial ledger as `submitting` and never marked `finished`.
  var unfinishedImports: [String: JSONObject] = [:]
  /// The data source being loaded; outcomes in other data sources are ignored.
  var dataSource: String? = nil

  func confirmed(_ kind: LedgerKind, _ key: String) -> LedgerEntry? {
    guard let e = entries[LedgerEntry.id(kind, key)], e.status == .confirmed else { return nil }
    return e
  }
  func entry(_ kind: LedgerKind, _ key: String) -> LedgerEntry? { entries[LedgerEntry.id(kind, key)] }

  /// Runs closed in the pipeline ledger (nil: there is none yet).
  var pipelineRuns: Set<String>? = nil
  /// Lines of the pipeline ledger (to decide when to compact it).
  var pipelineLines = 0
  /// Runs whose published ledger was read because the pipeline ledger does not close them (runs
  /// loaded before it existed, or a load killed between publishing and appending).
  var unrecordedRuns: [String] = []

  /// Reads the pipeline ledger (`PipelineLedger`), then `runs/*/load/ledger.ndjson` of runs it does
  /// not close (oldest first), then `runs/<run>/load.partial/ledger.ndjson`, keeping only outcomes in
  /// `dataSource`.
  static func read(area: StagingArea, currentRun: RunFolder, dataSource: String) throws -> PriorLedger {
    var prior = PriorLedger(dataSource: dataSource)
    var entries: [String: LedgerEntry] = [:]
    var interned: [String: String] = [:]
    let contents = try PipelineLedger.read(area: area, dataSource: dataSource) { e in
      guard e.belongs(to: dataSource) else { return }
      var e = e
      PriorLedger.compact(&e, currentRun: currentRun.id, dataSource: dataSource, interned: &interned)
      entries[e.id] = LedgerEntry.merge(entries[e.id], e)
    }
    prior.entries = entries
    prior.pipelineRuns = contents?.runs
    prior.pipelineLines = contents?.lines ?? 0
    for id in area.runIDs() {
      if contents?.runs.contains(id) == true { continue }
      guard let run = try? RunFolder(area: area, id: id) else { continue }
      let path = run.file("load", LedgerFiles.ledgerName)
      if FileSystem.exists(path) {
        try prior.absorb(path: path, partial: false, currentRun: currentRun.id)
        prior.unrecordedRuns.append(id)
      }
    }
    let partial = LedgerFiles.partialPath(currentRun)
    if FileSystem.exists(partial) { try prior.absorb(path: partial, partial: true, currentRun: currentRun.id) }
    return prior
  }

  /// Records what this load wrote (`own`) in the pipeline ledger: appended, or — when runs are
  /// missing from it or it has grown to twice the records — rewritten whole with everything known.
  func record(own: [LedgerEntry], runID: String, area: StagingArea) throws {
    guard let dataSource else { return }
    let needsCompaction =
      pipelineRuns == nil || !unrecordedRuns.isEmpty
      || pipelineLines + own.count > 2 * max(entries.count, 5_000)
    guard needsCompaction else {
      try PipelineLedger.append(area: area, dataSource: dataSource, runID: runID, entries: own)
      return
    }
    var merged = entries
    for e in own { merged[e.id] = LedgerEntry.merge(merged[e.id], e) }
    var runs = pipelineRuns ?? []
    runs.formUnion(unrecordedRuns)
    runs.insert(runID)
    try PipelineLedger.compact(area: area, dataSource: dataSource, merged: merged, runs: runs)
  }

  /// Shares the storage of run ids and the data source between entries, and slims the outcomes of
  /// other runs (see `LedgerEntry.slim`).
  static func compact(_ e: inout LedgerEntry, currentRun: String, dataSource: String, interned: inout [String: String])
  {
    if let r = interned[e.runID] { e.runID = r } else { interned[e.runID] = e.runID }
    if e.dataSource == dataSource { e.dataSource = dataSource }
    if e.runID != currentRun { e.slim() }
  }

  mutating func absorb(path: String, partial: Bool, currentRun: String) throws {
    var interned: [String: String] = [:]
    try NDJSONReader(path: path).forEachValue { result, _ in
      // A torn last line of a partial ledger (killed mid-write) is ignored: its batch was not fsynced.
      guard case .success(let v) = result else { return }
      if partial, v["type"]?.stringValue == "import", let o = v.objectValue, let key = o["key"]?.stringValue {
        if o["status"]?.stringValue == "finished" {
          unfinishedImports[key] = nil
        } else {
          unfinishedImports[key] = o
        }
        return
      }
      guard var e = LedgerEntry(json: v), e.belongs(to: dataSource) else { return }
      if let ds = dataSource { PriorLedger.compact(&e, currentRun: currentRun, dataSource: ds, interned: &interned) }
      entries[e.id] = LedgerEntry.merge(entries[e.id], e)
    }
  }
}

enum LedgerFiles {
  static let ledgerName = "ledger.ndjson"
  static let requestsName = "requests.ndjson"
  static func partialDirectory(_ run: RunFolder) -> String { run.path + "/load.partial" }
  static func partialPath(_ run: RunFolder) -> String { partialDirectory(run) + "/" + ledgerName }
}

/// Appends outcomes to `load.partial/ledger.ndjson` as load goes, fsyncing once per batch, so a killed
/// load resumes from what was confirmed (the published ledger is written only at the end).
actor PartialLedger {
  private var fd: Int32 = -1
  private var buffer: [UInt8] = []
  let path: String
  private(set) var results: [String: LedgerEntry] = [:]
  /// Stamped on every outcome recorded.
  let dataSource: String

  init(run: RunFolder, dataSource: String) throws {
    self.dataSource = dataSource
    try FileSystem.makeDirectory(LedgerFiles.partialDirectory(run))
    path = LedgerFiles.partialPath(run)
    let f = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
    guard f >= 0 else { throw StagingError("cannot open \(path): \(String(cString: strerror(errno)))") }
    fd = f
  }

  deinit { if fd >= 0 { Glibc.close(fd) } }

  /// Records an outcome (kept in memory, written at the next `sync`).
  func record(_ entry: LedgerEntry) {
    var e = entry
    if e.dataSource == nil { e.dataSource = dataSource }
    results[e.id] = LedgerEntry.merge(results[e.id], e)
    append(e.json)
  }

  func record(_ entries: [LedgerEntry]) { for e in entries { record(e) } }

  func result(_ kind: LedgerKind, _ key: String) -> LedgerEntry? { results[LedgerEntry.id(kind, key)] }

  /// Marks a bulk import as submitted / finished (resume waits for unfinished ones first).
  func importMarker(key: String, status: String, importID: String?, customers: [String]) throws {
    var o = JSONObject()
    o["type"] = "import"
    o["key"] = .string(key)
    o["status"] = .string(status)
    o.set("import_id", .optional(importID))
    if !customers.isEmpty { o["customers"] = .array(customers.map { .string($0) }) }
    append(.object(o))
    try sync()
  }

  private func append(_ v: JSONValue) {
    JSONWriter.write(v, into: &buffer)
    buffer.append(0x0A)
  }

  /// Writes what was recorded and fsyncs it.
  func sync() throws {
    guard !buffer.isEmpty else { return }
    try buffer.withUnsafeBytes { try FileSystem.writeAll(fd, $0, path: path) }
    fsync(fd)
    buffer.removeAll(keepingCapacity: true)
  }

  func close() throws {
    try sync()
    if fd >= 0 { Glibc.close(fd) }
    fd = -1
  }
}

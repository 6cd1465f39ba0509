import Logging
import RevenueCore
import Staging

/// A source of raw records for the extract stage: Postgres, a gateway API, or export files.
///
/// Each source writes `extract/<name>.ndjson` (one `ExtractedRecord` per line) and, for records it
/// cannot even stage (a CSV row with a broken quote, an unreadable line), `extract/rejects-<name>.ndjson`.
public protocol ExtractSource: Sendable {
  /// Pipeline key of the source (`postgres`, `stripe`, `paypal`, `cashier`, `files`).
  var name: String { get }

  /// Streams every record into `sink`.
  /// - Parameters:
  ///   - cursor: this source's cursor from `state.json` (empty on the first run).
  /// - Returns: accounting and the cursor to commit once the load is confirmed.
  func extract(into sink: ExtractSink, context: StageContext, cursor: JSONObject) async throws -> ExtractOutcome
}

/// The result of extracting one source.
public struct ExtractOutcome: Sendable {
  /// `in` = records read from the source, `out` = staged, `rejected` = could not be staged,
  /// `skipped` = deliberately not staged (e.g. duplicates across overlapping windows).
  public var accounting: Accounting
  /// Cursor to store in `state.json` after a confirmed load (nil: keep the current one).
  public var proposedCursor: JSONObject?
  /// Free-form figures for the summary (`pages`, `requests`, `windows` …).
  public var details: JSONObject

  public init(accounting: Accounting, proposedCursor: JSONObject? = nil, details: JSONObject = JSONObject()) {
    self.accounting = accounting
    self.proposedCursor = proposedCursor
    self.details = details
  }
}

/// Where a source writes: its records file and its rejects file inside the stage being built.
public final class ExtractSink {
  public let source: String
  let records: NDJSONWriter
  let builder: StageBuilder
  private var rejectsWriter: NDJSONWriter?
  public private(set) var emitted = 0
  public private(set) var rejected = 0
  let progress: any ProgressSink

  public init(source: String, builder: StageBuilder, progress: any ProgressSink = NoProgress()) throws {
    self.source = source
    self.builder = builder
    self.records = try builder.writer("\(source).ndjson")
    self.progress = progress
  }

  /// Where the next record will start in the records file (byte offset) and how many lines precede it.
  public var recordsPosition: (bytes: Int64, lines: Int) { (records.position, records.lineCount) }

  /// Stages one record (secrets are never part of a record: sources stage what the gateway returned).
  public func emit(_ record: ExtractedRecord) throws {
    try records.write(record.json)
    emitted += 1
    progress.advance(by: 1)
  }

  /// Records a row that could not be staged, with the file/line (or endpoint/page) and the reason.
  public func reject(_ diagnostic: DiagnosticRecord) throws {
    if rejectsWriter == nil { rejectsWriter = try builder.writer("rejects-\(source).ndjson") }
    try rejectsWriter!.write(diagnostic.json)
    rejected += 1
    progress.advance(by: 1)
  }
}

extension ExtractSink {
  /// Stages one record that a hot-path serialiser writes itself (the Postgres source writes rows as
  /// JSON straight from libpq's text). `body` must append exactly one `ExtractedRecord` JSON object
  /// in `JSONWriter`'s form (sorted keys, no newline).
  public func emitSerialized(_ body: (inout [UInt8]) throws -> Void) throws {
    var failure: (any Error)? = nil
    records.withBuffer { buffer in
      let mark = buffer.count
      do { try body(&buffer) } catch {
        buffer.removeSubrange(mark...)
        failure = error
      }
    }
    if let failure { throw failure }
    try records.endLine()
    emitted += 1
    progress.advance(by: 1)
  }
}

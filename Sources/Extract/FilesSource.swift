import Foundation
import Logging
import RevenueCore
import Staging

/// Reads export files for historical backfills (`sources.files`, a list of `{format, path, …}`) into
/// `extract/files.ndjson` (README "Pipeline files"; docs/gateways "Stripe dashboard exports", "PayPal activity download", "Cashier (Kashier)").
///
/// Entry keys: `format` (one of `ExportFormat.formatNames`), `path` (relative to the current
/// directory; `*`, `?`, `[…]` globs expand in byte order, no match is an error), for
/// `paypal-activity-csv` `date_format` (`MM/DD/YYYY`, `DD/MM/YYYY`, `DD.MM.YYYY`, `DD-MM-YYYY`; checked against the
/// whole file, or detected from it when omitted — `DateOrder`) and `decimal`
/// (`point` default or `comma`; also accepted for the Stripe CSVs), for `ndjson` the record `kind`.
///
/// Each CSV row becomes `record` = header → cell text exactly as in the file (empty cell → `""`), with
/// `origin` = `{file, line}` (the physical line where the row starts) plus the file's `date_format` and
/// `decimal` when the format has them, so transform can parse cells without guessing. A bad row (wrong
/// field count, unterminated quote, text after a closing quote, invalid UTF-8) goes to
/// `rejects-files.ndjson` with file, line and reason, and reading continues.
public struct FilesSource: ExtractSource {
  public static let entryKeys = ["format", "path", "date_format", "decimal", "kind"]
  public static let dateFormats = ["MM/DD/YYYY", "DD/MM/YYYY", "DD.MM.YYYY", "DD-MM-YYYY"]
  public let name = "files"

  struct Entry: Sendable {
    var format: String
    var gateway: String
    var path: String
    var kind: String
    var required: ExportFormat?
    var originExtras: JSONObject
  }

  let entries: [Entry]
  let maxRowBytes: Int

  init(entries nodes: [ConfigNode], checkOnly: Bool, maxRowBytes: Int = 4 << 20) throws {
    var out: [Entry] = []
    for node in nodes {
      let m = try node.mapping(allowed: FilesSource.entryKeys)
      let r = SettingsReader(mapping: m, checkOnly: checkOnly)
      let format = try m.choice("format", ExportFormat.formatNames, default: "")
      if format.isEmpty {
        throw SettingLocation(m, "format").error(
          "is required (one of: \(ExportFormat.formatNames.joined(separator: ", ")))")
      }
      let path = try r.requiredString("path", placeholder: "deferred")
      var extras = JSONObject()
      var gateway = ""
      var kind = format
      if format == "ndjson" {
        kind = try m.choice("kind", ExportFormat.ndjsonKinds, default: "")
        if kind.isEmpty {
          throw SettingLocation(m, "kind").error(
            "is required for ndjson files: the kind of record on each line (\(ExportFormat.ndjsonKinds.joined(separator: ", ")))"
          )
        }
        gateway = String(kind.prefix { $0 != "." })
      } else if m.has("kind") {
        throw SettingLocation(m, "kind").error("only applies to ndjson files (\(format) rows have a fixed layout)")
      }
      let known = ExportFormat.named(format)
      if let known { gateway = known.gateway }
      if m.has("date_format") && format != RecordKind.paypalActivityCSV.rawValue {
        throw SettingLocation(m, "date_format").error("only applies to paypal-activity-csv files")
      }
      if m.has("decimal") && !(format == RecordKind.paypalActivityCSV.rawValue || format.hasPrefix("stripe-")) {
        throw SettingLocation(m, "decimal").error("only applies to paypal-activity-csv and Stripe CSV files")
      }
      if format == RecordKind.paypalActivityCSV.rawValue {
        let declared = try m.choice("date_format", FilesSource.dateFormats, default: "")
        if !declared.isEmpty { extras["date_format"] = .string(declared) }
        extras["decimal"] = .string(try m.choice("decimal", ["point", "comma"], default: "point"))
      } else if m.has("decimal") {
        extras["decimal"] = .string(try m.choice("decimal", ["point", "comma"], default: "point"))
      }
      out.append(Entry(format: format, gateway: gateway, path: path, kind: kind, required: known, originExtras: extras))
    }
    entries = out
    self.maxRowBytes = maxRowBytes
  }

  public func extract(into sink: ExtractSink, context: StageContext, cursor: JSONObject) async throws -> ExtractOutcome
  {
    var counts = SourceCounts()
    var fileCount = 0
    var perFormat: [String: Int] = [:]
    for entry in entries {
      for path in try FileGlob.expand(entry.path) {
        try Task.checkCancellation()
        fileCount += 1
        let before = counts.output
        if entry.format == "ndjson" {
          try readNDJSON(path, entry: entry, sink: sink, counts: &counts)
        } else {
          try readCSV(path, entry: entry, sink: sink, counts: &counts)
        }
        perFormat[entry.kind, default: 0] += counts.output - before
        context.logger.info("read \(path) (\(entry.format)): \(counts.output - before) rows staged")
      }
    }
    var details: JSONObject = JSONObject(["files": .int(fileCount)])
    for (k, v) in perFormat.sorted(by: { $0.key < $1.key }) { details[k] = .int(v) }
    return ExtractOutcome(accounting: counts.accounting, proposedCursor: nil, details: details)
  }

  func origin(_ path: String, _ line: Int, _ extras: JSONObject) -> JSONObject {
    var o: JSONObject = JSONObject(["file": .string(path), "line": .int(line)])
    for f in extras { o[f.key] = f.value }
    return o
  }

  func readCSV(_ path: String, entry: Entry, sink: ExtractSink, counts: inout SourceCounts) throws {
    var header: [String]? = nil
    var c = counts
    defer { counts = c }
    var extras = entry.originExtras
    if entry.format == "paypal-activity-csv" {
      extras["date_format"] = .string(try settleDateOrder(path, entry: entry))
    }
    var checked: [Bool] = []
    try CSVReader(path: path, maxRowBytes: maxRowBytes).forEachRow { row in
      guard let names = header else {
        if let p = row.problem { throw FilesError("\(path):\(row.line): the header row is malformed: \(p)") }
        header = try checkHeader(row.fields, path: path, line: row.line, entry: entry)
        checked = header!.map(RowChecks.isIdentifierColumn)
        return
      }
      c.input += 1
      var code = ""
      var reason = ""
      if let p = row.problem {
        code =
          p.contains("UTF-8")
          ? "bad_utf8"
          : p.contains("never closed")
            ? "unterminated_quote"
            : p.contains("longer than") ? "row_too_long" : "malformed_csv"
        reason = p
      } else if row.fields.count != names.count {
        code = "field_count"
        reason = "row has \(row.fields.count) fields, the header has \(names.count)"
      } else if let bad = RowChecks.controlCharacter(row.fields, names: names, checked: checked) {
        code = "control_character"
        reason = bad
      }
      if !code.isEmpty {
        try sink.reject(
          DiagnosticRecord(
            source: name, file: path, line: row.line, code: code, reason: "\(entry.format): \(reason)",
            record: .array(row.fields.map { .string(String($0.prefix(2000))) })))
        c.rejected += 1
        return
      }
      var record = JSONObject()
      record.fields.reserveCapacity(names.count)
      for (i, n) in names.enumerated() where !n.isEmpty { record.fields.append(JSONField(n, .string(row.fields[i]))) }
      try sink.emit(
        ExtractedRecord(
          source: name, gateway: entry.gateway, kind: entry.kind, origin: origin(path, row.line, extras),
          record: .object(record)))
      c.output += 1
    }
    if header == nil { throw FilesError("\(path) is empty: a \(entry.format) file needs a header row") }
  }

  /// Header names (trimmed); duplicates, a statement layout or missing required columns are errors.
  func checkHeader(_ fields: [String], path: String, line: Int, entry: Entry) throws -> [String] {
    let names = fields.map { $0.trimmingCharacters(in: .whitespaces) }
    var seen = Set<String>()
    for n in names where !n.isEmpty {
      guard seen.insert(n).inserted else {
        throw FilesError("\(path):\(line): column '\(n)' appears twice in the header")
      }
    }
    if entry.format == RecordKind.paypalActivityCSV.rawValue, seen.contains("Description"), !seen.contains("Status") {
      throw FilesError(
        "\(path): this is a PayPal statement CSV ('Description' column, no 'Status'), not the Activity download; export Activity → All transactions as CSV"
      )
    }
    if let format = entry.required {
      let missing = format.missing(in: seen)
      if !missing.isEmpty {
        throw FilesError(
          "\(path): missing required column\(missing.count > 1 ? "s" : "") \(missing.joined(separator: ", ")) for format \(entry.format) (the header has: \(names.joined(separator: ", ")))"
        )
      }
    }
    return names
  }

  func readNDJSON(_ path: String, entry: Entry, sink: ExtractSink, counts: inout SourceCounts) throws {
    guard FileManager.default.isReadableFile(atPath: path) else { throw FilesError("\(path) cannot be read") }
    var c = counts
    defer { counts = c }
    try NDJSONReader(path: path).forEachValue { result, line in
      c.input += 1
      switch result {
      case .failure(let e):
        try sink.reject(
          DiagnosticRecord(source: name, file: path, line: line, code: "invalid_json", reason: "\(entry.kind): \(e)"))
        c.rejected += 1
      case .success(let value):
        guard value.objectValue != nil else {
          try sink.reject(
            DiagnosticRecord(
              source: name, file: path, line: line, code: "not_an_object",
              reason: "\(entry.kind): each line must be one JSON object", record: value))
          c.rejected += 1
          return
        }
        try sink.emit(
          ExtractedRecord(
            source: name, gateway: entry.gateway, kind: entry.kind, origin: origin(path, line, entry.originExtras),
            record: value))
        c.output += 1
      }
    }
  }
}

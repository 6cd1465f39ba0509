import Foundation
import PostgresClient
import RevenueCore

/// Streams one app query as `ExtractedRecord` lines (`{"gateway":"app","kind":…,"origin":{"query":…,
/// "row":n},"record":{…},"source":"postgres"}`), byte-identical to `JSONWriter` of the same record.
public enum AppExtract {
  /// Hands one line's serialiser to the destination (e.g. `ExtractSink.emitSerialized`).
  public typealias Emit = ((inout [UInt8]) throws -> Void) throws -> Void

  /// Runs `sql` for `spec` and emits one line per row; checks the returned columns first. With
  /// `binary` (the default) rows travel in binary format when all column types allow it; the lines
  /// are byte-identical either way.
  /// - Returns: the number of rows.
  public static func stream(
    _ spec: AppQueries.Spec, sql: String, parameters: [String?], db: PostgresConnection, source: String = "postgres",
    binary: Bool = true, emit: Emit
  ) throws -> Int {
    var encoder: RowJSONEncoder? = nil
    var head: [UInt8] = []
    JSONWriter.write(["gateway": .string(spec.kind.gateway), "kind": .string(spec.kind.rawValue)], into: &head)
    head.removeLast()  // the closing brace
    head += Array(",\"origin\":{\"query\":".utf8)
    JSONWriter.writeString(spec.name, into: &head)
    head += Array(",\"row\":".utf8)
    let middle = Array("},\"record\":".utf8)
    var tail = Array(",\"source\":".utf8)
    JSONWriter.writeString(source, into: &tail)
    tail.append(UInt8(ascii: "}"))
    var rowNumber = 0
    return try db.stream(
      sql, name: spec.name, parameters: parameters, binary: binary,
      columns: { columns in
        try checkColumns(columns.map(\.name), spec: spec)
        encoder = RowJSONEncoder(columns: columns)
      },
      row: { row in
        rowNumber += 1
        let n = rowNumber
        let enc = encoder!
        try emit { out in
          out.append(contentsOf: head)
          JSONWriter.writeInt(Int64(n), into: &out)
          out.append(contentsOf: middle)
          try enc.write(row, into: &out)
          out.append(contentsOf: tail)
        }
      })
  }

  /// The query must return exactly the contract's columns (any order, no duplicates).
  public static func checkColumns(_ names: [String], spec: AppQueries.Spec) throws {
    let expected = Set(spec.columns)
    let got = Set(names)
    var problems: [String] = []
    let missing = spec.columns.filter { !got.contains($0) }
    let extra = names.filter { !expected.contains($0) }
    var seen: Set<String> = []
    let duplicated = names.filter { !seen.insert($0).inserted }
    if !missing.isEmpty { problems.append("missing \(missing.joined(separator: ", "))") }
    if !extra.isEmpty { problems.append("unexpected \(extra.joined(separator: ", "))") }
    if !duplicated.isEmpty { problems.append("duplicated \(duplicated.joined(separator: ", "))") }
    guard problems.isEmpty else {
      throw PostgresError(
        kind: .columns, query: spec.name,
        message:
          "returns the wrong columns (\(problems.joined(separator: "; "))); a query for \(spec.kind) must return exactly: \(spec.columns.joined(separator: ", ")) (check sources.postgres.queries.\(spec.name))"
      )
    }
  }
}

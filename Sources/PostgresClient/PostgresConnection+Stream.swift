import CLibPQ
import Foundation

/// A result column: its name, type OID (see `PostgresType`) and whether its values arrive in
/// PostgreSQL's binary format (see `PostgresConnection.stream(binary:)`) rather than as text.
public struct PostgresColumn: Sendable, Hashable {
  public var name: String
  public var typeOID: UInt32
  public var binary: Bool
  public init(name: String, typeOID: UInt32, binary: Bool = false) {
    self.name = name
    self.typeOID = typeOID
    self.binary = binary
  }
}

/// One row of a streamed result, valid only during the callback that receives it (its memory is
/// libpq's and is freed as soon as the callback returns): a single-row `PGresult`, or the fields of
/// one row of binary COPY data (`PostgresCopy`).
public struct PostgresRow: ~Copyable {
  let result: OpaquePointer?
  let copyBase: UnsafeRawPointer?
  let copyFields: UnsafeBufferPointer<PostgresCopy.Field>

  init(result: OpaquePointer) {
    self.result = result
    copyBase = nil
    copyFields = UnsafeBufferPointer(start: nil, count: 0)
  }

  init(copy base: UnsafeRawPointer, fields: UnsafeBufferPointer<PostgresCopy.Field>) {
    result = nil
    copyBase = base
    copyFields = fields
  }

  public var count: Int { result.map { Int(PQnfields($0)) } ?? copyFields.count }

  public func isNull(_ column: Int) -> Bool {
    if let result { return PQgetisnull(result, 0, Int32(column)) != 0 }
    return copyFields[column].length < 0
  }

  /// The value's bytes (text, or binary for a binary column; no terminating NUL); empty for NULL.
  public func bytes(_ column: Int) -> UnsafeRawBufferPointer {
    guard let result else {
      let f = copyFields[column]
      guard f.length > 0, let base = copyBase else { return UnsafeRawBufferPointer(start: nil, count: 0) }
      return UnsafeRawBufferPointer(start: base + Int(f.offset), count: Int(f.length))
    }
    let len = Int(PQgetlength(result, 0, Int32(column)))
    guard let p = PQgetvalue(result, 0, Int32(column)) else { return UnsafeRawBufferPointer(start: nil, count: 0) }
    return UnsafeRawBufferPointer(start: p, count: len)
  }

  public func string(_ column: Int) -> String? {
    isNull(column) ? nil : String(decoding: bytes(column), as: UTF8.self)
  }
}

extension PostgresConnection {
  /// Streams a query's rows one at a time (libpq single-row mode), so memory stays flat however large
  /// the result. `columns` is called once before the first row (also for an empty result) and may
  /// throw to refuse the shape; `row` is called per row. When a callback throws, the query is
  /// cancelled on the server, the connection is drained and the error is rethrown.
  ///
  /// The statement is sent with the extended protocol, so it must be a single statement. With
  /// `binary`, it is prepared first and its rows come in binary format when every column type allows
  /// it (`describe`); `PostgresColumn.binary` says which format a column uses. When they all do,
  /// the rows travel as `COPY (…) TO STDOUT (FORMAT binary)` (`PostgresCopy`, a third less client
  /// time per row) unless `copy` is false or the parameters cannot be inlined safely.
  /// - Returns: the number of rows delivered.
  @discardableResult
  public func stream(
    _ sql: String, name: String, parameters: [String?] = [], binary: Bool = false, copy: Bool = true,
    columns onColumns: ([PostgresColumn]) throws -> Void,
    row onRow: (borrowing PostgresRow) throws -> Void
  ) throws -> Int {
    let sent: Int32
    if binary, let described = try describe(sql, name: name, parameterCount: parameters.count) {
      if copy, described.format == 1,
        PQparameterStatus(conn, "standard_conforming_strings").map({ String(cString: $0) }) == "on",
        let copySQL = PostgresCopy.statement(sql, parameters: parameters, parameterTypes: described.parameterTypes),
        let rows = try streamCopy(
          copySQL, name: name,
          columns: described.columns.map { PostgresColumn(name: $0.name, typeOID: $0.type, binary: true) },
          columns: onColumns, row: onRow)
      {
        return rows
      }
      sent = withParameters(parameters) { values, count in
        PQsendQueryPrepared(conn, "", count, values, nil, nil, described.format)
      }
    } else {
      sent = withParameters(parameters) { values, count in
        PQsendQueryParams(conn, sql, count, nil, values, nil, nil, 0)
      }
    }
    guard sent == 1 else {
      throw connectionError(name: name)
    }
    guard PQsetSingleRowMode(conn) == 1 else {
      drain()
      throw PostgresError(kind: .query, query: name, message: "libpq refused single-row mode")
    }
    var failure: (any Error)? = nil
    var seenColumns = false
    var rows = 0
    while let res = PQgetResult(conn) {
      defer { PQclear(res) }
      let status = PQresultStatus(res)
      if status == PGRES_SINGLE_TUPLE || status == PGRES_TUPLES_OK {
        guard failure == nil else { continue }
        do {
          if !seenColumns {
            seenColumns = true
            let n = Int(PQnfields(res))
            try onColumns(
              (0..<n).map {
                PostgresColumn(
                  name: String(cString: PQfname(res, Int32($0))), typeOID: UInt32(PQftype(res, Int32($0))),
                  binary: PQfformat(res, Int32($0)) == 1)
              })
          }
          if status == PGRES_SINGLE_TUPLE {
            try onRow(PostgresRow(result: res))
            rows += 1
          }
        } catch {
          failure = error
          cancel()
        }
      } else if status == PGRES_COMMAND_OK || status == PGRES_EMPTY_QUERY {
        continue
      } else if failure == nil {
        failure = self.error(from: res, name: name)
      }
    }
    if let failure { throw failure }
    return rows
  }

  /// What preparing a statement tells: its result format, columns and parameter types.
  struct Described {
    /// 1 (binary) when every result column has a type `RowJSONEncoder` decodes from binary exactly
    /// as from text and the session prints times as UTC ISO (as `connect` sets it), else 0 (text).
    var format: Int32
    var columns: [(name: String, type: UInt32)]
    var parameterTypes: [UInt32]
  }

  /// Prepares `sql` as the unnamed statement and describes it (see `Described`). Binary spares the
  /// server its text conversions (timestamps, uuids, integers): ~15 % of a 1 M-row extract's server
  /// time. nil when the statement cannot be described (the caller then sends it as text and gets the
  /// server's error the usual way).
  func describe(_ sql: String, name: String, parameterCount: Int) throws -> Described? {
    guard let prepared = PQprepare(conn, "", sql, Int32(parameterCount), nil) else { return nil }
    let ok = PQresultStatus(prepared) == PGRES_COMMAND_OK
    if !ok {
      let e = error(from: prepared, name: name)
      PQclear(prepared)
      throw e
    }
    PQclear(prepared)
    guard let described = PQdescribePrepared(conn, "") else { return nil }
    defer { PQclear(described) }
    guard PQresultStatus(described) == PGRES_COMMAND_OK else { throw error(from: described, name: name) }
    let columns = (0..<PQnfields(described)).map {
      (name: String(cString: PQfname(described, $0)), type: UInt32(PQftype(described, $0)))
    }
    let parameterTypes = (0..<PQnparams(described)).map { UInt32(PQparamtype(described, $0)) }
    let zone = PQparameterStatus(conn, "TimeZone").map { String(cString: $0) } ?? ""
    let style = PQparameterStatus(conn, "DateStyle").map { String(cString: $0) } ?? ""
    let utcISO =
      ["UTC", "Etc/UTC", "GMT", "Etc/GMT", "UCT", "Etc/UCT", "Universal", "Etc/Universal", "Zulu", "Etc/Zulu"]
      .contains(zone) && style.hasPrefix("ISO")
    let binary = utcISO && !columns.isEmpty && columns.allSatisfy { RowJSONEncoder.binaryTypes.contains($0.type) }
    return Described(format: binary ? 1 : 0, columns: columns, parameterTypes: parameterTypes)
  }

  /// Asks the server to stop the running statement (the caller keeps draining results).
  func cancel() {
    guard let c = PQgetCancel(conn) else { return }
    var buffer = [CChar](repeating: 0, count: 256)
    _ = PQcancel(c, &buffer, 256)
    PQfreeCancel(c)
  }

  func drain() {
    while let res = PQgetResult(conn) { PQclear(res) }
  }
}

/// Type OIDs of the built-in types the JSON conversion distinguishes (`pg_type.oid`, fixed since 7.x).
public enum PostgresType {
  public static let bool: UInt32 = 16
  public static let int8: UInt32 = 20
  public static let int2: UInt32 = 21
  public static let int4: UInt32 = 23
  public static let oid: UInt32 = 26
  public static let json: UInt32 = 114
  public static let float4: UInt32 = 700
  public static let float8: UInt32 = 701
  public static let money: UInt32 = 790
  public static let timestamp: UInt32 = 1114
  public static let timestamptz: UInt32 = 1184
  public static let numeric: UInt32 = 1700
  public static let jsonb: UInt32 = 3802
  public static let name: UInt32 = 19
  public static let text: UInt32 = 25
  public static let bpchar: UInt32 = 1042
  public static let varchar: UInt32 = 1043
  public static let date: UInt32 = 1082
  public static let uuid: UInt32 = 2950
}

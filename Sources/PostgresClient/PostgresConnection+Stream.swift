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
/// libpq's and is freed as soon as the callback returns).
public struct PostgresRow: ~Copyable {
  let result: OpaquePointer

  public var count: Int { Int(PQnfields(result)) }

  public func isNull(_ column: Int) -> Bool { PQgetisnull(result, 0, Int32(column)) != 0 }

  /// The value's bytes (text, or binary for a binary column; no terminating NUL); empty for NULL.
  public func bytes(_ column: Int) -> UnsafeRawBufferPointer {
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
  /// it (`binaryFormat`); `PostgresColumn.binary` says which format a column uses.
  /// - Returns: the number of rows delivered.
  @discardableResult
  public func stream(
    _ sql: String, name: String, parameters: [String?] = [], binary: Bool = false,
    columns onColumns: ([PostgresColumn]) throws -> Void,
    row onRow: (borrowing PostgresRow) throws -> Void
  ) throws -> Int {
    let sent: Int32
    if binary, let format = try binaryFormat(sql, name: name, parameterCount: parameters.count) {
      sent = withParameters(parameters) { values, count in
        PQsendQueryPrepared(conn, "", count, values, nil, nil, format)
      }
    } else {
      sent = withParameters(parameters) { values, count in
        PQsendQueryParams(conn, sql, count, nil, values, nil, nil, 0)
      }
    }
    guard sent == 1 else {
      throw PostgresError(kind: .query, query: name, message: PostgresConnection.clean(String(cString: PQerrorMessage(conn))))
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

  /// Prepares `sql` as the unnamed statement and decides its result format: 1 (binary) when every
  /// result column has a type `RowJSONEncoder` decodes from binary exactly as from text and the
  /// session prints times as UTC ISO (as `connect` sets it), else 0 (text). Binary spares the server
  /// its text conversions (timestamps, uuids, integers): ~15 % of a 1 M-row extract's server time.
  /// nil when the statement cannot be described (the caller then sends it as text and gets the
  /// server's error the usual way).
  func binaryFormat(_ sql: String, name: String, parameterCount: Int) throws -> Int32? {
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
    let types = (0..<PQnfields(described)).map { UInt32(PQftype(described, $0)) }
    let zone = PQparameterStatus(conn, "TimeZone").map { String(cString: $0) } ?? ""
    let style = PQparameterStatus(conn, "DateStyle").map { String(cString: $0) } ?? ""
    let utcISO = ["UTC", "Etc/UTC", "GMT", "Etc/GMT", "UCT", "Etc/UCT", "Universal", "Etc/Universal", "Zulu", "Etc/Zulu"]
      .contains(zone) && style.hasPrefix("ISO")
    return utcISO && !types.isEmpty && types.allSatisfy(RowJSONEncoder.binaryTypes.contains) ? 1 : 0
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

import CLibPQ
import Foundation

/// `COPY (query) TO STDOUT (FORMAT binary)`: the fast way to stream a large result. Single-row mode
/// makes libpq build a whole `PGresult` per row (allocations, column names copied); COPY hands over
/// each row as one buffer, and the server still runs the query with parallel workers. The row bytes
/// are the same binary values (`typsend`) a binary-format result carries, so `RowJSONEncoder` writes
/// identical lines.
///
/// COPY takes no bind parameters, so `statement` inlines them — only values that cannot need quoting
/// (SQL NULL and plain integers, what the extract queries pass) and only where a `$n` is a parameter
/// reference (not inside a string, quoted identifier, dollar-quoted body or comment). Anything else
/// returns nil and the caller streams the prepared statement row by row instead.
enum PostgresCopy {
  /// Type names for the parameter types a value can be inlined as (`pg_type.oid` → name).
  static let parameterTypeNames: [UInt32: String] = [
    PostgresType.int2: "int2", PostgresType.int4: "int4", PostgresType.int8: "int8", PostgresType.numeric: "numeric",
    PostgresType.text: "text",
  ]

  /// The COPY statement for `sql` with `parameters` inlined as typed literals, or nil when that
  /// cannot be done safely (see the type's note). `parameterTypes` are the server's types for `$1…`
  /// (from describing the prepared statement).
  static func statement(_ sql: String, parameters: [String?], parameterTypes: [UInt32]) -> String? {
    guard parameterTypes.count == parameters.count else { return nil }
    var literals: [String] = []
    for (value, type) in zip(parameters, parameterTypes) {
      guard let name = parameterTypeNames[type] else { return nil }
      if let value {
        guard isPlainInteger(value) else { return nil }
        literals.append("('\(value)'::pg_catalog.\(name))")
      } else {
        literals.append("(NULL::pg_catalog.\(name))")
      }
    }
    guard let body = substitute(Array(sql.utf8), literals) else { return nil }
    return "COPY (\n" + body + "\n) TO STDOUT (FORMAT binary)"
  }

  static func isPlainInteger(_ s: String) -> Bool {
    let digits = s.hasPrefix("-") ? s.utf8.dropFirst() : s.utf8[...]
    return (1...19).contains(digits.count) && digits.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
  }

  /// Identifier bytes (PostgreSQL: letters, digits, `_`, `$`, and any non-ASCII byte).
  static func isIdentifierByte(_ c: UInt8) -> Bool {
    (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) || c == 0x5F || c == 0x24
      || c >= 0x80
  }

  /// Replaces each parameter reference `$n` with `literals[n-1]`, walking the statement as
  /// PostgreSQL's lexer would (standard-conforming strings). nil on an unterminated token, a
  /// reference past `literals`, or a `;` outside any token (COPY takes exactly one query).
  static func substitute(_ s: [UInt8], _ literals: [String]) -> String? {
    var out: [UInt8] = []
    out.reserveCapacity(s.count + 64)
    var i = 0
    let n = s.count
    func prevIsIdentifier(_ at: Int) -> Bool { at > 0 && isIdentifierByte(s[at - 1]) }
    while i < n {
      let c = s[i]
      switch c {
      case 0x27, 0x22:  // '…' and "identifier" (the quote doubled inside); E'…' also takes backslash escapes.
        let escapes = c == 0x27 && i > 0 && (s[i - 1] == 0x45 || s[i - 1] == 0x65) && !prevIsIdentifier(i - 1)
        var j = i + 1
        var closed = false
        while j < n {
          if escapes && s[j] == 0x5C {
            j += 2
            continue
          }
          if s[j] == c {
            if j + 1 < n && s[j + 1] == c {
              j += 2
              continue
            }
            closed = true
            break
          }
          j += 1
        }
        guard closed else { return nil }
        out.append(contentsOf: s[i...j])
        i = j + 1
      case 0x2D where i + 1 < n && s[i + 1] == 0x2D:  // -- comment to the end of the line
        var j = i
        while j < n && s[j] != 0x0A { j += 1 }
        out.append(contentsOf: s[i..<j])
        i = j
      case 0x2F where i + 1 < n && s[i + 1] == 0x2A:  // /* comment */, nested
        var depth = 0
        var j = i
        while j < n {
          if j + 1 < n && s[j] == 0x2F && s[j + 1] == 0x2A {
            depth += 1
            j += 2
          } else if j + 1 < n && s[j] == 0x2A && s[j + 1] == 0x2F {
            depth -= 1
            j += 2
            if depth == 0 { break }
          } else {
            j += 1
          }
        }
        guard depth == 0 else { return nil }
        out.append(contentsOf: s[i..<j])
        i = j
      case 0x24 where !prevIsIdentifier(i):
        var j = i + 1
        if j < n && s[j] >= 0x30 && s[j] <= 0x39 {  // $n
          var number = 0
          while j < n && s[j] >= 0x30 && s[j] <= 0x39 {
            number = number * 10 + Int(s[j] - 0x30)
            guard number <= literals.count else { return nil }
            j += 1
          }
          guard number >= 1 else { return nil }
          out.append(contentsOf: literals[number - 1].utf8)
          i = j
          continue
        }
        // $tag$ … $tag$ (the tag may be empty; it does not start with a digit).
        while j < n && isIdentifierByte(s[j]) && s[j] != 0x24 { j += 1 }
        guard j < n && s[j] == 0x24 else {
          out.append(c)
          i += 1
          continue
        }
        let tag = Array(s[i...j])
        var k = j + 1
        var end: Int? = nil
        while k + tag.count <= n {
          if s[k] == 0x24 && Array(s[k..<(k + tag.count)]) == tag {
            end = k + tag.count
            break
          }
          k += 1
        }
        guard let end else { return nil }
        out.append(contentsOf: s[i..<end])
        i = end
      case 0x3B:  // ';'
        return nil
      default:
        out.append(c)
        i += 1
      }
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// Where one field of the current row sits in the COPY buffer; `length` -1 is SQL NULL.
  struct Field {
    var offset: Int32
    var length: Int32
  }

  /// Splits binary COPY data (header, then per row an int16 field count and per field an int32
  /// length and its bytes, then the int16 -1 trailer) into rows of `columns` fields. The server sends
  /// every row in one CopyData message (the header rides with the first, the trailer alone or with
  /// the header when there are no rows); data that does not fit that shape is an error, not a guess.
  struct BinaryParser: ~Copyable {
    let columns: Int
    private(set) var sawHeader = false
    private(set) var sawTrailer = false
    let fields: UnsafeMutableBufferPointer<Field>
    static let signature: [UInt8] = [0x50, 0x47, 0x43, 0x4F, 0x50, 0x59, 0x0A, 0xFF, 0x0D, 0x0A, 0x00]

    init(columns: Int) {
      self.columns = columns
      fields = .allocate(capacity: max(columns, 1))
    }

    deinit { fields.deallocate() }

    struct Malformed: Error { var reason: String }

    @inline(__always) static func int32(_ p: UnsafeRawBufferPointer, _ at: Int) -> Int32 {
      Int32(bigEndian: p.loadUnaligned(fromByteOffset: at, as: Int32.self))
    }

    @inline(__always) static func int16(_ p: UnsafeRawBufferPointer, _ at: Int) -> Int16 {
      Int16(bigEndian: p.loadUnaligned(fromByteOffset: at, as: Int16.self))
    }

    /// Parses one CopyData message, calling `row` for each row in it.
    mutating func feed(_ data: UnsafeRawBufferPointer, row: (borrowing PostgresRow) throws -> Void) throws {
      var i = 0
      let n = data.count
      if !sawHeader {
        guard n >= 19, Self.signature.elementsEqual(data.prefix(11)) else {
          throw Malformed(reason: "no binary COPY header")
        }
        let flags = Self.int32(data, 11)
        guard flags & (1 << 16) == 0 else { throw Malformed(reason: "rows carry OIDs") }
        let extensionLength = Int(Self.int32(data, 15))
        guard extensionLength >= 0, 19 + extensionLength <= n else { throw Malformed(reason: "bad header extension") }
        i = 19 + extensionLength
        sawHeader = true
      }
      while i < n {
        guard !sawTrailer else { throw Malformed(reason: "data after the trailer") }
        guard i + 2 <= n else { throw Malformed(reason: "truncated row") }
        let count = Int(Self.int16(data, i))
        i += 2
        if count == -1 {
          sawTrailer = true
          continue
        }
        guard count == columns else { throw Malformed(reason: "a row of \(count) fields, expected \(columns)") }
        for f in 0..<count {
          guard i + 4 <= n else { throw Malformed(reason: "truncated row") }
          let length = Self.int32(data, i)
          i += 4
          if length < 0 {
            guard length == -1 else { throw Malformed(reason: "bad field length") }
            fields[f] = Field(offset: 0, length: -1)
            continue
          }
          guard Int(length) <= n - i else { throw Malformed(reason: "truncated field") }
          fields[f] = Field(offset: Int32(i), length: length)
          i += Int(length)
        }
        try row(PostgresRow(copy: data.baseAddress!, fields: UnsafeBufferPointer(rebasing: fields[0..<count])))
      }
    }
  }
}

extension PostgresConnection {
  /// Streams `copySQL` (a `COPY … TO STDOUT (FORMAT binary)` of a described query whose columns are
  /// `columns`, all binary): same callbacks, cancellation and errors as `stream`. nil when the server
  /// refuses the COPY before sending anything for a reason of its shape (syntax, unsupported
  /// statement): the caller then streams the prepared statement instead.
  func streamCopy(
    _ copySQL: String, name: String, columns: [PostgresColumn],
    columns onColumns: ([PostgresColumn]) throws -> Void, row onRow: (borrowing PostgresRow) throws -> Void
  ) throws -> Int? {
    guard PQsendQuery(conn, copySQL) == 1 else {
      throw connectionError(name: name)
    }
    guard let first = PQgetResult(conn) else {
      throw connectionError(name: name)
    }
    if PQresultStatus(first) != PGRES_COPY_OUT {
      let e = error(from: first, name: name)
      PQclear(first)
      drain()
      if let state = e.sqlState, state.hasPrefix("42") || state.hasPrefix("0A") { return nil }
      throw e
    }
    PQclear(first)
    var failure: (any Error)? = nil
    do { try onColumns(columns) } catch {
      failure = error
      cancel()
    }
    var parser = PostgresCopy.BinaryParser(columns: columns.count)
    var rows = 0
    while true {
      var buffer: UnsafeMutablePointer<CChar>? = nil
      let n = PQgetCopyData(conn, &buffer, 0)
      if n == -1 { break }
      if n < 0 {
        if failure == nil {
          failure = connectionError(name: name)
        }
        break
      }
      defer { PQfreemem(buffer) }
      guard failure == nil, let buffer else { continue }
      do {
        try parser.feed(UnsafeRawBufferPointer(start: buffer, count: Int(n))) { row in
          try onRow(row)
          rows += 1
        }
      } catch let e as PostgresCopy.BinaryParser.Malformed {
        failure = PostgresError(kind: .query, query: name, message: "the server's COPY data is malformed (\(e.reason))")
        cancel()
      } catch {
        failure = error
        cancel()
      }
    }
    while let res = PQgetResult(conn) {
      defer { PQclear(res) }
      let status = PQresultStatus(res)
      if status != PGRES_COMMAND_OK && status != PGRES_COPY_OUT && failure == nil {
        failure = self.error(from: res, name: name)
      }
    }
    if failure == nil && !parser.sawTrailer {
      failure = PostgresError(kind: .query, query: name, message: "the server's COPY data ended without its trailer")
    }
    if let failure { throw failure }
    return rows
  }
}

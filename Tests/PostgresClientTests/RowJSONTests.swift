import ETLTestSupport
import Foundation
import PostgresClient
import RevenueCore
import Testing

@Suite("rows to JSON")
struct RowJSONTests {
  static let typesTable = """
    CREATE TABLE typed (
      n int PRIMARY KEY, s text, v varchar(20), c char(3), u uuid, b boolean, i2 smallint, i8 bigint,
      num numeric(12,4), f8 float8, ts timestamptz, tsn timestamp, d date, j jsonb, js json
    );
    INSERT INTO typed VALUES
      (1, E'back\\\\slash "quoted" tab\\t nl\\n ctl\\x01', 'Zoë ✓ 日本', 'EGP', 'a0000000-0000-4000-8000-000000000001',
       true, -3, 9007199254740993, 12.5000, 0.1, '2026-11-24 23:01:00.84+00', '2026-11-24 23:01:00', '2026-11-24',
       '{"z": 1, "a": "x\\\\y \\"q\\" \\u00e9", "n": null, "arr": [1.50, true]}', '{"b": 2, "a": [ 1 , 2 ]}'),
      (2, NULL, '', NULL, NULL, false, 0, 0, 'NaN', 'Infinity', 'infinity', '-infinity', NULL, 'null', '"s"'),
      (3, '', 'x', 'ab ', NULL, NULL, NULL, -1, -0.0001, -1.5e-7, '0044-03-15 10:00:00+00 BC', '2026-01-01 00:00:00.000001', NULL, '[]', '{}');
    """

  @Test func typesConvertByOID() throws {
    let db = try TestDatabase.create(seeded: false)
    defer { db.drop() }
    try db.execute(Self.typesTable)
    let conn = try PostgresConnection(url: db.url)
    var out: [String] = []
    var encoder: RowJSONEncoder? = nil
    try conn.stream(
      "SELECT * FROM typed ORDER BY n", name: "typed", columns: { encoder = RowJSONEncoder(columns: $0) },
      row: { row in
        var bytes: [UInt8] = []
        try encoder!.write(row, into: &bytes)
        out.append(String(decoding: bytes, as: UTF8.self))
      })
    #expect(out.count == 3)
    #expect(
      out[0]
        == #"{"b":true,"c":"EGP","d":"2026-11-24","f8":0.1,"i2":-3,"i8":9007199254740993,"j":{"a":"x\\y \"q\" é","arr":[1.50,true],"n":null,"z":1},"js":{"a":[1,2],"b":2},"n":1,"num":12.5000,"s":"back\\slash \"quoted\" tab\t nl\n ctl\u0001","ts":"2026-11-24T23:01:00.84+00:00","tsn":"2026-11-24T23:01:00+00:00","u":"a0000000-0000-4000-8000-000000000001","v":"Zoë ✓ 日本"}"#
    )
    #expect(
      out[1]
        == #"{"b":false,"c":null,"d":null,"f8":"Infinity","i2":0,"i8":0,"j":null,"js":"s","n":2,"num":"NaN","s":null,"ts":"infinity","tsn":"-infinity","u":null,"v":""}"#
    )
    #expect(
      out[2]
        == #"{"b":null,"c":"ab ","d":null,"f8":-1.5e-07,"i2":null,"i8":-1,"j":[],"js":{},"n":3,"num":-0.0001,"s":"","ts":"0044-03-15 10:00:00+00 BC","tsn":"2026-01-01T00:00:00.000001+00:00","u":null,"v":"x"}"#
    )
    // Every line parses, and strings round-trip exactly (backslash, quotes, control bytes, non-ASCII).
    let first = try JSONParser.parse(out[0])
    #expect(first["s"]?.stringValue == "back\\slash \"quoted\" tab\t nl\n ctl\u{01}")
    #expect(first["v"]?.stringValue == "Zoë ✓ 日本")
    #expect(first["j"]?["a"]?.stringValue == "x\\y \"q\" é")
    for line in out { #expect(JSONWriter.string(try JSONParser.parse(line)) == line) }
  }

  @Test func timestampsFollowUTCWhateverTheServerZone() throws {
    let db = try TestDatabase.create(seeded: false)
    defer { db.drop() }
    try db.execute("ALTER DATABASE \(db.name) SET TimeZone = 'Africa/Cairo'")
    let conn = try PostgresConnection(url: db.url)
    var out: [UInt8] = []
    var encoder: RowJSONEncoder? = nil
    try conn.stream(
      "SELECT '2026-07-01 12:00:00+03'::timestamptz AS t", name: "tz",
      columns: { encoder = RowJSONEncoder(columns: $0) },
      row: { row in try encoder!.write(row, into: &out) })
    #expect(String(decoding: out, as: UTF8.self) == #"{"t":"2026-07-01T09:00:00+00:00"}"#)
  }

  /// Binary-format rows give byte-for-byte the lines text rows give: integers at their limits,
  /// uuids, text with escapes and non-ASCII, jsonb/json, dates and timestamps at every edge the
  /// server prints specially (fractions, infinity, BC, 5-digit years, leap days, before 1970).
  @Test func binaryRowsMatchTextRows() throws {
    let db = try TestDatabase.create(seeded: false)
    defer { db.drop() }
    try db.execute(
      """
      CREATE TABLE bin (
        n int PRIMARY KEY, s text, v varchar(20), c char(3), u uuid, b boolean, i2 smallint, i4 int, i8 bigint,
        ts timestamptz, tsn timestamp, d date, j jsonb, js json
      );
      INSERT INTO bin VALUES
        (1, E'back\\\\slash "q" tab\\t ctl\\x01', 'Zoë ✓ 日本', 'EGP', 'a0000000-0000-4000-8000-00000000000f', true,
         -32768, -2147483648, -9223372036854775808, '2026-11-24 23:01:00.84+00', '2026-11-24 23:01:00', '2026-11-24',
         '{"z": 1, "a": "x\\\\y \\"q\\" \\u00e9", "arr": [1.50, true]}', '{"b": 2, "a": [ 1 , 2 ]}'),
        (2, NULL, '', NULL, NULL, false, 32767, 2147483647, 9223372036854775807, 'infinity', '-infinity', 'infinity',
         'null', '"s"'),
        (3, '', 'x', 'ab ', 'ffffffff-ffff-ffff-ffff-ffffffffffff', NULL, 0, 0, 0, '0044-03-15 10:00:00.5+00 BC',
         '10000-01-01 00:00:00', '-infinity', '[]', '{}'),
        (4, 's', 'v', 'c', '00000000-0000-0000-0000-000000000000', true, 1, 1, 1, '1969-12-31 23:59:59.999999+00',
         '2000-01-01 00:00:00', '2024-02-29', '{}', '[]'),
        (5, 's', 'v', 'c', NULL, true, -1, -1, -1, '0001-01-01 00:00:00+00', '9999-12-31 23:59:59.000001',
         '0001-01-01 BC', '[1]', 'null'),
        (6, 's', 'v', 'c', NULL, true, 7, 7, 7, '1900-03-01 00:00:00.1+00', '2026-01-01 00:00:00.000001', '12345-06-07',
         '{"k": {"b": 1, "a": 2}}', '1');
      """)
    let conn = try PostgresConnection(url: db.url)
    func lines(binary: Bool) throws -> ([String], Bool) {
      var out: [String] = []
      var encoder: RowJSONEncoder? = nil
      var usedBinary = false
      try conn.stream(
        "SELECT * FROM bin WHERE n > $1 ORDER BY n", name: "bin", parameters: ["0"], binary: binary,
        columns: {
          usedBinary = $0.allSatisfy(\.binary)
          encoder = RowJSONEncoder(columns: $0)
        },
        row: { row in
          var bytes: [UInt8] = []
          try encoder!.write(row, into: &bytes)
          out.append(String(decoding: bytes, as: UTF8.self))
        })
      return (out, usedBinary)
    }
    let (text, textWasBinary) = try lines(binary: false)
    let (binary, binaryWasBinary) = try lines(binary: true)
    #expect(!textWasBinary)
    #expect(binaryWasBinary)
    #expect(text.count == 6)
    for (a, b) in zip(text, binary) { #expect(a == b) }
    #expect(text[2].contains(#""ts":"0044-03-15 10:00:00.5+00 BC""#))
    // A column type without an exact binary decoding (numeric) keeps the whole query in text.
    var formats: [Bool] = []
    try conn.stream(
      "SELECT 1.50::numeric AS x, 2 AS y", name: "numeric", binary: true, columns: { formats = $0.map(\.binary) },
      row: { _ in })
    #expect(formats == [false, false])
    // Errors read as before: the statement is named, the server's reason given.
    #expect {
      try conn.stream("SELECT nope FROM bin", name: "broken", binary: true, columns: { _ in }, row: { _ in })
    } throws: { e in "\(e)".contains("broken") && "\(e)".contains("nope") }
  }
}

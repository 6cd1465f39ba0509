import Testing

@testable import RevenueCore

@Suite("Money and currencies")
struct MoneyTests {
  @Test(
    "converts decimal strings to minor units exactly",
    arguments: [
      ("1,188.00", "USD", DecimalStyle.dot, Int64(118_800)), ("-99.5", "EGP", .dot, -9950), ("4900", "JPY", .dot, 4900),
      ("4900.00", "JPY", .dot, 4900), ("12.345", "KWD", .dot, 12345), ("1.188,00", "EUR", .comma, 118_800),
      ("0.01", "USD", .strictDot, 1), ("  29.00 ", "USD", .dot, 2900), ("+5", "GBP", .dot, 500),
    ])
  func parse(_ text: String, _ code: String, _ style: DecimalStyle, _ expected: Int64) throws {
    let c = try #require(Currency(code))
    #expect(try Money.parseDecimal(text, exponent: c.exponent, style: style) == expected)
  }

  @Test(
    "refuses what is not an exact amount",
    arguments: [
      ("abc", "USD", DecimalStyle.dot), ("1.5", "JPY", .dot), ("1.234", "USD", .dot), ("", "USD", .dot),
      ("1,188.00", "USD", .strictDot), ("1.2.3", "USD", .dot), ("99999999999999999999", "USD", .dot),
      ("12.", "USD", .dot),
    ])
  func refuse(_ text: String, _ code: String, _ style: DecimalStyle) throws {
    let c = try #require(Currency(code))
    #expect(throws: AmountError.self) { try Money.parseDecimal(text, exponent: c.exponent, style: style) }
  }

  @Test("knows ISO 4217 exponents and refuses unknown codes")
  func exponents() {
    #expect(Currency("jpy")?.exponent == 0)
    #expect(Currency("KWD")?.exponent == 3)
    #expect(Currency("EGP")?.exponent == 2)
    #expect(Currency("XYZ") == nil)
    #expect(Money(minorUnits: 12345, currency: Currency("KWD")!).description == "12.345 KWD")
    #expect(Money(minorUnits: -5, currency: Currency("USD")!).description == "-0.05 USD")
  }
}

@Suite("Timestamps")
struct TimestampTests {
  @Test(
    "parses every form the sources use",
    arguments: [
      ("2026-03-01T10:15:22Z", "2026-03-01T10:15:22Z"), ("2026-03-01T10:15:22+02:00", "2026-03-01T08:15:22Z"),
      ("2026-11-24 23:01:00.84+00", "2026-11-24T23:01:00Z"), ("2026-01-31T23:30:00-0800", "2026-02-01T07:30:00Z"),
      ("2026-03-01", "2026-03-01T00:00:00Z"), ("2026-03-01 10:15", "2026-03-01T10:15:00Z"),
      ("2024-02-29T00:00:00.123456Z", "2024-02-29T00:00:00Z"),
    ])
  func parse(_ text: String, _ iso: String) throws {
    #expect(try #require(Timestamp.parse(text)).iso8601 == iso)
  }

  @Test(
    "refuses impossible dates and junk",
    arguments: ["2026-02-30", "2026-13-01", "yesterday", "2026-03-01T25:00:00Z", "2026-03-01Tx"])
  func refuse(_ text: String) { #expect(Timestamp.parse(text) == nil) }

  @Test("adds calendar months clamping to the month's end")
  func months() throws {
    let jan31 = try #require(Timestamp.parse("2026-01-31T12:00:00Z"))
    #expect(jan31.adding(months: 1).iso8601 == "2026-02-28T12:00:00Z")
    #expect(jan31.adding(.year, count: 1).iso8601 == "2027-01-31T12:00:00Z")
    #expect(jan31.adding(months: -2).iso8601 == "2025-11-30T12:00:00Z")
    #expect(jan31.adding(.day, count: 7).iso8601 == "2026-02-07T12:00:00Z")
    #expect(Timestamp(seconds: -1).iso8601 == "1969-12-31T23:59:59Z")
  }

  @Test("SHA-256 matches the FIPS test vectors")
  func sha256() {
    #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    #expect(SHA256.hex([UInt8]()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    let million = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
    #expect(SHA256.hex(million) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
  }
}

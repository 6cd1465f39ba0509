/// ISO 4217 currency code with its minor-unit exponent.
///
/// Exponents are data (see docs/gateways "Amounts and currencies"): 0 for JPY-like currencies, 3 for KWD-like,
/// 2 for the rest of the currencies we accept. An unknown code is an error, never a guess.
public struct Currency: Sendable, Hashable, Comparable, CustomStringConvertible {
  public let code: String
  public let exponent: Int

  /// Accepts any case (`usd`, `USD`); nil for codes outside the table.
  public init?(_ code: String) {
    let upper = code.trimmingASCIIWhitespace().uppercased()
    guard let e = Currency.exponents[upper] else { return nil }
    self.code = upper
    self.exponent = e
  }

  public var description: String { code }
  public static func < (a: Currency, b: Currency) -> Bool { a.code < b.code }

  /// Zero-decimal currencies (ISO 4217 exponent 0).
  static let zeroDecimal: Set<String> = [
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF",
  ]
  /// Three-decimal currencies.
  static let threeDecimal: Set<String> = ["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"]
  /// Two-decimal currencies accepted here.
  static let twoDecimal: Set<String> = [
    "AED", "ARS", "AUD", "BDT", "BGN", "BRL", "CAD", "CHF", "CNY", "COP", "CZK", "DKK", "DZD", "EGP", "EUR", "GBP",
    "GHS", "HKD", "HUF", "IDR", "ILS", "INR", "KES", "KZT", "LBP", "LKR", "MAD", "MXN", "MYR", "NGN", "NOK", "NZD",
    "PEN", "PHP", "PKR", "PLN", "QAR", "RON", "RSD", "RUB", "SAR", "SEK", "SGD", "THB", "TRY", "TWD", "TZS", "UAH",
    "USD", "UYU", "ZAR", "MGA",
  ]
  static let exponents: [String: Int] = {
    var m: [String: Int] = [:]
    for c in zeroDecimal { m[c] = 0 }
    for c in threeDecimal { m[c] = 3 }
    for c in twoDecimal { m[c] = 2 }
    return m
  }()
}

/// An amount in integer minor units of a currency. Never a floating-point number.
public struct Money: Sendable, Hashable, CustomStringConvertible {
  public var minorUnits: Int64
  public var currency: Currency

  public init(minorUnits: Int64, currency: Currency) {
    self.minorUnits = minorUnits
    self.currency = currency
  }

  /// Largest amount accepted from any source: 10^12 minor units (ten billion dollars). Anything larger is
  /// a data error, not revenue.
  public static let absurdLimit: Int64 = 1_000_000_000_000

  public var description: String { "\(Money.format(minorUnits, exponent: currency.exponent)) \(currency.code)" }

  /// Formats minor units as a decimal string with the currency's exponent (`12345`, 2 → `123.45`).
  public static func format(_ minor: Int64, exponent: Int) -> String {
    guard exponent > 0 else { return String(minor) }
    let neg = minor < 0
    let mag = minor.magnitude
    var p: UInt64 = 1
    for _ in 0..<exponent { p *= 10 }
    var frac = String(mag % p)
    while frac.count < exponent { frac = "0" + frac }
    return (neg ? "-" : "") + String(mag / p) + "." + frac
  }
}

/// How a decimal amount is written in a file.
public enum DecimalStyle: String, Sendable, Hashable {
  /// `1,188.00` — dot decimal, optional comma thousands separators.
  case dot
  /// `1.188,00` — comma decimal, optional dot thousands separators (European PayPal files).
  case comma
  /// `1188.00` — dot decimal, no thousands separator allowed (Cashier contract).
  case strictDot
}

/// Why a decimal string could not become minor units.
public struct AmountError: Error, Sendable, Equatable, CustomStringConvertible {
  public var text: String
  public var reason: String
  public var description: String { "amount '\(text)' \(reason)" }
}

extension Money {
  /// Converts a decimal major-unit string to minor units exactly, by string arithmetic.
  ///
  /// `"1,188.00"` USD → 118800; `"-99.5"` EGP → -9950; `"4900"` JPY → 4900; `"1.5"` JPY is an error
  /// (more decimals than the currency has). Rule: docs/gateways "Amounts and currencies" — never `Double`.
  public static func parseDecimal(_ raw: String, exponent: Int, style: DecimalStyle = .dot) throws(AmountError)
    -> Int64
  {
    var s = Substring(raw.trimmingASCIIWhitespace())
    guard !s.isEmpty else { throw AmountError(text: raw, reason: "is empty") }
    var negative = false
    if s.first == "-" {
      negative = true
      s = s.dropFirst()
    } else if s.first == "+" {
      s = s.dropFirst()
    }
    let decimalSep: Character = style == .comma ? "," : "."
    let thousandsSep: Character? = style == .comma ? "." : (style == .dot ? "," : nil)
    var intPart = ""
    var fracPart = ""
    var seenDecimal = false
    for ch in s {
      if ch == decimalSep {
        if seenDecimal { throw AmountError(text: raw, reason: "has two decimal separators") }
        seenDecimal = true
      } else if let t = thousandsSep, ch == t, !seenDecimal {
        continue
      } else if ch.isASCII, ch.isNumber {
        if seenDecimal { fracPart.append(ch) } else { intPart.append(ch) }
      } else {
        throw AmountError(text: raw, reason: "is not a number")
      }
    }
    if intPart.isEmpty && fracPart.isEmpty { throw AmountError(text: raw, reason: "is not a number") }
    if seenDecimal && fracPart.isEmpty {
      throw AmountError(text: raw, reason: "has no digits after the decimal separator")
    }
    if fracPart.count > exponent {
      // Trailing zeros beyond the exponent are harmless ("4900.00" JPY).
      let extra = fracPart.dropFirst(exponent)
      guard extra.allSatisfy({ $0 == "0" }) else {
        throw AmountError(text: raw, reason: "has more decimals than the currency allows (\(exponent))")
      }
      fracPart = String(fracPart.prefix(exponent))
    }
    while fracPart.count < exponent { fracPart.append("0") }
    let digits = (intPart.isEmpty ? "0" : intPart) + fracPart
    guard digits.count <= 18, let v = Int64(digits) else { throw AmountError(text: raw, reason: "is too large") }
    return negative ? -v : v
  }
}

extension String {
  /// The string without leading and trailing ASCII spaces, tabs, CR and LF.
  public func trimmingASCIIWhitespace() -> String {
    // Fast path (hot in Transform): when neither end byte is one of these, no end Character can be
    // one of them either, so the result is `self` (exactly what the Character scan below returns).
    func isWS(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0A }
    if let f = utf8.first, let l = utf8.last, !isWS(f), !isWS(l) { return self }
    let ws: Set<Character> = [" ", "\t", "\r", "\n"]
    guard let a = firstIndex(where: { !ws.contains($0) }) else { return "" }
    let b = lastIndex(where: { !ws.contains($0) })!
    return String(self[a...b])
  }
}

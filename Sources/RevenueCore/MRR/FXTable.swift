/// Fixed exchange rates into the pipeline's reporting currency (`validate.fx` in the pipeline file).
///
/// ChartMogul converts each line with the daily closing rate of its service-period start
/// (docs/chartmogul.md "Currencies"); a pipeline file can only hold one rate per currency, so local MRR in
/// foreign currencies drifts from ChartMogul's by the rate difference. Rates are "units of the
/// reporting currency per unit of the foreign currency" (`EUR: 1.08` with USD reporting).
public struct FXTable: Sendable, Hashable {
  public let reporting: Currency
  /// Currency code → reporting units per unit (major units on both sides).
  public let rates: [String: Double]

  public init(reporting: Currency, rates: [String: Double]) {
    self.reporting = reporting
    var r: [String: Double] = [:]
    for (k, v) in rates { r[k.uppercased()] = v }
    r[reporting.code] = 1
    self.rates = r
  }

  public func rate(_ code: String) -> Double? { rates[code.uppercased()] }

  /// Converts minor units of `code` into minor units of the reporting currency, rounded half away
  /// from zero; nil when the table has no rate (or the code is not an ISO 4217 currency we know).
  public func convert(_ minor: Int64, from code: String) -> Int64? {
    if code.uppercased() == reporting.code { return minor }
    guard let rate = rate(code), let from = Currency(code) else { return nil }
    var scale = rate
    let shift = reporting.exponent - from.exponent
    if shift > 0 { for _ in 0..<shift { scale *= 10 } }
    if shift < 0 { for _ in 0..<(-shift) { scale /= 10 } }
    return Int64(clamping: (Double(minor) * scale).rounded(.toNearestOrAwayFromZero))
  }
}

import RevenueCore

/// Amount checks in one currency: no negative amounts (prorated lines excepted), none above
/// `reject_amount_above` (ChartMogul amounts are integer minor units:
/// https://dev.chartmogul.com/reference/import-customers-invoices).
package struct MoneyCheck {
  package var currency: Currency
  package var limit: Int64

  package func check(_ v: Int64, _ what: String, allowNegative: Bool = false) throws(Rejected) {
    let f = { (x: Int64) in Money.format(x, exponent: self.currency.exponent) }
    if v < 0 && !allowNegative { throw Rejected("bad_amount", "\(what) \(f(v)) \(currency.code) is negative") }
    if v.magnitude > UInt64(limit) {
      throw Rejected(
        "bad_amount", "\(what) \(f(v)) \(currency.code) is above the limit \(f(limit)) (reject_amount_above)")
    }
  }
}

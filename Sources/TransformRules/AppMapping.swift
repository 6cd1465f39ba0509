import RevenueCore

/// App database payment rows → payments.
package enum AppMapping {
  /// `app.transaction` / `app.refund` → a payment (ChartMogul amounts are minor units,
  /// https://dev.chartmogul.com/reference/import-customers-invoices; after
  /// discount, tax included). Failed and pending payments are skipped with their status; test rows
  /// (`metadata.livemode: false`) are skipped as test data.
  package static func payment(_ r: AppTransactionRow, refundRow: Bool) -> ReadOutcome {
    if let b = r.badField { return .reject(code: "bad_field", reason: "field '\(b)' has the wrong type") }
    guard let gateway = r.gateway?.trimmingASCIIWhitespace().lowercased(), !gateway.isEmpty else {
      return .reject(code: "missing_field", reason: "field 'gateway' is missing")
    }
    guard let gtid = r.gatewayTransactionID?.trimmingASCIIWhitespace(), !gtid.isEmpty else {
      return .reject(code: "missing_field", reason: "field 'gateway_transaction_id' is missing")
    }
    guard let user = r.userID, !user.isEmpty else {
      return .reject(code: "missing_field", reason: "field 'user_id' is missing")
    }
    if r.livemode == false { return .skip(code: "test_data", reason: "metadata.livemode is false") }
    switch r.status {
    case "completed", "refunded": break
    case "failed": return .skip(code: "failed_payment", reason: "payment status is failed (not revenue)")
    case "pending": return .skip(code: "pending_payment", reason: "payment is pending; it is read again next run")
    default:
      return .reject(
        code: "bad_status", reason: "status '\(r.status ?? "null")' is not pending, completed, failed or refunded")
    }
    guard let amount = r.amount else {
      return .reject(code: "missing_field", reason: "field 'amount_cents' is missing")
    }
    guard let cur = r.currency else { return .reject(code: "missing_field", reason: "field 'currency' is missing") }
    guard let date = r.transactionDate?.time else {
      return .reject(code: "bad_date", reason: "field 'transaction_date' is missing or not a timestamp")
    }
    var periodStart: Timestamp? = nil
    var periodEnd: Timestamp? = nil
    if let s = r.periodStart {
      guard let t = s.time else {
        return .reject(code: "bad_date", reason: "period_start '\(s.text)' is not a timestamp")
      }
      periodStart = t
    }
    if let s = r.periodEnd {
      guard let t = s.time else {
        return .reject(code: "bad_date", reason: "period_end '\(s.text)' is not a timestamp")
      }
      periodEnd = t
    }
    var line = RawLine(type: .subscription, amount: amount)
    line.tax = r.tax ?? 0
    line.discount = r.discount ?? 0
    switch r.productType {
    case "subscription":
      line.planID = r.planName
      line.subscriptionID = r.gatewaySubscriptionID
      line.periodStart = periodStart
      line.periodEnd = periodEnd
      if line.subscriptionID == nil {
        return .reject(
          code: "no_subscription",
          reason: "subscription payment without gateway_subscription_id (subscription_id \(r.subscriptionID ?? "null"))"
        )
      }
    case "one_time":
      line.type = .oneTime
      line.description = r.planName ?? "One-time payment"
    default:
      return .reject(
        code: "bad_field", reason: "product_type '\(r.productType ?? "null")' is not subscription or one_time")
    }
    var p = RawPayment(
      role: refundRow ? .appRefund : .appTransaction, gateway: gateway, id: gtid, appUserID: user,
      currencyCode: cur, date: date, total: amount, lines: [line])
    var refunded = r.refundedAmount ?? 0
    if r.status == "refunded" && refunded == 0 { refunded = amount }
    p.cumulativeRefund = refunded
    p.cumulativeRefundDate = r.refundedAt?.time ?? date
    p.refundSynced = refundRow ? (r.refundSynced ?? 0) : 0
    p.appTransactionID = r.id
    p.countryHint = r.country
    p.referrerHint = r.referrer
    // The customer is the app user (users.id); `user_email` is not needed to resolve it.
    return .payment(p)
  }
}

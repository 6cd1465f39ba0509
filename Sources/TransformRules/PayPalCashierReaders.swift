import Foundation
import RevenueCore

/// PayPal Transaction Search records, Activity CSV rows, and Cashier rows (API and CSV share the
/// columns listed in docs/docs/gateways; PayPal: https://developer.paypal.com/docs/api/transaction-search/v1/).
package struct PayPalCashierReaders {
  package let subscriptions: SubscriptionIndex?
  /// `transform.include_test_data`: Cashier `mode=test` rows are read like live ones (rehearsals).
  package var includeTestData = false

  package static let paymentTypes: Set<String> = [
    "subscription payment", "express checkout payment", "website payment", "mobile payment", "general payment",
    "preapproved payment bill user payment", "recurring payment",
  ]
  package static let refundTypes: Set<String> = ["payment refund", "chargeback", "refund"]

  package static func money(_ v: JSONValue?, exponent: Int) throws(AmountError) -> Int64? {
    guard let s = v?.text("value") else { return nil }
    return try Money.parseDecimal(s, exponent: exponent, style: .dot)
  }

  /// What a PayPal transaction event code (T-code) means for revenue
  /// (https://developer.paypal.com/docs/transaction-search/transaction-event-codes/): T00xx
  /// account-to-account payments are revenue when they are credits (a debit is a payment the account
  /// sent, and T0001 is a MassPay payout); of the T11xx reversals and T12xx chargebacks only a payment
  /// reversal (T1106), a refund (T1107) and a chargeback (T1201) take revenue back. Everything else —
  /// holds and their release (T1105, T1110, T1111, T15xx), fee reversals, payouts and withdrawals,
  /// currency conversions, bank transfers — is everyday account activity: skipped, never rejected.
  package enum EventKind: Equatable {
    case payment, refund
    case notRevenue(String)

    package static func of(code: String, amountSign: Int) -> EventKind {
      if code.hasPrefix("T00") {
        if code == "T0001" { return .notRevenue("a MassPay payout") }
        if code == "T0013" { return .notRevenue("a donation") }
        if amountSign < 0 { return .notRevenue("a payment this account sent (a debit)") }
        return .payment
      }
      if ["T1106", "T1107", "T1201"].contains(code) { return .refund }
      if code.hasPrefix("T11") || code.hasPrefix("T12") {
        return .notRevenue("a hold, hold release, fee reversal or chargeback adjustment")
      }
      return .notRevenue("account activity that moves no revenue")
    }
  }

  /// `paypal.transaction` (one `transaction_details[]` element), classified by `EventKind`.
  /// Status S/F/V are paid, P pending, D denied.
  package func transaction(_ r: JSONValue) -> ReadOutcome {
    guard let ti = r.at("transaction_info"), let id = ti.text("transaction_id"),
      let cur = ti.at("transaction_amount")?.text("currency_code")
    else {
      let id = r.at("transaction_info")?.text("transaction_id")
      return .reject(
        code: "missing_field",
        reason:
          "\(id.map { "transaction \($0)" } ?? "a paypal.transaction"): transaction_info.transaction_id and transaction_amount.currency_code are required"
      )
    }
    let code = ti.text("transaction_event_code") ?? ""
    let value = ti.at("transaction_amount")?.text("value") ?? ""
    let kind = EventKind.of(code: code, amountSign: value.hasPrefix("-") ? -1 : 1)
    if case .notRevenue(let what) = kind {
      return .skip(
        code: "not_revenue",
        reason: "transaction \(id): event code \(code.isEmpty ? "(none)" : code) is \(what), not revenue")
    }
    let isRefund = kind == .refund
    switch ti.text("transaction_status") ?? "" {
    case "S", "F", "V": break
    case "P": return .skip(code: "pending_payment", reason: "transaction \(id) is pending")
    case "D": return .skip(code: "failed_payment", reason: "transaction \(id) was denied")
    case let s: return .reject(code: "bad_status", reason: "transaction_status '\(s)' is unknown")
    }
    guard let currency = Currency(cur) else {
      return .reject(code: "unknown_currency", reason: "currency '\(cur)' is not in the ISO 4217 table")
    }
    guard let date = ti.time("transaction_initiation_date") else {
      return .reject(code: "bad_date", reason: "transaction_initiation_date is missing or not a timestamp")
    }
    let amount: Int64
    var tax: Int64 = 0
    var discount: Int64 = 0
    do {
      guard let a = try Self.money(ti.at("transaction_amount"), exponent: currency.exponent) else {
        return .reject(code: "missing_field", reason: "transaction \(id) has no transaction_amount.value")
      }
      amount = a
      tax = try Self.money(ti.at("sales_tax_amount"), exponent: currency.exponent) ?? 0
      discount = try Self.money(ti.at("discount_amount"), exponent: currency.exponent).map { abs($0) } ?? 0
    } catch { return .reject(code: "bad_amount", reason: "\(error)") }
    if isRefund {
      guard amount <= 0 else { return .reject(code: "bad_amount", reason: "refund \(id) has a positive amount") }
      var p = RawPayment(role: .gatewayRefund, gateway: "paypal", id: id, currencyCode: cur, date: date)
      p.refundOf = ti.text("paypal_reference_id")
      p.refunds = [RawRefund(id: id, amount: -amount, date: date)]
      return .payment(p)
    }
    let payer = r.at("payer_info")
    let pn = payer?.at("payer_name")
    let name =
      pn?.text("alternate_full_name")
      ?? [pn?.text("given_name"), pn?.text("surname")].compactMap { $0 }.joined(separator: " ")
    var p = RawPayment(role: .gatewayPayment, gateway: "paypal", id: id, currencyCode: cur, date: date)
    p.identity = Identity(
      gateway: "paypal", customerID: payer?.text("account_id") ?? ti.text("paypal_account_id"),
      appUserID: ti.text("custom_field"), email: Normalize.email(payer?.text("email_address")),
      name: Normalize.name(name), country: Normalize.country(payer?.text("country_code")))
    p.total = amount
    let item = r.at("cart_info", "item_details")?.arrayValue?.first
    let subID = ti.text("paypal_reference_id_type") == "SUB" ? ti.text("paypal_reference_id") : nil
    var line = RawLine(type: .oneTime, amount: amount)
    line.tax = tax
    line.discount = discount
    line.quantity = item?.text("item_quantity").flatMap { Int64($0) } ?? 1
    if let sid = subID {
      line.type = .subscription
      line.subscriptionID = sid
      let code = item?.text("item_code")
      line.planID = subscriptions?.planID(gateway: "paypal", id: sid) ?? code
      line.planCandidates = [code, item?.text("item_name")].compactMap { $0 }
    } else {
      line.description = item?.text("item_name") ?? ti.text("transaction_subject") ?? "PayPal payment"
    }
    p.lines = [line]
    return .payment(p)
  }

  /// `paypal-activity-csv` row (docs/docs/gateways).
  package func activityRow(_ r: JSONValue, format: ActivityFormat) -> ReadOutcome {
    guard let id = r.text("Transaction ID") else {
      return .reject(code: "missing_field", reason: "column 'Transaction ID' is empty")
    }
    let type = (r.text("Type") ?? "").lowercased()
    if r.text("Balance Impact")?.lowercased() == "memo" {
      return .skip(code: "not_revenue", reason: "Balance Impact is Memo (no money moved)")
    }
    let isPayment = Self.paymentTypes.contains(type)
    let isRefund = Self.refundTypes.contains(type)
    guard isPayment || isRefund else {
      return .skip(code: "not_revenue", reason: "type '\(r.text("Type") ?? "")' moves no revenue")
    }
    switch (r.text("Status") ?? "").lowercased() {
    case "completed": break
    case "pending": return .skip(code: "pending_payment", reason: "transaction \(id) is pending")
    case "denied", "failed": return .skip(code: "failed_payment", reason: "transaction \(id) was denied")
    case let s: return .skip(code: "not_revenue", reason: "status '\(s)' is not Completed")
    }
    guard let cur = r.text("Currency"), let currency = Currency(cur) else {
      return .reject(
        code: "unknown_currency", reason: "currency '\(r.text("Currency") ?? "")' is not in the ISO 4217 table")
    }
    guard let date = Self.activityDate(r, format) else {
      return .reject(
        code: "bad_date",
        reason:
          "Date/Time/TimeZone '\(r.text("Date") ?? "") \(r.text("Time") ?? "") \(r.text("TimeZone") ?? "")' cannot be read (check date_format)"
      )
    }
    let gross: Int64
    var tax: Int64 = 0
    do {
      gross = try Money.parseDecimal(r.text("Gross") ?? "", exponent: currency.exponent, style: format.decimal)
      if let t = r.text("Sales Tax") {
        tax = try Money.parseDecimal(t, exponent: currency.exponent, style: format.decimal)
      }
    } catch { return .reject(code: "bad_amount", reason: "\(error)") }
    if isRefund {
      guard gross <= 0 else { return .reject(code: "bad_amount", reason: "refund \(id) has a positive Gross") }
      var p = RawPayment(role: .gatewayRefund, gateway: "paypal", id: id, currencyCode: cur, date: date)
      p.refundOf = r.text("Reference Txn ID")
      p.refunds = [RawRefund(id: id, amount: -gross, date: date)]
      return .payment(p)
    }
    var p = RawPayment(role: .gatewayPayment, gateway: "paypal", id: id, currencyCode: cur, date: date)
    p.identity = Identity(
      gateway: "paypal", appUserID: r.text("Custom Number"), email: Normalize.email(r.text("From Email Address")),
      name: Normalize.name(r.text("Name")), country: Normalize.country(r.text("Country Code")))
    p.total = gross
    var line = RawLine(type: .oneTime, amount: gross)
    line.tax = tax
    line.quantity = r.text("Quantity").flatMap { Int64($0) } ?? 1
    let ref = r.text("Reference Txn ID")
    if type == "subscription payment", let sid = ref, sid.hasPrefix("I-") {
      line.type = .subscription
      line.subscriptionID = sid
      line.planID = subscriptions?.planID(gateway: "paypal", id: sid) ?? r.text("Item ID")
      line.planCandidates = [r.text("Item ID"), r.text("Item Title")].compactMap { $0 }
    } else {
      line.description = r.text("Item Title") ?? r.text("Subject") ?? "PayPal payment"
    }
    p.lines = [line]
    return .payment(p)
  }

  package static func activityDate(_ r: JSONValue, _ f: ActivityFormat) -> Timestamp? {
    guard let d = r.text("Date") else { return nil }
    let parts = d.split(separator: f.separator).map { Int($0) }
    guard parts.count == 3, let a = parts[0], let b = parts[1], let y = parts[2] else { return nil }
    let (m, day) = f.order == .mdy ? (a, b) : (b, a)
    let tp = (r.text("Time") ?? "00:00:00").split(separator: ":").map { Int($0) }
    guard tp.count >= 2, let hh = tp[0], let mm = tp[1] else { return nil }
    let ss = tp.count > 2 ? (tp[2] ?? 0) : 0
    guard let t = Timestamp.utc(y, m, day, hh, mm, ss),
      let u = PayPalZones.utc(localSeconds: t.seconds, zone: r.text("TimeZone") ?? "UTC")
    else { return nil }
    return Timestamp(seconds: u)
  }

  /// `cashier.transaction` / `cashier-csv` (docs/docs/gateways): only `SUCCESS` rows are
  /// revenue; `mode=test` rows are test data; refunds are negative and name `original_transaction_id`.
  package func cashier(_ raw: JSONValue) -> ReadOutcome {
    let r = CashierFields.canonical(raw)
    guard let id = r.text("transaction_id") else {
      return .reject(code: "missing_field", reason: "column 'transaction_id' is empty")
    }
    if !includeTestData, r.text("mode")?.lowercased() == "test" {
      return .skip(code: "test_data", reason: "mode is test")
    }
    switch r.text("status") ?? "" {
    case "SUCCESS": break
    case "PENDING":
      return .skip(code: "pending_payment", reason: "transaction \(id) is pending; it is read again next run")
    case "FAILURE": return .skip(code: "failed_payment", reason: "transaction \(id) failed")
    case "CANCELLED": return .skip(code: "failed_payment", reason: "transaction \(id) was cancelled")
    case let s:
      return .reject(code: "bad_status", reason: "status '\(s)' is not SUCCESS, FAILURE, PENDING or CANCELLED")
    }
    guard let cur = r.text("currency"), let currency = Currency(cur) else {
      return .reject(
        code: "unknown_currency", reason: "currency '\(r.text("currency") ?? "")' is not in the ISO 4217 table")
    }
    guard let date = r.time("created_at") else {
      return .reject(code: "bad_date", reason: "created_at is missing or not RFC 3339")
    }
    // The contract's values are strings (docs/docs/gateways): a JSON number here is a producer bug
    // whose decimals may already be lost, so it is refused rather than guessed at.
    if let v = r["amount"], !v.isNull, v.stringValue == nil {
      return .reject(
        code: "bad_amount", reason: "transaction \(id): amount must be a decimal string, not \(JSONValue.brief(v))")
    }
    let amount: Int64
    // Thousands separators (`1,490.00`) are accepted: dashboards and spreadsheets write them.
    do { amount = try Money.parseDecimal(r.text("amount") ?? "", exponent: currency.exponent, style: .dot) } catch {
      return .reject(code: "bad_amount", reason: "\(error)")
    }
    switch r.text("type") ?? "" {
    case "refund":
      guard amount <= 0 else { return .reject(code: "bad_amount", reason: "refund \(id) has a positive amount") }
      var p = RawPayment(role: .gatewayRefund, gateway: "cashier", id: id, currencyCode: cur, date: date)
      p.refundOf = r.text("original_transaction_id")
      p.refunds = [RawRefund(id: id, amount: -amount, date: date)]
      return .payment(p)
    case "payment":
      var p = RawPayment(role: .gatewayPayment, gateway: "cashier", id: id, currencyCode: cur, date: date)
      p.identity = Identity(
        gateway: "cashier", appUserID: r.text("merchant_customer_id"), email: Normalize.email(r.text("customer_email")),
        name: Normalize.name(r.text("customer_name")))
      p.total = amount
      var line = RawLine(type: .oneTime, amount: amount)
      if let plan = r.text("plan_id"), let sub = r.text("subscription_id") {
        line.type = .subscription
        line.planID = plan
        line.subscriptionID = sub
        if let s = r.text("period_start") {
          guard let t = Timestamp.parse(s) else {
            return .reject(code: "bad_date", reason: "period_start '\(s)' is not a timestamp")
          }
          line.periodStart = t
        }
        if let s = r.text("period_end") {
          guard let t = Timestamp.parse(s) else {
            return .reject(code: "bad_date", reason: "period_end '\(s)' is not a timestamp")
          }
          line.periodEnd = t
        }
      } else {
        line.description = r.text("description") ?? "Cashier payment"
      }
      p.lines = [line]
      return .payment(p)
    case let t:
      return .reject(code: "bad_field", reason: "type '\(t)' is not payment or refund")
    }
  }
}

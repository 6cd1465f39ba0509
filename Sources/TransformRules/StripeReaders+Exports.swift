import RevenueCore

/// Rows of the Stripe Dashboard exports (docs/docs/gateways "Dashboard exports"): the Payments export
/// (`unified_payments.csv`, default, older and all-columns layouts) and the Invoices export.
///
/// A row that describes no money movement — an empty `id` (a PaymentIntent that was never charged,
/// status `requires_payment_method`), a failed or canceled attempt, a draft/open/void invoice — is
/// skipped with its reason, never rejected: Stripe writes such rows into every real export
/// (https://docs.stripe.com/payments/paymentintents/lifecycle).
extension StripeReaders {
  /// Statuses of the Payments export that moved money (the charge succeeded; refunds are in
  /// `Amount Refunded`). Values are compared lower-cased and with `_` read as a space.
  package static let paidStatuses: Set<String> = [
    "paid", "succeeded", "refunded", "partially refunded", "partial refund", "disputed",
  ]
  /// Statuses of attempts that never moved money.
  package static let unchargedStatuses: Set<String> = [
    "failed", "requires payment method", "requires confirmation", "requires action", "canceled", "cancelled",
    "incomplete", "blocked", "expired",
  ]

  /// `stripe-payments-csv` row in any of its layouts.
  package func paymentExportRow(_ r: JSONValue) -> ReadOutcome {
    let status = (r.text("Status") ?? "").lowercased().replacingOccurrences(of: "_", with: " ")
    guard let id = r.text("id") else {
      return .skip(
        code: "no_money_moved",
        reason: "row has no payment id (status '\(r.text("Status") ?? "")'): Stripe never charged it")
    }
    if !includeTestData, r.text("Mode")?.lowercased() == "test" {
      return .skip(code: "test_data", reason: "Mode is Test")
    }
    if Self.unchargedStatuses.contains(status) {
      let why = r.text("Decline Reason") ?? r.text("Seller Message") ?? "no reason given"
      return .skip(
        code: status == "failed" ? "failed_payment" : "no_money_moved", reason: "payment \(id) is '\(status)' (\(why))")
    }
    if !Self.paidStatuses.contains(status) {
      return .skip(code: "pending_payment", reason: "payment \(id) has status '\(r.text("Status") ?? "")'")
    }
    return paymentRow(r)
  }

  /// `stripe-invoices-csv` row: a paid invoice is the payment, with its subscription and service
  /// period (`Subscription`, `Subscription Period Start (UTC)`/`… End (UTC)`) and its tax. Column names are
  /// found by name with the spellings `ExportFormat` lists.
  package func invoiceExportRow(_ r: JSONValue) -> ReadOutcome {
    guard let id = r.text("id") else { return .skip(code: "no_money_moved", reason: "row has no invoice id") }
    if !includeTestData, r.flag("Livemode") == false || r.text("Mode")?.lowercased() == "test" {
      return .skip(code: "test_data", reason: "invoice \(id) is a test-mode invoice")
    }
    let status = r.text("Status")?.lowercased() ?? (r.flag("Paid") == true ? "paid" : "")
    switch status {
    case "paid": break
    case "open": return .skip(code: "pending_payment", reason: "invoice \(id) is open (not paid yet)")
    case "uncollectible": return .skip(code: "failed_payment", reason: "invoice \(id) is uncollectible")
    case let s: return .skip(code: "not_paid", reason: "invoice \(id) is \(s.isEmpty ? "without status" : s)")
    }
    guard let cur = r.text("Currency"), let currency = Currency(cur) else {
      return .reject(
        code: "unknown_currency",
        reason: "invoice \(id): currency '\(r.text("Currency") ?? "")' is not in the ISO 4217 table")
    }
    let dateColumns = ["Paid At (UTC)", "Date (UTC)", "Created (UTC)", "Finalized At (UTC)"]
    guard let date = dateColumns.lazy.compactMap({ r.time($0) }).first else {
      return .reject(
        code: "bad_date", reason: "invoice \(id): none of \(dateColumns.joined(separator: ", ")) is a date")
    }
    let paid: Int64
    var tax: Int64 = 0
    do {
      guard let text = r.text("Amount Paid") ?? r.text("Total") else {
        return .reject(code: "missing_field", reason: "invoice \(id) has neither 'Amount Paid' nor 'Total'")
      }
      paid = try Money.parseDecimal(text, exponent: currency.exponent, style: .dot)
      if let t = r.text("Tax") { tax = try Money.parseDecimal(t, exponent: currency.exponent, style: .dot) }
    } catch { return .reject(code: "bad_amount", reason: "invoice \(id): \(error)") }
    var p = RawPayment(role: .gatewayInvoice, gateway: "stripe", id: id, currencyCode: cur, date: date)
    p.identity = Identity(
      gateway: "stripe", customerID: r.text("Customer") ?? r.text("Customer ID"),
      appUserID: r.text("app_user_id (metadata)"),
      email: Normalize.email(r.text("Customer Email")), name: Normalize.name(r.text("Customer Name")),
      country: Normalize.country(r.text("Customer Address Country")))
    p.total = paid
    var line = RawLine(type: .oneTime, amount: paid)
    line.tax = tax
    if let sub = r.text("Subscription") ?? r.text("Subscription ID") {
      line.type = .subscription
      line.subscriptionID = sub
      line.planID = r.text("Price ID") ?? r.text("Plan") ?? subscriptions?.planID(gateway: "stripe", id: sub)
      // Only the subscription's service period: an invoice's own `period_start`/`period_end`
      // (`Period Start (UTC)`) is the period it billed usage for, usually the previous one
      // (https://docs.stripe.com/api/invoices/object#invoice_object-period_start).
      line.periodStart = r.time("Subscription Period Start (UTC)")
      line.periodEnd = r.time("Subscription Period End (UTC)")
      if line.periodStart == nil || line.periodEnd == nil { (line.periodStart, line.periodEnd) = (nil, nil) }
    } else {
      line.description = r.text("Description") ?? "Stripe invoice \(r.text("Number") ?? id)"
    }
    p.lines = [line]
    return .payment(p)
  }

  /// Ids naming the same payment as an Invoices export row (for the alias map).
  package static func invoiceExportAliases(_ r: JSONValue) -> [String?] {
    [r.text("id"), r.text("Charge") ?? r.text("Charge ID"), r.text("Payment Intent") ?? r.text("PaymentIntent ID")]
  }
}

extension IndexReaders {
  /// `stripe-customers-csv` row: a guest customer (empty `id`, Stripe's customer-less checkout
  /// payer) is skipped, never rejected.
  package func stripeCustomerExport(_ r: JSONValue) -> ReadOutcome {
    guard r.text("id") != nil else {
      return .skip(
        code: "guest_customer", reason: "row has no customer id (a guest customer: no Stripe customer object)")
    }
    return stripeCustomer(r, csv: true)
  }
}

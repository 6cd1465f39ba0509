import RevenueCore

/// Stripe payments: API invoices, charges and refunds, and the payments/refunds exports
/// (https://docs.stripe.com/api/invoices/object, https://docs.stripe.com/api/charges/object,
/// exports: docs/docs/gateways). Amounts in API objects are minor units; exports are decimal text.
package struct StripeReaders {
  package let subscriptions: SubscriptionIndex?
  /// `transform.include_test_data`: test-mode records are read like live ones (rehearsals).
  package var includeTestData = false

  /// `stripe.invoice` (basil or legacy shape). Only `paid` invoices are revenue; `open` is pending,
  /// `uncollectible` failed, `draft`/`void` are not invoices a customer paid.
  package func invoice(_ r: JSONValue) -> ReadOutcome {
    guard let id = r.text("id") else { return .reject(code: "missing_field", reason: "a stripe.invoice has no 'id'") }
    guard let cur = r.text("currency") else {
      return .reject(
        code: "missing_field", reason: "invoice \(id) has no 'currency' (fields 'id' and 'currency' are required)")
    }
    if !includeTestData, r.flag("livemode") == false { return .skip(code: "test_data", reason: "livemode is false") }
    switch r.text("status") ?? "" {
    case "paid": break
    case "open": return .skip(code: "pending_payment", reason: "invoice \(id) is open (not paid yet)")
    case "uncollectible": return .skip(code: "failed_payment", reason: "invoice \(id) is uncollectible")
    case let s: return .skip(code: "not_paid", reason: "invoice \(id) is \(s.isEmpty ? "without status" : s)")
    }
    do throws(FieldProblem) {
      return .payment(try paidInvoice(r, id: id, currency: cur))
    } catch {
      return .reject(error)
    }
  }

  /// A paid invoice's amounts, dates and lines; a malformed amount or date is a `FieldProblem`.
  package func paidInvoice(_ r: JSONValue, id: String, currency cur: String) throws(FieldProblem) -> RawPayment {
    let what = "invoice \(id)"
    let paidAt = try r.at("status_transitions")?.strictTime("paid_at", what + " status_transitions")
    let created = try r.strictTime("created", what)
    guard let date = paidAt ?? created else {
      throw FieldProblem("bad_date", "\(what) has neither status_transitions.paid_at nor created")
    }
    var p = RawPayment(role: .gatewayInvoice, gateway: "stripe", id: id, currencyCode: cur, date: date)
    p.identity = Identity(
      gateway: "stripe", customerID: r.text("customer"), email: Normalize.email(r.text("customer_email")),
      name: Normalize.name(r.text("customer_name")),
      country: Normalize.country(r.at("customer_address")?.text("country")))
    let paidAmount = try r.strictInteger("amount_paid", what)
    guard let total = try r.strictInteger("total", what) ?? paidAmount else {
      throw FieldProblem("missing_field", "\(what) has no 'total' (nor 'amount_paid')")
    }
    p.total = total
    let invoiceSub = r.at("parent", "subscription_details")?.text("subscription") ?? r.text("subscription")
    for (n, l) in (r.at("lines", "data")?.arrayValue ?? []).enumerated() {
      let lineWhat = "\(what) line \(l.text("id") ?? "#\(n + 1)")"
      let details = l.at("parent", "subscription_item_details")
      let sub = details?.text("subscription") ?? l.text("subscription") ?? invoiceSub
      let proration = details?.flag("proration") ?? l.flag("proration") ?? false
      let parentType = l.at("parent")?.text("type")
      let isSub =
        sub != nil && (parentType == "subscription_item_details" || l.text("type") == "subscription" || proration)
      guard let amount = try l.strictInteger("amount", lineWhat) else {
        throw FieldProblem("missing_field", "\(lineWhat) has no 'amount'")
      }
      var discount: Int64 = 0
      for d in l.at("discount_amounts")?.arrayValue ?? [] {
        discount += try d.strictInteger("amount", lineWhat + " discount") ?? 0
      }
      var tax: Int64 = 0
      var exclusive: Int64 = 0
      for t in l.at("taxes")?.arrayValue ?? l.at("tax_amounts")?.arrayValue ?? [] {
        let a = try t.strictInteger("amount", lineWhat + " tax") ?? 0
        tax += a
        let inclusive = t.text("tax_behavior").map { $0 == "inclusive" } ?? t.flag("inclusive") ?? false
        if !inclusive { exclusive += a }
      }
      let (net, o1) = amount.subtractingReportingOverflow(discount)
      let (withTax, o2) = net.addingReportingOverflow(exclusive)
      if o1 || o2 {
        throw FieldProblem("bad_amount", "\(lineWhat): amount, discounts and taxes overflow 64-bit minor units")
      }
      var line = RawLine(type: isSub ? .subscription : .oneTime, amount: withTax)
      line.externalID = l.text("id")
      line.tax = tax
      line.discount = discount
      line.quantity = try l.strictInteger("quantity", lineWhat, code: "bad_field") ?? 1
      line.description = l.text("description")
      line.prorated = proration
      if isSub {
        let price = l.at("price") ?? l.at("plan")
        line.planID = l.at("pricing", "price_details")?.text("price") ?? price?.text("id")
        if let lk = price?.text("lookup_key") { line.planCandidates = [lk] }
        if let rec = price?.at("recurring"), let w = rec.text("interval") {
          line.interval = PlanSpec.interval(w, count: Int(rec.integer("interval_count") ?? 1))
        }
        line.subscriptionID = sub
        line.periodStart = try l.at("period")?.strictTime("start", lineWhat + " period")
        line.periodEnd = try l.at("period")?.strictTime("end", lineWhat + " period")
      }
      p.lines.append(line)
    }
    return p
  }

  /// Ids naming the same payment as a Stripe invoice (for the alias map).
  package static func invoiceAliases(_ r: JSONValue) -> [String?] {
    var ids: [String?] = [r.text("id"), r.text("charge"), r.text("payment_intent")]
    for pay in r.at("payments", "data")?.arrayValue ?? [] {
      ids.append(pay.at("payment")?.text("payment_intent"))
      ids.append(pay.at("payment")?.text("charge"))
    }
    return ids
  }

  /// `stripe.charge`. Alone (no invoice or app row for it) it becomes a one-time line, or a
  /// subscription line when the customer has exactly one subscription in that currency running at
  /// the charge date (exports-only backfill rule).
  package func charge(_ r: JSONValue) -> ReadOutcome {
    guard let id = r.text("id") else { return .reject(code: "missing_field", reason: "a stripe.charge has no 'id'") }
    guard let cur = r.text("currency") else {
      return .reject(
        code: "missing_field", reason: "charge \(id) has no 'currency' (fields 'id' and 'currency' are required)")
    }
    if !includeTestData, r.flag("livemode") == false { return .skip(code: "test_data", reason: "livemode is false") }
    switch r.text("status") ?? "" {
    case "succeeded": break
    case "pending": return .skip(code: "pending_payment", reason: "charge \(id) is pending")
    case "failed":
      return .skip(code: "failed_payment", reason: "charge \(id) failed (\(r.text("failure_code") ?? "no code"))")
    case let s: return .reject(code: "bad_status", reason: "charge \(id): status '\(s)' is unknown")
    }
    if r.flag("captured") == false { return .skip(code: "pending_payment", reason: "charge \(id) is not captured") }
    do throws(FieldProblem) {
      return .payment(try succeededCharge(r, id: id, currency: cur))
    } catch {
      return .reject(error)
    }
  }

  package func succeededCharge(_ r: JSONValue, id: String, currency cur: String) throws(FieldProblem) -> RawPayment {
    let what = "charge \(id)"
    guard let date = try r.strictTime("created", what) else {
      throw FieldProblem("bad_date", "\(what) has no 'created'")
    }
    var p = RawPayment(role: .gatewayPayment, gateway: "stripe", id: id, currencyCode: cur, date: date)
    let bd = r.at("billing_details")
    p.identity = Identity(
      gateway: "stripe", customerID: r.text("customer"), appUserID: r.at("metadata")?.text("app_user_id"),
      email: Normalize.email(bd?.text("email") ?? r.text("receipt_email")), name: Normalize.name(bd?.text("name")),
      country: Normalize.country(
        bd?.at("address")?.text("country") ?? r.at("payment_method_details", "card")?.text("country")))
    let captured = try r.strictInteger("amount_captured", what)
    let amount = try r.strictInteger("amount", what)
    guard let total = captured ?? amount else { throw FieldProblem("missing_field", "\(what) has no 'amount'") }
    p.total = total
    p.cumulativeRefund = try r.strictInteger("amount_refunded", what) ?? 0
    var last = date
    for rf in r.at("refunds", "data")?.arrayValue ?? [] where rf.text("status") == "succeeded" {
      if let rid = rf.text("id"), let a = try rf.strictInteger("amount", "\(what) refund \(rid)") {
        let d = try rf.strictTime("created", "\(what) refund \(rid)") ?? date
        p.refunds.append(RawRefund(id: rid, amount: a, date: d))
        last = max(last, d)
      }
    }
    p.cumulativeRefundDate = last
    p.lines = [
      standaloneLine(
        customer: r.text("customer"), currency: cur, date: date, amount: p.total,
        invoice: r.text("invoice"), description: r.text("description"))
    ]
    return p
  }

  package func standaloneLine(
    customer: String?, currency: String, date: Timestamp, amount: Int64, invoice: String?,
    description: String?
  ) -> RawLine {
    if invoice != nil, let c = customer,
      let s = subscriptions?.onlyRunning(gateway: "stripe", customer: c, currency: currency, at: date)
    {
      var l = RawLine(type: .subscription, amount: amount)
      l.planID = s.planID
      l.interval = s.interval
      l.subscriptionID = s.id
      return l
    }
    var l = RawLine(type: .oneTime, amount: amount)
    l.description = description ?? "Stripe payment"
    return l
  }

  /// `stripe-payments-csv` row (Dashboard export, docs/docs/gateways): `Paid`/`Refunded` rows are payments (with the
  /// cumulative `Amount Refunded`), `Failed` rows are skipped, `Mode=Test` rows are test data.
  package func paymentRow(_ r: JSONValue) -> ReadOutcome {
    guard let id = r.text("id"), let cur = r.text("Currency") else {
      return .reject(code: "missing_field", reason: "columns 'id' and 'Currency' are required")
    }
    if !includeTestData, r.text("Mode")?.lowercased() == "test" {
      return .skip(code: "test_data", reason: "Mode is Test")
    }
    switch r.text("Status")?.lowercased() ?? "" {
    case "paid", "refunded", "succeeded": break
    case "failed":
      return .skip(code: "failed_payment", reason: "payment \(id) failed (\(r.text("Decline Reason") ?? "no reason"))")
    case let s: return .skip(code: "pending_payment", reason: "payment \(id) has status '\(s)'")
    }
    if r.flag("Captured") == false { return .skip(code: "pending_payment", reason: "payment \(id) is not captured") }
    guard let currency = Currency(cur) else {
      return .reject(code: "unknown_currency", reason: "currency '\(cur)' is not in the ISO 4217 table")
    }
    guard let dateText = r.text("Created date (UTC)") ?? r.text("Created (UTC)"), let date = Timestamp.parse(dateText)
    else {
      return .reject(code: "bad_date", reason: "column 'Created date (UTC)' is missing or not a date")
    }
    let amount: Int64
    let refunded: Int64
    do {
      amount = try Money.parseDecimal(r.text("Amount") ?? "", exponent: currency.exponent, style: .dot)
      refunded = try Money.parseDecimal(r.text("Amount Refunded") ?? "0", exponent: currency.exponent, style: .dot)
    } catch { return .reject(code: "bad_amount", reason: "\(error)") }
    var p = RawPayment(role: .gatewayPayment, gateway: "stripe", id: id, currencyCode: cur, date: date)
    p.identity = Identity(
      gateway: "stripe", customerID: r.text("Customer ID"), appUserID: r.text("app_user_id (metadata)"),
      email: Normalize.email(r.text("Customer Email")), name: Normalize.name(r.text("Card Name")),
      country: Normalize.country(r.text("Card Address Country") ?? r.text("Card Issue Country")))
    p.total = amount
    p.cumulativeRefund = refunded
    p.cumulativeRefundDate = r.time("Refunded date (UTC)") ?? date
    p.lines = [
      standaloneLine(
        customer: r.text("Customer ID"), currency: cur, date: date, amount: amount,
        invoice: r.text("Invoice ID"), description: r.text("Description"))
    ]
    return .payment(p)
  }

  /// `stripe.refund`: only `succeeded` refunds become refund transactions.
  package func refund(_ r: JSONValue) -> ReadOutcome {
    guard let id = r.text("id") else { return .reject(code: "missing_field", reason: "a stripe.refund has no 'id'") }
    let what = "refund \(id)"
    let parsed: (Int64?, Timestamp?)
    do throws(FieldProblem) { parsed = (try r.strictInteger("amount", what), try r.strictTime("created", what)) } catch
    { return .reject(error) }
    guard let cur = r.text("currency"), let amount = parsed.0 else {
      return .reject(code: "missing_field", reason: "\(what): fields 'id', 'currency' and 'amount' are required")
    }
    guard r.text("status") == "succeeded" else {
      return .skip(code: "refund_not_succeeded", reason: "refund \(id) is \(r.text("status") ?? "without status")")
    }
    guard let date = parsed.1 else { return .reject(code: "bad_date", reason: "\(what) has no 'created'") }
    var p = RawPayment(role: .gatewayRefund, gateway: "stripe", id: id, currencyCode: cur, date: date)
    p.refundOf = r.text("charge") ?? r.text("payment_intent")
    p.refunds = [RawRefund(id: id, amount: amount, date: date)]
    return .payment(p)
  }

  /// `stripe-refunds-csv` row (Dashboard export, docs/docs/gateways).
  package func refundRow(_ r: JSONValue) -> ReadOutcome {
    guard let id = r.text("id"), let cur = r.text("Currency") else {
      return .reject(code: "missing_field", reason: "columns 'id' and 'Currency' are required")
    }
    guard r.text("Status")?.lowercased() == "succeeded" else {
      return .skip(code: "refund_not_succeeded", reason: "refund \(id) is \(r.text("Status") ?? "without status")")
    }
    guard let currency = Currency(cur) else {
      return .reject(code: "unknown_currency", reason: "currency '\(cur)' is not in the ISO 4217 table")
    }
    guard let date = r.time("Created (UTC)") else {
      return .reject(code: "bad_date", reason: "column 'Created (UTC)' is not a date")
    }
    let amount: Int64
    do { amount = try Money.parseDecimal(r.text("Amount") ?? "", exponent: currency.exponent, style: .dot) } catch {
      return .reject(code: "bad_amount", reason: "\(error)")
    }
    var p = RawPayment(role: .gatewayRefund, gateway: "stripe", id: id, currencyCode: cur, date: date)
    p.refundOf = r.text("Charge ID") ?? r.text("PaymentIntent ID") ?? r.text("Invoice ID")
    p.refunds = [RawRefund(id: id, amount: amount, date: date)]
    return .payment(p)
  }
}

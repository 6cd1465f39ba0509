import RevenueCore

/// Pass-1 readers: records that describe people, subscriptions and plans (memory grows with those,
/// never with payments).
package struct IndexReaders {
  package let customers: CustomerIndex
  package let subscriptions: SubscriptionIndex
  package var planIntervals: [String: (IntervalUnit, Int)] = [:]
  /// `transform.include_test_data`: test-mode customers and subscriptions are indexed (rehearsals).
  package var includeTestData = false

  package init(customers: CustomerIndex, subscriptions: SubscriptionIndex) {
    self.customers = customers
    self.subscriptions = subscriptions
  }

  /// Reads one people/subscription/plan record into the indexes; nil for a kind it does not read.
  package mutating func read(_ e: StagedRecord, source: Int, line: Int) -> ReadOutcome? {
    switch e.kind {
    case "app.user": return appUser(e.record)
    case "app.subscription": return appSubscription(e.record, source: source, line: line)
    case "stripe.customer": return stripeCustomer(e.record, csv: false)
    case "stripe-customers-csv": return stripeCustomerExport(e.record)
    case "stripe.subscription": return stripeSubscription(e.record, source: source, line: line)
    case "stripe-subscriptions-csv": return stripeSubscriptionCSV(e.record, source: source, line: line)
    case "paypal.plan": return paypalPlan(e.record)
    case "paypal.subscription": return paypalSubscription(e.record, source: source, line: line)
    default: return nil
    }
  }

  /// `app.user`: users + usage_stats + support_stats; `is_test` users are skipped as test data.
  package func appUser(_ r: JSONValue) -> ReadOutcome {
    guard let id = r.text("id") else { return .reject(code: "missing_field", reason: "field 'id' is missing") }
    let created = r.time("created_at")
    if r["created_at"] != nil && r.text("created_at") != nil && created == nil {
      return .reject(code: "bad_date", reason: "created_at '\(r.text("created_at")!)' is not a timestamp")
    }
    let isTest = r.flag("is_test") ?? false
    customers.addUser(
      AppUser(
        id: id, email: Normalize.email(r.text("email")), name: Normalize.name(r.text("name")),
        country: Normalize.country(r.text("country")), createdAt: created, isTest: isTest, virtual: false,
        attributes: UserAttributes(row: r)))
    if isTest { return .skip(code: "test_data", reason: "users.is_test is true") }
    if customers.config.isTestEmail(Normalize.email(r.text("email"))) {
      return .skip(code: "test_data", reason: "e-mail matches transform.test_emails")
    }
    return .indexed
  }

  /// `app.subscription`: a subscription cancelled in the app whose cancellation was not sent yet.
  package func appSubscription(_ r: JSONValue, source: Int, line: Int) -> ReadOutcome {
    guard let user = r.text("user_id"), let gw = r.text("gateway")?.lowercased(),
      let gsid = r.text("gateway_subscription_id")
    else { return .reject(code: "missing_field", reason: "user_id, gateway and gateway_subscription_id are required") }
    var s = SubscriptionInfo(gateway: gw, id: gsid, appUserID: user, priority: 0, source: source, line: line)
    s.planID = r.text("plan_name")
    s.start = r.time("started_at")
    s.requestedAt = r.time("canceled_at")
    s.periodEnd = r.time("last_period_end")
    s.cancelled = s.requestedAt != nil || r.text("status") == "canceled"
    s.appSubscriptionID = r.text("id")
    if s.cancelled && s.requestedAt == nil && s.periodEnd == nil {
      return .reject(code: "missing_field", reason: "cancelled subscription without canceled_at or last_period_end")
    }
    subscriptions.add(s)
    return .indexed
  }

  /// `stripe.customer` / `stripe-customers-csv`.
  package func stripeCustomer(_ r: JSONValue, csv: Bool) -> ReadOutcome {
    guard let id = r.text("id") else { return .reject(code: "missing_field", reason: "field 'id' is missing") }
    if r.flag("deleted") == true { return .skip(code: "deleted", reason: "customer \(id) is deleted in Stripe") }
    if !includeTestData, r.flag("livemode") == false { return .skip(code: "test_data", reason: "livemode is false") }
    var i = Identity(gateway: "stripe", customerID: id)
    if csv {
      i.email = Normalize.email(r.text("Email"))
      i.name = Normalize.name(r.text("Name"))
      i.createdAt = r.time("Created (UTC)") ?? r.time("Created date (UTC)")
      i.appUserID = r.text("app_user_id (metadata)")
    } else {
      i.email = Normalize.email(r.text("email"))
      i.name = Normalize.name(r.text("name"))
      i.country = Normalize.country(r.at("address")?.text("country"))
      do throws(FieldProblem) { i.createdAt = try r.strictTime("created", "customer \(id)") } catch {
        return .reject(error)
      }
      i.appUserID = r.at("metadata")?.text("app_user_id")
    }
    customers.addIdentity(i)
    return .indexed
  }

  /// `stripe.subscription` (API object, basil or legacy shape).
  package mutating func stripeSubscription(_ r: JSONValue, source: Int, line: Int) -> ReadOutcome {
    guard let id = r.text("id") else {
      return .reject(code: "missing_field", reason: "a stripe.subscription has no 'id'")
    }
    guard let cus = r.text("customer") else {
      return .reject(
        code: "missing_field", reason: "subscription \(id) has no 'customer' (fields 'id' and 'customer' are required)")
    }
    if !includeTestData, r.flag("livemode") == false { return .skip(code: "test_data", reason: "livemode is false") }
    let status = r.text("status") ?? ""
    let item = r.at("items", "data")?.arrayValue?.first
    let what = "subscription \(id)"
    let times: [String: Timestamp]
    do throws(FieldProblem) {
      var t: [String: Timestamp] = [:]
      for k in ["start_date", "created", "current_period_end", "canceled_at", "ended_at", "cancel_at"] {
        t[k] = try r.strictTime(k, what)
      }
      if let e = try item?.strictTime("current_period_end", what + " item") { t["item_period_end"] = e }
      times = t
    } catch { return .reject(error) }
    for c in [r.text("currency"), (item?.at("price") ?? item?.at("plan"))?.text("currency")].compactMap({ $0 })
    where Currency(c) == nil {
      return .reject(code: "unknown_currency", reason: "\(what): currency '\(c)' is not in the ISO 4217 table")
    }
    var s = SubscriptionInfo(gateway: "stripe", id: id, priority: 1, source: source, line: line)
    s.identity = Identity(gateway: "stripe", customerID: cus)
    s.currency = r.text("currency")
    if let price = item?.at("price") ?? item?.at("plan") {
      s.planID = price.text("id")
      if let rec = price.at("recurring"), let w = rec.text("interval") {
        s.interval = PlanSpec.interval(w, count: Int(rec.integer("interval_count") ?? 1))
      } else if let w = price.text("interval") {
        s.interval = PlanSpec.interval(w, count: Int(price.integer("interval_count") ?? 1))
      }
      if let p = s.planID, let iv = s.interval { planIntervals[p] = iv }
      if let lk = price.text("lookup_key"), let iv = s.interval { planIntervals[lk] = iv }
      s.currency = s.currency ?? price.text("currency")
    }
    s.start = times["start_date"] ?? times["created"]
    s.periodEnd = times["item_period_end"] ?? times["current_period_end"]
    s.requestedAt = times["canceled_at"]
    let ended = times["ended_at"]
    let atPeriodEnd = r.flag("cancel_at_period_end") ?? false
    s.endsAt = ended ?? times["cancel_at"] ?? (atPeriodEnd ? s.periodEnd : nil)
    s.cancelled = ended != nil || atPeriodEnd || times["cancel_at"] != nil || status == "canceled"
    s.appSubscriptionID = r.at("metadata")?.text("app_subscription_id")
    customers.addIdentity(s.identity!)
    if status == "incomplete_expired" || status == "incomplete" {
      return .skip(code: "never_started", reason: "subscription \(id) is \(status): it was never paid")
    }
    subscriptions.add(s)
    return .indexed
  }

  /// `stripe-subscriptions-csv` (Dashboard export, see docs/docs/gateways; columns found by name).
  package mutating func stripeSubscriptionCSV(_ r: JSONValue, source: Int, line: Int) -> ReadOutcome {
    guard let id = r.text("id") else { return .reject(code: "missing_field", reason: "column 'id' is empty") }
    let status = r.text("Status")?.lowercased() ?? ""
    var s = SubscriptionInfo(gateway: "stripe", id: id, priority: 2, source: source, line: line)
    s.identity = Identity(
      gateway: "stripe", customerID: r.text("Customer ID"), email: Normalize.email(r.text("Customer Email")),
      name: Normalize.name(r.text("Customer Name")))
    s.planID = r.text("Plan")
    s.currency = r.text("Currency")
    if let w = r.text("Interval") {
      s.interval = PlanSpec.interval(w, count: Int(r.text("Interval Count").flatMap { Int64($0) } ?? 1))
      if let p = s.planID, let iv = s.interval { planIntervals[p] = iv }
    }
    s.start = r.time("Start Date (UTC)") ?? r.time("Start (UTC)") ?? r.time("Created (UTC)")
    s.periodEnd = r.time("Current Period End (UTC)")
    s.requestedAt = r.time("Canceled At (UTC)")
    let ended = r.time("Ended At (UTC)")
    let atPeriodEnd = r.flag("Cancel At Period End") ?? false
    s.endsAt = ended ?? (atPeriodEnd ? s.periodEnd : nil)
    s.cancelled = ended != nil || atPeriodEnd || status == "canceled"
    s.appSubscriptionID = r.text("app_subscription_id (metadata)")
    if s.identity!.customerID != nil || s.identity!.email != nil { customers.addIdentity(s.identity!) }
    if status == "incomplete_expired" || status == "incomplete" {
      return .skip(code: "never_started", reason: "subscription \(id) is \(status): it was never paid")
    }
    subscriptions.add(s)
    return .indexed
  }

  /// `paypal.plan`: the REGULAR billing cycle gives the interval (https://developer.paypal.com/docs/api/subscriptions/v1/#plans_get).
  package mutating func paypalPlan(_ r: JSONValue) -> ReadOutcome {
    guard let id = r.text("id") else { return .reject(code: "missing_field", reason: "a paypal.plan has no 'id'") }
    let cycles = r.at("billing_cycles")?.arrayValue ?? []
    let regular = cycles.first(where: { $0.text("tenure_type") == "REGULAR" })
    let count: Int64
    do throws(FieldProblem) {
      count =
        try regular?.at("frequency")?.strictInteger("interval_count", "plan \(id) REGULAR cycle", code: "bad_plan") ?? 1
    } catch { return .reject(error) }
    guard let f = regular?.at("frequency"), let w = f.text("interval_unit"), (1...1000).contains(count),
      let iv = PlanSpec.interval(w, count: Int(count))
    else { return .reject(code: "bad_plan", reason: "plan \(id) has no REGULAR billing cycle with an interval") }
    // The price must be readable money (docs/docs/gateways, money): known currency, decimal value.
    if let price = regular?.at("pricing_scheme", "fixed_price") {
      let cur = price.text("currency_code") ?? ""
      guard let currency = Currency(cur) else {
        return .reject(
          code: "unknown_currency", reason: "plan \(id): fixed_price currency '\(cur)' is not in the ISO 4217 table")
      }
      do { _ = try PayPalCashierReaders.money(price, exponent: currency.exponent) } catch {
        return .reject(code: "bad_amount", reason: "plan \(id): fixed_price \(error)")
      }
    }
    planIntervals[id] = iv
    return .indexed
  }

  /// `paypal.subscription`: CANCELLED/EXPIRED ones are cancellations; the end of the last paid period
  /// is the last payment time plus the plan interval when the interval is known.
  package func paypalSubscription(_ r: JSONValue, source: Int, line: Int) -> ReadOutcome {
    guard let id = r.text("id") else {
      return .reject(code: "missing_field", reason: "a paypal.subscription has no 'id'")
    }
    let status = r.text("status") ?? ""
    let what = "subscription \(id)"
    let times: [String: Timestamp]
    do throws(FieldProblem) {
      var t: [String: Timestamp] = [:]
      for k in ["create_time", "start_time", "status_update_time"] { t[k] = try r.strictTime(k, what) }
      t["last_payment"] = try r.at("billing_info", "last_payment")?.strictTime(
        "time", what + " billing_info.last_payment")
      times = t
    } catch { return .reject(error) }
    var s = SubscriptionInfo(gateway: "paypal", id: id, priority: 1, source: source, line: line)
    let sub = r.at("subscriber")
    let n = sub?.at("name")
    let full = [n?.text("given_name"), n?.text("surname")].compactMap { $0 }.joined(separator: " ")
    s.identity = Identity(
      gateway: "paypal", customerID: sub?.text("payer_id"), appUserID: r.text("custom_id"),
      email: Normalize.email(sub?.text("email_address")), name: Normalize.name(full),
      country: Normalize.country(sub?.at("shipping_address", "address")?.text("country_code")),
      createdAt: times["create_time"])
    s.planID = r.text("plan_id")
    s.start = times["start_time"]
    s.cancelled = status == "CANCELLED" || status == "EXPIRED"
    s.requestedAt = s.cancelled ? times["status_update_time"] : nil
    s.lastPayment = times["last_payment"]
    s.appSubscriptionID = nil
    customers.addIdentity(s.identity!)
    if status == "APPROVAL_PENDING" || status == "APPROVED" {
      return .skip(code: "never_started", reason: "subscription \(id) is \(status): it was never paid")
    }
    subscriptions.add(s)
    return .indexed
  }
}

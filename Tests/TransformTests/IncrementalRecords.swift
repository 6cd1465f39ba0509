import RevenueCore

/// Small, realistic staged records (`ExtractedRecord` lines) for incremental-run tests: an app user
/// who pays through PayPal (app row) and Stripe, a Stripe-only payer, and their subscriptions.
enum IncrementalRecords {
  static let pipeline = """
    name: incremental
    transform:
      plan_mapping:
        price_growth_usd: { name: Growth, currency: USD, interval: month, interval_count: 1 }
        P-GROWTH-USD:     { name: Growth, currency: USD, interval: month, interval_count: 1 }
      unmapped_plans: reject
      merge_customers_by_email: true
      churn_recognition: period_end
    """

  static func line(_ source: String, _ gateway: String, _ kind: String, _ record: JSONValue) -> String {
    JSONWriter.string(
      [
        "source": .string(source), "gateway": .string(gateway), "kind": .string(kind),
        "origin": ["endpoint": .string("/test"), "page": 1], "record": record,
      ])
  }

  static func time(_ iso: String) -> Int64 { Timestamp.parse(iso)!.seconds }

  static func opt(_ s: String?) -> JSONValue { s.map { .string($0) } ?? .null }

  /// `app.user` (users + usage_stats + support_stats columns).
  static func appUser(_ id: String, email: String, name: String, created: String) -> String {
    line(
      "postgres", "app", "app.user",
      [
        "id": .string(id), "email": .string(email), "name": .string(name), "country": nil,
        "created_at": .string(created), "last_login_at": "2026-03-18T07:00:00+00:00", "login_count": 12,
        "preferred_gateway": nil, "acquisition_channel": "google", "referrer_user_id": nil, "is_test": false,
        "ai_generations": 30, "projects_created": 3, "last_event_at": "2026-03-19T10:00:00+00:00",
        "ticket_count": nil, "avg_rating": nil,
      ])
  }

  /// A completed monthly app transaction paid through PayPal (country from the app row).
  static func appPayPalPayment(user: String, email: String, id: String, date: String, country: String) -> String {
    line(
      "postgres", "app", "app.transaction",
      [
        "id": .string("tx-" + id), "user_id": .string(user), "subscription_id": nil, "gateway": "paypal",
        "gateway_transaction_id": .string(id), "product_type": "subscription", "plan_name": "P-GROWTH-USD",
        "amount_cents": 4900, "discount_amount_cents": 0, "tax_amount_cents": 0, "currency": "USD",
        "country": .string(country), "status": "completed", "transaction_date": .string(date), "period_start": nil,
        "period_end": nil, "refunded_amount_cents": 0, "refunded_at": nil, "utm_source": nil, "utm_medium": nil,
        "utm_campaign": nil, "metadata": [:], "created_at": .string(date), "gateway_subscription_id": "I-LINA0001",
        "user_email": .string(email),
      ])
  }

  static func stripeCustomer(
    _ id: String, email: String, name: String, created: String, appUser: String?, country: String?
  )
    -> String
  {
    var metadata = JSONObject()
    if let appUser { metadata["app_user_id"] = .string(appUser) }
    return line(
      "stripe", "stripe", "stripe.customer",
      [
        "id": .string(id), "object": "customer", "email": .string(email), "name": .string(name),
        "created": .int(time(created)), "livemode": true, "metadata": .object(metadata),
        "address": ["country": opt(country)],
      ])
  }

  static func price() -> JSONValue {
    [
      "id": "price_growth_usd", "object": "price", "currency": "usd", "livemode": true,
      "recurring": ["interval": "month", "interval_count": 1],
    ]
  }

  static func stripeSubscription(_ id: String, customer: String, started: String) -> String {
    let start = time(started)
    return line(
      "stripe", "stripe", "stripe.subscription",
      [
        "id": .string(id), "object": "subscription", "customer": .string(customer), "status": "active",
        "livemode": true, "currency": "usd", "created": .int(start), "start_date": .int(start),
        "cancel_at_period_end": false, "canceled_at": nil, "ended_at": nil, "cancel_at": nil,
        "items": [
          "object": "list",
          "data": [["id": .string("si_" + id), "current_period_end": .int(start + 2_678_400), "price": price()]],
        ],
      ])
  }

  /// A paid invoice for one month of `subscription`; `email`/`country` as Stripe copies them onto it.
  static func stripeInvoice(
    _ id: String, customer: String, subscription: String, paid: String, email: String?, country: String?
  ) -> String {
    let at = time(paid)
    return line(
      "stripe", "stripe", "stripe.invoice",
      [
        "id": .string(id), "object": "invoice", "status": "paid", "livemode": true, "currency": "usd",
        "customer": .string(customer), "customer_email": opt(email),
        "customer_address": country.map { ["country": .string($0)] } ?? .null, "created": .int(at),
        "status_transitions": ["paid_at": .int(at)], "total": 4900, "amount_paid": 4900,
        "parent": ["type": "subscription_details", "subscription_details": ["subscription": .string(subscription)]],
        "lines": [
          "object": "list", "has_more": false,
          "data": [
            [
              "id": .string("il_" + id), "object": "line_item", "amount": 4900, "currency": "usd", "quantity": 1,
              "description": "1 × Growth (at $49.00 / month)", "discount_amounts": [], "taxes": [],
              "parent": [
                "type": "subscription_item_details",
                "subscription_item_details": ["subscription": .string(subscription), "proration": false],
              ],
              "pricing": ["type": "price_details", "price_details": ["price": "price_growth_usd"]],
              "period": ["start": .int(at), "end": .int(at + 2_678_400)],
            ]
          ],
        ],
      ])
  }
}

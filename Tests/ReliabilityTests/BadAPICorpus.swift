import ETLTestSupport
import Foundation
import RevenueCore
import Testing

/// One malformed copy of a good gateway record. Every id, customer reference and e-mail in it is
/// renamed with `marker` (`in_BADINVHUGEAMOUNT_…`), so it can be followed through the stages and
/// never merges with the good record it was copied from.
struct APIMutant: Sendable {
  var kind: String
  var name: String
  /// Must end in the rejects (or skipped); otherwise it must be processed or diagnosed.
  var refused: Bool
  var marker: String
  var record: JSONValue
  /// Text that names this record where it is processed or diagnosed (its renamed id; nil when the
  /// mutation removed the id — then the diagnostic's embedded record must carry the marker).
  var probe: String?
  /// Index-only records (plans, customers) leave no output line of their own: "processed" means
  /// staged by extract and not diagnosed.
  var indexOnly = false
}

/// A mutation of a template record: a name, whether it must be refused, and the edit.
struct APISpec {
  var name: String
  var refused: Bool
  var edit: @Sendable (JSONValue) -> JSONValue
}

/// Builds the malformed-record corpus for each API page type from the committed gateway fixtures.
enum APICorpus {
  static let longText = JSONValue.string(String(repeating: "x", count: 200_000))
  static let huge = JSONValue.number("99999999999999999999999")
  static let extra: JSONValue = ["nested": [1, "two", nil, ["deep": true]]]

  /// Keys whose string values are ids or references to rename (price and plan ids stay: they are
  /// looked up in `plan_mapping`).
  static let idKeys: Set<String> = [
    "id", "transaction_id", "account_id", "paypal_account_id", "payer_id", "customer", "charge", "payment_intent",
    "subscription", "invoice", "custom_id", "custom_field", "merchant_customer_id", "kashier_order_id",
    "merchant_order_id", "original_transaction_id", "subscription_id", "paypal_reference_id", "invoice_id",
    "balance_transaction", "app_user_id",
  ]
  static let kept = ["price_", "P-", "prod_", "plan_"]

  static func renamed(_ s: String, _ marker: String) -> String {
    if let u = s.firstIndex(of: "_"), s.distance(from: s.startIndex, to: u) <= 6 {
      return String(s[...u]) + marker + String(s[s.index(after: u)...])
    }
    if let d = s.firstIndex(of: "-"), s.distance(from: s.startIndex, to: d) <= 3 {
      return String(s[...d]) + marker + String(s[s.index(after: d)...])
    }
    return marker + s
  }

  /// Renames every id, reference and e-mail in `v` with `marker` (deterministic, so references
  /// between renamed records still match).
  static func rename(_ v: JSONValue, _ marker: String, key: String? = nil) -> JSONValue {
    switch v {
    case .object(let o):
      return .object(JSONObject(o.fields.map { JSONField($0.key, rename($0.value, marker, key: $0.key)) }))
    case .array(let a): return .array(a.map { rename($0, marker, key: key) })
    case .string(let s) where s.contains("@"): return .string(marker.lowercased() + s)
    case .string(let s) where !s.isEmpty && key.map(idKeys.contains) == true && !kept.contains(where: s.hasPrefix):
      return .string(renamed(s, marker))
    default: return v
    }
  }

  /// `v` with `path` set to `value` (nil removes it); numeric components index arrays.
  static func set(_ v: JSONValue, _ path: [String], _ value: JSONValue?) -> JSONValue {
    guard let k = path.first else { return value ?? .null }
    switch v {
    case .object(var o):
      if path.count == 1 {
        o[k] = value
      } else {
        o[k] = set(o[k] ?? .object(JSONObject()), Array(path.dropFirst()), value)
      }
      return .object(o)
    case .array(var a):
      guard let i = Int(k), a.indices.contains(i) else { return v }
      a[i] = set(a[i], Array(path.dropFirst()), value)
      return .array(a)
    default: return v
    }
  }

  /// A spec from path edits (`"a.b.0.c"` → value, nil removes).
  static func spec(_ name: String, _ refused: Bool, _ edits: [(String, JSONValue?)]) -> APISpec {
    APISpec(name: name, refused: refused) { r in
      edits.reduce(r) { set($0, $1.0.split(separator: ".").map(String.init), $1.1) }
    }
  }

  static func at(_ v: JSONValue, _ path: String) -> JSONValue? {
    path.split(separator: ".").reduce(v as JSONValue?) { cur, k in
      if let i = Int(k), let a = cur?.arrayValue { return a.indices.contains(i) ? a[i] : nil }
      return cur?[String(k)]
    }
  }

  /// The mutants of one template: renamed with `BAD<tag><name>_`, then edited.
  static func mutants(kind: String, tag: String, template: JSONValue, idPath: String, _ specs: [APISpec])
    -> [APIMutant]
  {
    specs.map { s in
      let marker = "BAD\(tag)\(s.name)_"
      let record = s.edit(rename(template, marker))
      return APIMutant(
        kind: kind, name: s.name, refused: s.refused, marker: marker, record: record,
        probe: at(record, idPath)?.scalarText)
    }
  }

  /// Mutations every page type gets: id removed, a huge text field, an unexpected extra field.
  static func common(id: String, text: String) -> [APISpec] {
    [
      spec("NOID", true, [(id, nil)]), spec("LONGTEXT", false, [(text, longText)]),
      spec("EXTRA", false, [("x_unexpected", extra)]),
    ]
  }

  // MARK: - Stripe

  static func stripe() throws -> (objects: [String: [JSONValue]], mutants: [APIMutant]) {
    var objects: [String: [JSONValue]] = [:]
    for r in ["customers", "subscriptions", "invoices", "charges", "refunds"] {
      objects["/v1/\(r)"] = try FixtureData.list("gateways/stripe/\(r).json")
    }
    func template(_ path: String, _ id: String) throws -> JSONValue {
      try #require(objects[path]?.first { $0["id"]?.stringValue == id })
    }
    let invoice = try #require(objects["/v1/invoices"]?.first { $0["status"]?.stringValue == "paid" })
    let invoices = mutants(
      kind: "stripe.invoice", tag: "INV", template: invoice, idPath: "id",
      common(id: "id", text: "customer_name") + [
        spec("NOCURRENCY", true, [("currency", nil)]), spec("CURRENCY", true, [("currency", "qqq")]),
        spec("WRONGTYPE", true, [("total", "twelve"), ("amount_paid", "twelve")]),
        spec("LINEAMOUNT", true, [("lines.data.0.amount", ["a"])]),
        spec("HUGEAMOUNT", true, [("total", huge), ("amount_paid", huge)]),
        spec("NOAMOUNT", true, [("total", nil), ("amount_paid", nil)]),
        spec("BADDATE", true, [("created", "yesterday"), ("status_transitions.paid_at", "31/31/31 25:61")]),
        spec("FUTURE", false, [("status_transitions.paid_at", .int(4_102_444_800))]),
        spec("NEGATIVE", false, [("total", -1900), ("amount_paid", -1900), ("lines.data.0.amount", -1900)]),
      ])
    let charges = mutants(
      kind: "stripe.charge", tag: "CHG", template: try template("/v1/charges", "ch_fTZTXbzQ9aucF8"), idPath: "id",
      common(id: "id", text: "description") + [
        spec("NOCURRENCY", true, [("currency", nil)]), spec("CURRENCY", true, [("currency", "qqq")]),
        spec("WRONGTYPE", true, [("amount", "twelve"), ("amount_captured", "twelve")]),
        spec("REFUNDEDTYPE", true, [("amount_refunded", true)]),
        spec("HUGEAMOUNT", true, [("amount", huge), ("amount_captured", huge)]),
        spec("NOAMOUNT", true, [("amount", nil), ("amount_captured", nil)]),
        spec("BADDATE", true, [("created", "yesterday")]),
        spec("NEGATIVE", false, [("amount", -1900), ("amount_captured", -1900)]),
      ])
    // A refund needs its charge: each refund mutant comes with a renamed copy of the good charge.
    let refundTemplate = try template("/v1/refunds", "re_LdEUiQiyab26Vf")
    let refunded = try template("/v1/charges", "ch_LdEUiQiyab26Vf")
    let refunds = mutants(
      kind: "stripe.refund", tag: "REF", template: refundTemplate, idPath: "id",
      common(id: "id", text: "reason") + [
        spec("NOCURRENCY", true, [("currency", nil)]), spec("CURRENCY", true, [("currency", "qqq")]),
        spec("WRONGTYPE", true, [("amount", "twelve")]), spec("HUGEAMOUNT", true, [("amount", huge)]),
        spec("NOAMOUNT", true, [("amount", nil)]), spec("BADDATE", true, [("created", "soon")]),
        spec("NEGATIVE", false, [("amount", -2000)]),
      ])
    var customers = mutants(
      kind: "stripe.customer", tag: "CUS", template: try template("/v1/customers", "cus_EzuXDEFKCU597e"), idPath: "id",
      common(id: "id", text: "name") + [spec("BADDATE", true, [("created", "yesterday")])])
    for i in customers.indices {
      customers[i].indexOnly = true
      if customers[i].record["id"] == nil { customers[i].probe = nil }
    }
    let subscriptions = mutants(
      kind: "stripe.subscription", tag: "SUB", template: try template("/v1/subscriptions", "sub_4kcJQRaFYNmAoq"),
      idPath: "id",
      common(id: "id", text: "cancellation_details.comment") + [
        spec("NOCUSTOMER", true, [("customer", nil)]), spec("CURRENCY", true, [("currency", "qqq")]),
        spec("BADDATE", true, [("ended_at", "yesterday")]), spec("FUTURE", false, [("ended_at", .int(4_102_444_800))]),
      ])
    objects["/v1/invoices"]! += invoices.map(\.record)
    objects["/v1/charges"]! += charges.map(\.record) + refunds.map { rename(refunded, $0.marker) }
    objects["/v1/refunds"]! += refunds.map(\.record)
    objects["/v1/customers"]! += customers.map(\.record)
    objects["/v1/subscriptions"]! += subscriptions.map(\.record)
    return (objects, invoices + charges + refunds + customers + subscriptions)
  }

  // MARK: - PayPal

  static func paypal() throws -> (options: PayPalFixtureServer.Options, mutants: [APIMutant]) {
    var o = PayPalFixtureServer.Options()
    var txs = try FixtureData.list("gateways/paypal/transactions.json")
    var subs = try FixtureData.list("gateways/paypal/subscriptions.json")
    let plans = try FixtureData.list("gateways/paypal/plans.json")
    func referencing(_ sub: String) throws -> JSONValue {
      try #require(txs.first { $0["transaction_info"]?["paypal_reference_id"]?.stringValue == sub })
    }
    let activeSub = try #require(subs.first { $0["id"]?.stringValue == "I-XKVHAISYJJFA" })
    let cancelledSub = try #require(subs.first { $0["id"]?.stringValue == "I-XHDWCEP2HNGO" })
    let tx = try referencing("I-XKVHAISYJJFA")
    let ti = "transaction_info."
    let transactions = mutants(
      kind: "paypal.transaction", tag: "PPT", template: tx, idPath: ti + "transaction_id",
      common(id: ti + "transaction_id", text: ti + "transaction_subject") + [
        spec("NOCURRENCY", true, [(ti + "transaction_amount.currency_code", nil)]),
        spec("CURRENCY", true, [(ti + "transaction_amount.currency_code", "QQQ")]),
        spec("WRONGTYPE", true, [(ti + "transaction_amount.value", "twelve")]),
        spec("TAXTYPE", true, [(ti + "sales_tax_amount", ["currency_code": "EUR", "value": "lots"])]),
        spec("HUGEAMOUNT", true, [(ti + "transaction_amount.value", "99999999999999999999999.00")]),
        spec("NOAMOUNT", true, [(ti + "transaction_amount.value", nil)]),
        spec("BADDATE", true, [(ti + "transaction_initiation_date", "yesterday")]),
        spec("NEGATIVE", false, [(ti + "transaction_amount.value", "-45.00")]),
      ])
    // Every transaction mutant's renamed subscription is served too.
    subs += transactions.map { rename(activeSub, $0.marker) }
    let subscriptions = mutants(
      kind: "paypal.subscription", tag: "PPS", template: cancelledSub, idPath: "id",
      [
        spec("LONGTEXT", false, [("subscriber.name.given_name", longText)]),
        spec("EXTRA", false, [("x_unexpected", extra)]),
      ] + [
        spec("BADDATE", true, [("status_update_time", "yesterday")]),
        spec("BADPAYDATE", true, [("billing_info.last_payment.time", "2026-02-30T99:00:00Z")]),
        spec("FUTURE", false, [("status_update_time", "2100-01-01T00:00:00Z")]),
      ])
    let cancelledTx = try referencing("I-XHDWCEP2HNGO")
    txs += subscriptions.map { rename(cancelledTx, $0.marker) }
    let planTemplate = try #require(plans.first { $0["id"]?.stringValue == activeSub["plan_id"]?.stringValue })
    let fixed = "billing_cycles.0.pricing_scheme.fixed_price."
    var planMutants = mutants(
      kind: "paypal.plan", tag: "PPP", template: planTemplate, idPath: "id",
      [spec("LONGTEXT", false, [("description", longText)]), spec("EXTRA", false, [("x_unexpected", extra)])] + [
        spec("NOCYCLE", true, [("billing_cycles", [])]),
        spec("WRONGTYPE", true, [("billing_cycles.0.frequency.interval_count", "twelve")]),
        spec("CURRENCY", true, [(fixed + "currency_code", "QQQ")]),
        spec("HUGEAMOUNT", true, [(fixed + "value", "99999999999999999999999.00")]),
      ])
    for i in planMutants.indices {
      let id = "P-\(planMutants[i].marker)PLAN"
      planMutants[i].record = set(planMutants[i].record, ["id"], .string(id))
      planMutants[i].probe = id
      planMutants[i].indexOnly = true
      subs.append(set(rename(activeSub, planMutants[i].marker), ["plan_id"], .string(id)))
      txs.append(rename(tx, planMutants[i].marker))
    }
    o.transactions = txs + transactions.map(\.record)
    o.subscriptions = subs + subscriptions.map(\.record)
    o.plans = plans + planMutants.map(\.record)
    o.undatedAt = Timestamp.parse("2025-10-15T00:00:00Z")
    return (o, transactions + subscriptions + planMutants)
  }

  // MARK: - Cashier

  static func cashier() throws -> (rows: [JSONValue], mutants: [APIMutant]) {
    let rows = try FixtureData.list("gateways/cashier/transactions.json")
    let template = try #require(
      rows.first {
        $0["type"]?.stringValue == "payment" && $0["status"]?.stringValue == "SUCCESS"
          && $0["mode"]?.stringValue == "live"
      })
    let m = mutants(
      kind: "cashier.transaction", tag: "CSH", template: template, idPath: "transaction_id",
      common(id: "transaction_id", text: "description") + [
        spec("NOCURRENCY", true, [("currency", nil)]), spec("CURRENCY", true, [("currency", "QQQ")]),
        spec("WRONGTYPE", true, [("amount", "twelve")]), spec("NUMBERTYPE", true, [("amount", 1490)]),
        spec("HUGEAMOUNT", true, [("amount", "99999999999999999999999.00")]), spec("NOAMOUNT", true, [("amount", nil)]),
        spec("BADDATE", true, [("created_at", "yesterday")]), spec("BADPERIOD", true, [("period_end", "soon")]),
        spec("NEGATIVE", false, [("amount", "-1490.00")]),
        spec("FUTURE", false, [("period_end", "2100-01-01T00:00:00+02:00")]),
      ])
    return (rows + m.map(\.record), m)
  }
}

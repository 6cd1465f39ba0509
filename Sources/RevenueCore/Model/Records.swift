// The canonical records that Transform writes to `transform/*.ndjson` and Load, Validate and the
// report read. Field names are ChartMogul's own snake_case names (docs/chartmogul.md "Customers", "Invoices and line items", "Bulk import")
// so that a staged line reads like the request it becomes; fields ChartMogul does not take (a plan's
// currency, an invoice's gateway) are ours and Load leaves them out of the wire body.

/// A customer: one per person (docs/gateways "Identity across sources"). `external_id` is the app's `users.id`, or
/// `<gateway>:<gateway customer id>` for payers the app does not know.
public struct CustomerRecord: Sendable, Hashable {
  public var externalID: String
  public var name: String?
  public var email: String?
  public var country: String?
  public var leadCreatedAt: Timestamp?
  public var freeTrialStartedAt: Timestamp?
  /// External ids of other records merged into this customer (shared email, gateway-only payer).
  public var mergedExternalIDs: [String]

  public init(
    externalID: String, name: String? = nil, email: String? = nil, country: String? = nil,
    leadCreatedAt: Timestamp? = nil, freeTrialStartedAt: Timestamp? = nil, mergedExternalIDs: [String] = []
  ) {
    self.externalID = externalID
    self.name = name
    self.email = email
    self.country = country
    self.leadCreatedAt = leadCreatedAt
    self.freeTrialStartedAt = freeTrialStartedAt
    self.mergedExternalIDs = mergedExternalIDs
  }

  public var json: JSONValue {
    var o = JSONObject()
    o["external_id"] = .string(externalID)
    o.set("name", .optional(name))
    o.set("email", .optional(email))
    o.set("country", .optional(country))
    o.set("lead_created_at", .optional(leadCreatedAt?.iso8601))
    o.set("free_trial_started_at", .optional(freeTrialStartedAt?.iso8601))
    if !mergedExternalIDs.isEmpty { o["merged_external_ids"] = .array(mergedExternalIDs.map { .string($0) }) }
    return .object(o)
  }

  public init(json: JSONValue) throws(RecordShapeError) {
    let r = try FieldReader(json, what: "customer")
    externalID = try r.string("external_id")
    name = try r.optionalString("name")
    email = try r.optionalString("email")
    country = try r.optionalString("country")
    leadCreatedAt = try r.optionalTimestamp("lead_created_at")
    freeTrialStartedAt = try r.optionalTimestamp("free_trial_started_at")
    mergedExternalIDs = try r.stringArray("merged_external_ids")
  }
}

/// A ChartMogul plan: one per name, currency and interval (docs/gateways "Identity across sources"). `external_id` is
/// `<name>_<currency>_<interval_count><interval>` lower-case.
public struct PlanRecord: Sendable, Hashable {
  public var externalID: String
  public var name: String
  public var intervalCount: Int
  public var intervalUnit: IntervalUnit
  /// Ours, not ChartMogul's: the one currency every invoice line on this plan must have.
  public var currency: String

  public init(name: String, intervalCount: Int, intervalUnit: IntervalUnit, currency: String) {
    self.name = name
    self.intervalCount = intervalCount
    self.intervalUnit = intervalUnit
    self.currency = currency.uppercased()
    self.externalID = PlanRecord.externalID(
      name: name, currency: currency, intervalCount: intervalCount, intervalUnit: intervalUnit)
  }

  /// `Growth`, `EGP`, 1, month → `growth_egp_1month` (spaces become `-`).
  public static func externalID(name: String, currency: String, intervalCount: Int, intervalUnit: IntervalUnit)
    -> String
  {
    let n = name.lowercased().split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: "-")
    return "\(n)_\(currency.lowercased())_\(intervalCount)\(intervalUnit.rawValue)"
  }

  public var json: JSONValue {
    [
      "external_id": .string(externalID), "name": .string(name), "interval_count": .int(intervalCount),
      "interval_unit": .string(intervalUnit.rawValue), "currency": .string(currency),
    ]
  }

  public init(json: JSONValue) throws(RecordShapeError) {
    let r = try FieldReader(json, what: "plan")
    externalID = try r.string("external_id")
    name = try r.string("name")
    intervalCount = Int(try r.int("interval_count"))
    let unit = try r.string("interval_unit")
    guard let u = IntervalUnit(rawValue: unit) else {
      throw RecordShapeError(field: "interval_unit", reason: "'\(unit)' is not day, month or year")
    }
    intervalUnit = u
    currency = try r.string("currency")
  }
}

/// One invoice line: a subscription period or a one-time charge (docs/chartmogul.md "Invoices and line items").
public struct LineItemRecord: Sendable, Hashable {
  public enum Kind: String, Sendable, Hashable {
    case subscription
    case oneTime = "one_time"
  }
  public var type: Kind
  public var externalID: String?
  /// Charged for the line: after discounts, including tax (ChartMogul's definition).
  public var amountInCents: Int64
  public var quantity: Int64
  public var taxAmountInCents: Int64
  public var discountAmountInCents: Int64
  public var discountCode: String?
  public var description: String?
  public var subscriptionExternalID: String?
  public var planExternalID: String?
  public var servicePeriodStart: Timestamp?
  public var servicePeriodEnd: Timestamp?
  public var prorated: Bool

  public init(
    type: Kind, externalID: String? = nil, amountInCents: Int64, quantity: Int64 = 1, taxAmountInCents: Int64 = 0,
    discountAmountInCents: Int64 = 0, discountCode: String? = nil, description: String? = nil,
    subscriptionExternalID: String? = nil, planExternalID: String? = nil, servicePeriodStart: Timestamp? = nil,
    servicePeriodEnd: Timestamp? = nil, prorated: Bool = false
  ) {
    self.type = type
    self.externalID = externalID
    self.amountInCents = amountInCents
    self.quantity = quantity
    self.taxAmountInCents = taxAmountInCents
    self.discountAmountInCents = discountAmountInCents
    self.discountCode = discountCode
    self.description = description
    self.subscriptionExternalID = subscriptionExternalID
    self.planExternalID = planExternalID
    self.servicePeriodStart = servicePeriodStart
    self.servicePeriodEnd = servicePeriodEnd
    self.prorated = prorated
  }

  public var json: JSONValue {
    var o = JSONObject()
    o["type"] = .string(type.rawValue)
    o.set("external_id", .optional(externalID))
    o["amount_in_cents"] = .int(amountInCents)
    o["quantity"] = .int(quantity)
    o["tax_amount_in_cents"] = .int(taxAmountInCents)
    o["discount_amount_in_cents"] = .int(discountAmountInCents)
    o.set("discount_code", .optional(discountCode))
    o.set("description", .optional(description))
    o.set("subscription_external_id", .optional(subscriptionExternalID))
    o.set("plan_external_id", .optional(planExternalID))
    o.set("service_period_start", .optional(servicePeriodStart?.iso8601))
    o.set("service_period_end", .optional(servicePeriodEnd?.iso8601))
    if type == .subscription { o["prorated"] = .bool(prorated) }
    return .object(o)
  }

  public init(json: JSONValue) throws(RecordShapeError) {
    let r = try FieldReader(json, what: "line item")
    let t = try r.string("type")
    guard let k = Kind(rawValue: t) else {
      throw RecordShapeError(field: "type", reason: "'\(t)' is not subscription or one_time")
    }
    type = k
    externalID = try r.optionalString("external_id")
    amountInCents = try r.int("amount_in_cents")
    quantity = try r.optionalInt("quantity") ?? 1
    taxAmountInCents = try r.optionalInt("tax_amount_in_cents") ?? 0
    discountAmountInCents = try r.optionalInt("discount_amount_in_cents") ?? 0
    discountCode = try r.optionalString("discount_code")
    description = try r.optionalString("description")
    subscriptionExternalID = try r.optionalString("subscription_external_id")
    planExternalID = try r.optionalString("plan_external_id")
    servicePeriodStart = try r.optionalTimestamp("service_period_start")
    servicePeriodEnd = try r.optionalTimestamp("service_period_end")
    prorated = try r.bool("prorated", default: false)
  }
}

/// A payment or refund on an invoice (docs/chartmogul.md "Invoices and line items", "Transactions and refunds").
public struct TransactionRecord: Sendable, Hashable {
  public enum Kind: String, Sendable, Hashable { case payment, refund }
  public enum Result: String, Sendable, Hashable { case successful, failed }
  public var externalID: String
  public var type: Kind
  public var result: Result
  public var date: Timestamp
  /// Partial amount (refunds); nil means the full invoice amount.
  public var amountInCents: Int64?

  public init(externalID: String, type: Kind, result: Result, date: Timestamp, amountInCents: Int64? = nil) {
    self.externalID = externalID
    self.type = type
    self.result = result
    self.date = date
    self.amountInCents = amountInCents
  }

  public var json: JSONValue {
    var o = JSONObject()
    o["external_id"] = .string(externalID)
    o["type"] = .string(type.rawValue)
    o["result"] = .string(result.rawValue)
    o["date"] = .string(date.iso8601)
    o.set("amount_in_cents", .optional(amountInCents))
    return .object(o)
  }

  public init(json: JSONValue) throws(RecordShapeError) {
    let r = try FieldReader(json, what: "transaction")
    externalID = try r.string("external_id")
    let t = try r.string("type")
    guard let k = Kind(rawValue: t) else {
      throw RecordShapeError(field: "type", reason: "'\(t)' is not payment or refund")
    }
    type = k
    let res = try r.string("result")
    guard let rr = Result(rawValue: res) else {
      throw RecordShapeError(field: "result", reason: "'\(res)' is not successful or failed")
    }
    result = rr
    date = try r.timestamp("date")
    amountInCents = try r.optionalInt("amount_in_cents")
  }
}

/// One invoice per paid gateway transaction: `external_id` = `<gateway>_<gateway transaction id>`.
public struct InvoiceRecord: Sendable, Hashable {
  public var externalID: String
  public var customerExternalID: String
  public var date: Timestamp
  public var currency: String
  public var dueDate: Timestamp?
  public var collectionMethod: String?
  public var lineItems: [LineItemRecord]
  public var transactions: [TransactionRecord]
  /// Ours: `stripe`, `paypal`, `cashier` — kept for segmenting and tracing, not sent.
  public var gateway: String
  /// Ours: the app's `transactions.id` when the invoice came from Postgres (for write-back).
  public var appTransactionID: String?

  public init(
    externalID: String, customerExternalID: String, date: Timestamp, currency: String, dueDate: Timestamp? = nil,
    collectionMethod: String? = nil, lineItems: [LineItemRecord], transactions: [TransactionRecord], gateway: String,
    appTransactionID: String? = nil
  ) {
    self.externalID = externalID
    self.customerExternalID = customerExternalID
    self.date = date
    self.currency = currency
    self.dueDate = dueDate
    self.collectionMethod = collectionMethod
    self.lineItems = lineItems
    self.transactions = transactions
    self.gateway = gateway
    self.appTransactionID = appTransactionID
  }

  public var json: JSONValue {
    var o = JSONObject()
    o["external_id"] = .string(externalID)
    o["customer_external_id"] = .string(customerExternalID)
    o["date"] = .string(date.iso8601)
    o["currency"] = .string(currency)
    o.set("due_date", .optional(dueDate?.iso8601))
    o.set("collection_method", .optional(collectionMethod))
    o["line_items"] = .array(lineItems.map(\.json))
    o["transactions"] = .array(transactions.map(\.json))
    o["gateway"] = .string(gateway)
    o.set("app_transaction_id", .optional(appTransactionID))
    return .object(o)
  }

  public init(json: JSONValue) throws(RecordShapeError) {
    let r = try FieldReader(json, what: "invoice")
    externalID = try r.string("external_id")
    customerExternalID = try r.string("customer_external_id")
    date = try r.timestamp("date")
    currency = try r.string("currency")
    dueDate = try r.optionalTimestamp("due_date")
    collectionMethod = try r.optionalString("collection_method")
    var items: [LineItemRecord] = []
    for v in try r.array("line_items") { items.append(try LineItemRecord(json: v)) }
    lineItems = items
    var txs: [TransactionRecord] = []
    for v in try r.array("transactions") { txs.append(try TransactionRecord(json: v)) }
    transactions = txs
    gateway = try r.string("gateway")
    appTransactionID = try r.optionalString("app_transaction_id")
  }
}

/// An explicit cancellation of a subscription (docs/gateways "Identity across sources": cancellations are always sent).
public struct CancellationRecord: Sendable, Hashable {
  public var customerExternalID: String
  public var subscriptionExternalID: String
  /// When churn is recognised: end of the last paid period (`period_end`) or the request (`cancel_date`).
  public var cancelledAt: Timestamp
  /// When the customer asked to cancel (informational).
  public var requestedAt: Timestamp?
  /// Ours: the app's `subscriptions.id` for write-back.
  public var appSubscriptionID: String?
  /// Ours: no source cancelled it; transform's lapse rule did (its last paid period ended long before
  /// the run's as-of instant, see docs/chartmogul.md "Past-due subscriptions and lapses").
  public var lapsed: Bool
  /// Ours: withdraws an earlier lapse cancellation dated `cancelledAt` (a payment arrived after it).
  /// Load removes it the way ChartMogul documents changing churn history: by sending the
  /// subscription's full list of cancellation dates without it
  /// (https://dev.chartmogul.com/docs/changing-customer-churn-history).
  public var withdrawn: Bool
  /// Ours: when set, the subscription's whole list of cancellation dates as transform knows it
  /// (`[]` for a withdrawal, `[cancelledAt]` for a lapse or a cancellation replacing one); load sends
  /// it as `cancellation_dates`, which replaces ChartMogul's list. nil: an ordinary cancellation.
  public var cancellationDates: [Timestamp]?

  public init(
    customerExternalID: String, subscriptionExternalID: String, cancelledAt: Timestamp, requestedAt: Timestamp? = nil,
    appSubscriptionID: String? = nil, lapsed: Bool = false, withdrawn: Bool = false,
    cancellationDates: [Timestamp]? = nil
  ) {
    self.customerExternalID = customerExternalID
    self.subscriptionExternalID = subscriptionExternalID
    self.cancelledAt = cancelledAt
    self.requestedAt = requestedAt
    self.appSubscriptionID = appSubscriptionID
    self.lapsed = lapsed
    self.withdrawn = withdrawn
    self.cancellationDates = cancellationDates
  }

  public var json: JSONValue {
    var o = JSONObject()
    o["customer_external_id"] = .string(customerExternalID)
    o["subscription_external_id"] = .string(subscriptionExternalID)
    o["cancelled_at"] = .string(cancelledAt.iso8601)
    o.set("requested_at", .optional(requestedAt?.iso8601))
    o.set("app_subscription_id", .optional(appSubscriptionID))
    if lapsed { o["lapsed"] = .bool(true) }
    if withdrawn { o["withdrawn"] = .bool(true) }
    if let d = cancellationDates { o["cancellation_dates"] = .array(d.map { .string($0.iso8601) }) }
    return .object(o)
  }

  public init(json: JSONValue) throws(RecordShapeError) {
    let r = try FieldReader(json, what: "cancellation")
    customerExternalID = try r.string("customer_external_id")
    subscriptionExternalID = try r.string("subscription_external_id")
    cancelledAt = try r.timestamp("cancelled_at")
    requestedAt = try r.optionalTimestamp("requested_at")
    appSubscriptionID = try r.optionalString("app_subscription_id")
    lapsed = try r.bool("lapsed", default: false)
    withdrawn = try r.bool("withdrawn", default: false)
    if r.object["cancellation_dates"].map({ !$0.isNull }) ?? false {
      var dates: [Timestamp] = []
      for text in try r.stringArray("cancellation_dates") {
        guard let t = Timestamp.parse(text) else {
          throw RecordShapeError(field: "cancellation_dates", reason: "holds '\(text)', not a timestamp")
        }
        dates.append(t)
      }
      cancellationDates = dates
    } else {
      cancellationDates = nil
    }
  }
}

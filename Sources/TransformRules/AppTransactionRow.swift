import RevenueCore

/// The columns of an `app.transaction` / `app.refund` row Transform reads (the app database contract, docs/docs/gateways).
/// Filled either from a parsed `JSONValue` or by `AppTransactionScanner` (the fast path), which must
/// give exactly the same values.
package struct AppTransactionRow: Equatable {
  package var id: String? = nil
  package var userID: String? = nil
  package var subscriptionID: String? = nil
  package var gateway: String? = nil
  package var gatewayTransactionID: String? = nil
  package var productType: String? = nil
  package var planName: String? = nil
  package var amount: Int64? = nil
  package var discount: Int64? = nil
  package var tax: Int64? = nil
  package var currency: String? = nil
  package var country: String? = nil
  package var status: String? = nil
  package var transactionDate: DateValue? = nil
  package var periodStart: DateValue? = nil
  package var periodEnd: DateValue? = nil
  package var refundedAmount: Int64? = nil
  package var refundedAt: DateValue? = nil
  package var refundSynced: Int64? = nil
  package var gatewaySubscriptionID: String? = nil
  /// `metadata.livemode` when it is a boolean.
  package var livemode: Bool? = nil
  /// `metadata.referrer_user_id` when it is a string.
  package var referrer: String? = nil
  /// A column holding the wrong JSON type (named in the reject).
  package var badField: String? = nil

  package init() {}

  package init(_ v: JSONValue) {
    guard let o = v.objectValue else {
      badField = "record"
      return
    }
    for f in o {
      guard let field = AppField(rawValue: f.key) else { continue }
      let value: FieldValue
      switch f.value {
      case .string(let s): value = .string(s)
      case .number(let n): value = .number(n)
      case .null: value = .null
      default: value = .other(f.value)
      }
      set(field, value)
    }
  }

  /// A column value as either path reads it. `time` is a string the scanner already parsed as a
  /// timestamp (date columns only; the generic path parses the `string` in `set`).
  package enum FieldValue {
    case string(String)
    case number(String)
    case null
    case other(JSONValue)
    case time(Timestamp)
  }

  /// A date column: its instant, or the text when it is not a timestamp (quoted in the reject).
  package enum DateValue: Equatable {
    case time(Timestamp)
    case text(String)

    package var time: Timestamp? {
      if case .time(let t) = self { return t }
      return nil
    }
    package var text: String {
      switch self {
      case .time(let t): return t.iso8601
      case .text(let s): return s
      }
    }
  }

  /// Applies one column (later duplicates override earlier ones, like iterating the parsed object).
  package mutating func set(_ field: AppField, _ v: FieldValue) {
    switch field {
    case .id: id = str(v, field)
    case .userID: userID = str(v, field)
    case .subscriptionID: subscriptionID = str(v, field)
    case .gateway: gateway = str(v, field)
    case .gatewayTransactionID: gatewayTransactionID = str(v, field)
    case .productType: productType = str(v, field)
    case .planName: planName = str(v, field)
    case .amount: amount = int(v, field)
    case .discount: discount = int(v, field)
    case .tax: tax = int(v, field)
    case .currency: currency = str(v, field)
    case .country: country = str(v, field)
    case .status: status = str(v, field)
    case .transactionDate: transactionDate = date(v, field)
    case .periodStart: periodStart = date(v, field)
    case .periodEnd: periodEnd = date(v, field)
    case .refundedAmount: refundedAmount = int(v, field)
    case .refundedAt: refundedAt = date(v, field)
    case .refundSynced: refundSynced = int(v, field)
    case .gatewaySubscriptionID: gatewaySubscriptionID = str(v, field)
    case .userEmail: _ = str(v, field)  // only its type is checked: the customer is the app user
    case .metadata:
      if case .other(.object(let m)) = v {
        if case .bool(let b)? = m["livemode"] { livemode = b }
        if case .string(let s)? = m["referrer_user_id"] { referrer = s }
      }
    }
  }

  private mutating func str(_ v: FieldValue, _ key: AppField) -> String? {
    switch v {
    case .string(let s): return s
    case .null: return nil
    case .number(let n): return n
    case .time(let t): return t.iso8601
    case .other:
      badField = badField ?? key.rawValue
      return nil
    }
  }

  /// A date column's value: parsed once here (or by the scanner, straight from the line's bytes).
  private mutating func date(_ v: FieldValue, _ key: AppField) -> DateValue? {
    if case .time(let t) = v { return .time(t) }
    guard let s = str(v, key) else { return nil }
    return Timestamp.parse(s).map(DateValue.time) ?? .text(s)
  }

  private mutating func int(_ v: FieldValue, _ key: AppField) -> Int64? {
    switch v {
    case .number(let n):
      if let i = Int64(n) { return i }
      badField = badField ?? key.rawValue
      return nil
    case .null: return nil
    default:
      badField = badField ?? key.rawValue
      return nil
    }
  }
}

/// The `app.transaction` columns Transform reads.
package enum AppField: String, CaseIterable {
  case id
  case userID = "user_id"
  case subscriptionID = "subscription_id"
  case gateway
  case
    gatewayTransactionID = "gateway_transaction_id"
  case productType = "product_type"
  case planName = "plan_name"
  case
    amount = "amount_cents"
  case discount = "discount_amount_cents"
  case tax = "tax_amount_cents"
  case currency, country, status
  case
    transactionDate = "transaction_date"
  case periodStart = "period_start"
  case periodEnd = "period_end"
  case
    refundedAmount = "refunded_amount_cents"
  case refundedAt = "refunded_at"
  case refundSynced = "refund_synced_cents"
  case
    gatewaySubscriptionID = "gateway_subscription_id"
  case userEmail = "user_email"
  case metadata

  /// Columns read as timestamps (`AppTransactionRow.DateValue`).
  package var isDate: Bool {
    switch self {
    case .transactionDate, .periodStart, .periodEnd, .refundedAt: return true
    default: return false
    }
  }
}

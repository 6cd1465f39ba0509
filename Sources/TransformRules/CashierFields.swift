import RevenueCore

/// Kashier's own names for what a `cashier-csv` row / `cashier.transaction` record says, mapped to
/// the project's contract (README "Export formats": `cashier-csv` is our documented layout, since
/// Kashier publishes no dashboard export layout).
///
/// Field names are those of Kashier's webhook and order-inquiry payloads
/// (https://developers.kashier.io/payment/webhook): `transactionId`, `merchantOrderId`,
/// `kashierOrderId`/`orderId`, `creationDate`, `method`, `operation` (`pay`/`refund`). Statuses:
/// `CAPTURED` and `SUCCESS` are paid; `REFUNDED` is a payment that was paid and later refunded (its
/// refund is a row of its own); `DECLINED`/`FAILED`/`FAILURE` failed; `INITIATED`/`PENDING` are
/// pending; `VOIDED`/`CANCELLED` never moved money.
package enum CashierFields {
  package static let names: [String: String] = [
    "transactionId": "transaction_id", "merchantOrderId": "merchant_order_id", "kashierOrderId": "kashier_order_id",
    "orderId": "kashier_order_id", "creationDate": "created_at", "method": "payment_method", "cardBrand": "card_brand",
    "operation": "type", "originalTransactionId": "original_transaction_id",
    "targetTransactionId": "original_transaction_id",
    "customerEmail": "customer_email", "customerName": "customer_name", "merchantCustomerId": "merchant_customer_id",
  ]
  package static let statuses: [String: String] = [
    "CAPTURED": "SUCCESS", "SUCCESS": "SUCCESS", "SUCCEEDED": "SUCCESS", "REFUNDED": "SUCCESS",
    "PARTIALLY_REFUNDED": "SUCCESS",
    "DECLINED": "FAILURE", "FAILED": "FAILURE", "FAILURE": "FAILURE", "INITIATED": "PENDING", "PENDING": "PENDING",
    "VOIDED": "CANCELLED", "CANCELLED": "CANCELLED", "CANCELED": "CANCELLED",
  ]
  package static let types: [String: String] = [
    "pay": "payment", "payment": "payment", "capture": "payment", "refund": "refund",
  ]

  /// The record with Kashier's names, statuses and operations in the contract's terms (contract
  /// names win when a record has both).
  package static func canonical(_ r: JSONValue) -> JSONValue {
    guard case .object(let o) = r else { return r }
    var out = JSONObject()
    for f in o.fields {
      let key = names[f.key] ?? f.key
      if names[f.key] != nil, o[key] != nil { continue }
      var value = f.value
      if let s = f.value.stringValue?.trimmingASCIIWhitespace() {
        if key == "status", let v = statuses[s.uppercased()] { value = .string(v) }
        if key == "type", let v = types[s.lowercased()] { value = .string(v) }
      }
      if out[key] == nil { out.fields.append(JSONField(key, value)) }
    }
    return .object(out)
  }
}

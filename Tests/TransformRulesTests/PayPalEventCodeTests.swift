import RevenueCore
import Testing

@testable import TransformRules

/// PayPal's everyday account activity (holds, payouts, sent payments) is skipped as not revenue,
/// never rejected; payments, refunds, reversals and chargebacks are read
/// (https://developer.paypal.com/docs/transaction-search/transaction-event-codes/).
@Suite struct PayPalEventCodeTests {
  /// One `transaction_details[]` element as Transaction Search returns it.
  static func detail(_ code: String, _ value: String, id: String = "7KF12345AB678901C", ref: String? = nil) -> JSONValue
  {
    var info: JSONObject = [
      "transaction_id": .string(id), "transaction_event_code": .string(code),
      "transaction_initiation_date": "2026-05-02T10:00:00+0000", "transaction_status": "S",
      "transaction_amount": ["currency_code": "USD", "value": .string(value)],
    ]
    if let ref { info["paypal_reference_id"] = .string(ref) }
    return [
      "transaction_info": .object(info),
      "payer_info": ["email_address": "buyer@example.com", "payer_name": ["alternate_full_name": "Ana Buyer"]],
    ]
  }

  let reader = PayPalCashierReaders(subscriptions: nil)

  @Test(
    "holds, hold releases, payouts and payments sent are skipped as not revenue",
    arguments: [
      ("T1110", "-49.00"), ("T1111", "49.00"), ("T1105", "120.00"), ("T1503", "-300.00"), ("T0001", "-300.00"),
      ("T0400", "-500.00"), ("T0006", "-12.00"), ("T0200", "-10.00"), ("T1108", "1.72"),
    ])
  func accountActivityIsSkipped(code: String, value: String) {
    guard case .skip(let reason, let why) = reader.transaction(Self.detail(code, value)) else {
      Issue.record("\(code) \(value) should be skipped")
      return
    }
    #expect(reason == "not_revenue")
    #expect(why.contains(code))
  }

  @Test("a received payment, a refund, a payment reversal and a chargeback are read")
  func revenueEventsAreRead() {
    guard case .payment(let p) = reader.transaction(Self.detail("T0002", "49.00")) else {
      Issue.record("a subscription payment received is a payment")
      return
    }
    #expect(p.role == .gatewayPayment && p.total == 4900)
    for code in ["T1107", "T1106", "T1201"] {
      guard
        case .payment(let r) = reader.transaction(
          Self.detail(code, "-49.00", id: "REF" + code, ref: "7KF12345AB678901C"))
      else {
        Issue.record("\(code) takes revenue back")
        continue
      }
      #expect(r.role == .gatewayRefund && r.refundOf == "7KF12345AB678901C")
    }
  }
}

import RevenueCore

/// One invoice line as a source states it, before plan mapping.
package struct RawLine {
  package var type: LineItemRecord.Kind
  package var externalID: String? = nil
  /// Gateway plan/price id (subscription lines), looked up in `plan_mapping`.
  package var planID: String? = nil
  /// Further keys tried in `plan_mapping` when `planID` is not there (e.g. a PayPal item title).
  package var planCandidates: [String] = []
  /// The gateway's own billing interval, used by `unmapped_plans: pass_through`.
  package var interval: (IntervalUnit, Int)? = nil
  package var amount: Int64
  package var tax: Int64 = 0
  package var discount: Int64 = 0
  package var discountCode: String? = nil
  package var quantity: Int64 = 1
  package var periodStart: Timestamp? = nil
  package var periodEnd: Timestamp? = nil
  /// The gateway's subscription id (`sub_…`, `I-…`, Cashier id); becomes `<gateway>_<id>`.
  package var subscriptionID: String? = nil
  package var description: String? = nil
  package var prorated = false
}

/// A refund with its own gateway id.
package struct RawRefund {
  package var id: String
  package var amount: Int64
  package var date: Timestamp
}

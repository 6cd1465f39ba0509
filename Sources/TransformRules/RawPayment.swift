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

/// One payment (or refund) as a source states it: the common form every kind is read into before
/// customers, plans and money rules are applied by `FragmentBuilder`.
package struct RawPayment {
  package var role: Fragment.Role
  package var gateway: String
  /// The gateway's id for this payment (`in_…`, `ch_…`, `pi_…`, PayPal/Cashier transaction id).
  package var id: String
  /// For refund records: the gateway id of the payment refunded.
  package var refundOf: String? = nil
  /// Who paid: the app user (app rows) or the gateway identity.
  package var appUserID: String? = nil
  package var identity: Identity? = nil
  package var currencyCode: String
  package var date: Timestamp
  package var total: Int64 = 0
  package var lines: [RawLine] = []
  package var cumulativeRefund: Int64 = 0
  package var cumulativeRefundDate: Timestamp? = nil
  package var refundSynced: Int64 = 0
  package var refunds: [RawRefund] = []
  package var appTransactionID: String? = nil
  package var countryHint: String? = nil
  package var referrerHint: String? = nil
}

/// What reading one input record produced.
package enum ReadOutcome {
  case payment(RawPayment)
  /// Consumed into an index (users, customers, subscriptions, plans): counted as output.
  case indexed
  case skip(code: String, reason: String)
  case reject(code: String, reason: String)
}

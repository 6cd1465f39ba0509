import RevenueCore

/// One invoice line as a source states it, before plan mapping.
struct RawLine {
  var type: LineItemRecord.Kind
  var externalID: String? = nil
  /// Gateway plan/price id (subscription lines), looked up in `plan_mapping`.
  var planID: String? = nil
  /// Further keys tried in `plan_mapping` when `planID` is not there (e.g. a PayPal item title).
  var planCandidates: [String] = []
  /// The gateway's own billing interval, used by `unmapped_plans: pass_through`.
  var interval: (IntervalUnit, Int)? = nil
  var amount: Int64
  var tax: Int64 = 0
  var discount: Int64 = 0
  var discountCode: String? = nil
  var quantity: Int64 = 1
  var periodStart: Timestamp? = nil
  var periodEnd: Timestamp? = nil
  /// The gateway's subscription id (`sub_…`, `I-…`, Cashier id); becomes `<gateway>_<id>`.
  var subscriptionID: String? = nil
  var description: String? = nil
  var prorated = false
}

/// A refund with its own gateway id.
struct RawRefund {
  var id: String
  var amount: Int64
  var date: Timestamp
}

/// One payment (or refund) as a source states it: the common form every kind is read into before
/// customers, plans and money rules are applied by `FragmentBuilder`.
struct RawPayment {
  var role: Fragment.Role
  var gateway: String
  /// The gateway's id for this payment (`in_…`, `ch_…`, `pi_…`, PayPal/Cashier transaction id).
  var id: String
  /// For refund records: the gateway id of the payment refunded.
  var refundOf: String? = nil
  /// Who paid: the app user (app rows) or the gateway identity.
  var appUserID: String? = nil
  /// `UserKey(appUserID)`, parsed by the reading thread so the builder only looks it up.
  var appUserKey: UserKey? = nil
  var identity: Identity? = nil
  var currencyCode: String
  var date: Timestamp
  var total: Int64 = 0
  var lines: [RawLine] = []
  var cumulativeRefund: Int64 = 0
  var cumulativeRefundDate: Timestamp? = nil
  var refundSynced: Int64 = 0
  var refunds: [RawRefund] = []
  var appTransactionID: String? = nil
  var countryHint: String? = nil
  var referrerHint: String? = nil
}

/// What reading one input record produced.
enum ReadOutcome {
  case payment(RawPayment)
  /// Consumed into an index (users, customers, subscriptions, plans): counted as output.
  case indexed
  case skip(code: String, reason: String)
  case reject(code: String, reason: String)
}

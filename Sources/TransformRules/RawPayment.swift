import RevenueCore

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

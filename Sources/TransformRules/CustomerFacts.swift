import RevenueCore

/// Who pays for one payment: the customer external id and whether it is test data.
package struct Payer {
  package var customer: String
  package var isTest: Bool
  package init(customer: String, isTest: Bool) {
    self.customer = customer
    self.isTest = isTest
  }
}

/// What one payment says about its customer (gateway used, dated country/name/referrer); applied to
/// the customer index by `CustomerIndex.record(_:)`.
package struct CustomerFacts {
  package var customer: String
  package var gateway: String
  package var date: Timestamp
  /// The country text as the record gives it (normalised when applied).
  package var country: String?
  package var name: String?
  package var referrer: String?
}

import RevenueCore

/// A person as one record names them: an app user id, a gateway customer id and/or an e-mail.
package struct Identity: Sendable {
  package var gateway: String
  package var customerID: String?
  package var appUserID: String?
  package var email: String?
  package var name: String?
  package var country: String?
  package var createdAt: Timestamp?

  package init(
    gateway: String, customerID: String? = nil, appUserID: String? = nil, email: String? = nil, name: String? = nil,
    country: String? = nil, createdAt: Timestamp? = nil
  ) {
    self.gateway = gateway
    self.customerID = customerID
    self.appUserID = appUserID
    self.email = email
    self.name = name
    self.country = country
    self.createdAt = createdAt
  }
}

/// A rule a payment breaks: becomes a reject with this code and reason.
package struct Rejected: Error {
  package var code: String
  package var reason: String
  package init(_ code: String, _ reason: String) {
    self.code = code
    self.reason = reason
  }
}

import RevenueCore
import Testing

@testable import TransformRules

/// Customer resolution and merge (CustomerIndex.swift).
@Suite struct CustomerIndexTests {
  typealias F = RuleFixtures

  @Test func usersSharingAnEmailMergeUnderTheOldest() {
    let c = F.index(users: [
      F.user("new", email: "a@x.io", created: "2026-01-01T00:00:00Z"),
      F.user("old", email: "a@x.io", created: "2025-01-01T00:00:00Z"),
    ])
    #expect(c.resolveUser("new") == "old")
    #expect(c.customers().map(\.externalID) == ["old"])
    #expect(c.customers().first?.mergedExternalIDs == ["new"])
  }

  @Test func mergingCanBeTurnedOff() {
    let c = F.index(
      F.config { $0.mergeCustomersByEmail = false },
      users: [
        F.user("new", email: "a@x.io", created: "2026-01-01T00:00:00Z"),
        F.user("old", email: "a@x.io", created: "2025-01-01T00:00:00Z"),
      ])
    #expect(c.resolveUser("new") == "new")
  }

  @Test func aGatewayCustomerNamedByEmailResolvesToTheUser() {
    let c = CustomerIndex(config: F.config())
    c.addUser(F.user("u1", email: "a@x.io", created: "2025-01-01T00:00:00Z"))
    c.addIdentity(Identity(gateway: "paypal", customerID: "PAYER1", email: "a@x.io"))
    c.finish()
    #expect(c.resolve(Identity(gateway: "paypal", customerID: "PAYER1")) == "u1")
    #expect(c.resolve(Identity(gateway: "paypal", customerID: "OTHER")) == "paypal:OTHER")
  }

  @Test func theMostRecentFactWinsWhateverTheOrder() {
    let a = F.index(users: [F.user("u1", email: nil, created: "2025-01-01T00:00:00Z")])
    let b = F.index(users: [F.user("u1", email: nil, created: "2025-01-01T00:00:00Z")])
    let older = CustomerFacts(customer: "u1", gateway: "stripe", date: F.t("2026-01-01T00:00:00Z"), country: "de")
    let newer = CustomerFacts(customer: "u1", gateway: "paypal", date: F.t("2026-02-01T00:00:00Z"), country: "FR")
    a.record(older)
    a.record(newer)
    b.record(newer)
    b.record(older)
    #expect(a.fillCountry["u1"]?.1 == "FR" && b.fillCountry["u1"]?.1 == "FR")
    #expect(a.gatewaysByCustomer["u1"] == ["stripe", "paypal"] && b.gatewaysByCustomer == a.gatewaysByCustomer)
  }

  @Test func emailsCompareTrimmedAndLowerCased() {
    #expect(Normalize.email("  A.B@X.io\t") == "a.b@x.io")
    #expect(Normalize.email("Zoë@Example.COM") == "zoë@example.com")
    #expect(Normalize.email("   ") == nil)
    // The ASCII shortcut gives what the general rule gives.
    for s in ["a@b.c", "A@B.C", " x@y.z ", "a\u{0B}b@c", "MiXeD@Case.Org"] {
      #expect(Normalize.asciiEmail(s) == s.filter { !$0.isWhitespace }.lowercased())
    }
  }
}

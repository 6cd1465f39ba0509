import RevenueCore

@testable import TransformRules

/// Small values the rule tests build on (no files, no I/O: the rules are pure).
enum RuleFixtures {
  static func t(_ iso: String) -> Timestamp { Timestamp.parse(iso)! }

  static let growthUSD = PlanSpec(name: "Growth", currency: "USD", intervalUnit: .month, intervalCount: 1)

  static func config(_ edit: (inout TransformConfig) -> Void = { _ in }) -> TransformConfig {
    var c = TransformConfig(planMapping: ["price_growth_usd": growthUSD])
    edit(&c)
    return c
  }

  /// A completed monthly app payment of `amount` cents by `user`.
  static func appPayment(
    id: String = "pi_1", user: String = "u1", amount: Int64 = 4900, currency: String = "USD",
    paidAt: String = "2026-01-10T12:00:00Z"
  ) -> RawPayment {
    var line = RawLine(type: .subscription, amount: amount)
    line.planID = "price_growth_usd"
    line.subscriptionID = "sub_1"
    return RawPayment(
      role: .appTransaction, gateway: "stripe", id: id, appUserID: user, currencyCode: currency, date: t(paidAt),
      total: amount, lines: [line])
  }

  static func index(_ config: TransformConfig = config(), users: [AppUser] = []) -> CustomerIndex {
    let c = CustomerIndex(config: config)
    for u in users { c.addUser(u) }
    c.finish()
    return c
  }

  static func user(_ id: String, email: String?, created: String, test: Bool = false) -> AppUser {
    AppUser(
      id: id, email: email, name: nil, country: nil, createdAt: t(created), isTest: test, virtual: false,
      attributes: nil)
  }
}

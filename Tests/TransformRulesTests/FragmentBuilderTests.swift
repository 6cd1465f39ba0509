import RevenueCore
import Testing

@testable import TransformRules

/// One payment → one invoice fragment (FragmentBuilder.swift).
@Suite struct FragmentBuilderTests {
  typealias F = RuleFixtures

  static func build(_ p: RawPayment, config: TransformConfig = F.config(), customers: CustomerIndex? = nil)
    -> FragmentBuilder.Built
  {
    let index = customers ?? F.index(users: [F.user("u1", email: "a@x.io", created: "2025-01-01T00:00:00Z")])
    let fb = FragmentBuilder(config: config, aliases: PaymentAliases(), planIntervals: [:])
    var trackers = BuildTrackers()
    return fb.build(p, source: 0, line: 1, trackers: &trackers, payer: index.payer(of:))
  }

  static func reject(_ b: FragmentBuilder.Built) -> String? {
    if case .reject(let code, _) = b { return code }
    return nil
  }

  @Test func aMonthlyPaymentBecomesAnInvoiceWithOnePlanPeriod() throws {
    guard case .fragment(let f, let facts) = Self.build(F.appPayment()) else {
      Issue.record("no fragment")
      return
    }
    let inv = try #require(f.invoice)
    #expect(inv.externalID == "stripe_pi_1" && inv.customerExternalID == "u1")
    #expect(inv.lineItems[0].planExternalID == F.growthUSD.plan.externalID)
    #expect(inv.lineItems[0].servicePeriodStart == F.t("2026-01-10T12:00:00Z"))
    #expect(inv.lineItems[0].servicePeriodEnd == F.t("2026-02-10T12:00:00Z"))
    #expect(inv.transactions.map(\.externalID) == ["stripe_pi_1-payment"])
    #expect(facts?.customer == "u1" && facts?.gateway == "stripe")
  }

  @Test func moneyOutsideTheRulesIsRejected() {
    #expect(Self.reject(Self.build(F.appPayment(amount: -1))) == "bad_amount")
    let low = F.config { $0.rejectAmountAbove = 1000 }
    #expect(Self.reject(Self.build(F.appPayment(amount: 4900), config: low)) == "bad_amount")
    #expect(Self.reject(Self.build(F.appPayment(currency: "XXX"))) == "unknown_currency")
  }

  @Test func plansMustBeMappedAndInThePaymentsCurrency() {
    var p = F.appPayment()
    p.lines[0].planID = "price_unknown"
    #expect(Self.reject(Self.build(p)) == "unmapped_plan")
    #expect(Self.reject(Self.build(F.appPayment(currency: "EUR"))) == "plan_currency_mismatch")
  }

  @Test func refundsMayNotExceedThePayment() {
    var p = F.appPayment(amount: 1000)
    p.cumulativeRefund = 1500
    #expect(Self.reject(Self.build(p)) == "refund_exceeds_payment")
    p.cumulativeRefund = 400
    guard case .fragment(let f, _) = Self.build(p) else {
      Issue.record("no fragment")
      return
    }
    #expect(f.invoice?.transactions.last?.externalID == "stripe_pi_1-refund-400")
  }

  @Test func testCustomersAreSkippedAndUnknownPayersRejected() {
    let qa = F.index(users: [F.user("u1", email: "qa@x.io", created: "2025-01-01T00:00:00Z", test: true)])
    guard case .skip(let code, _) = Self.build(F.appPayment(), customers: qa) else {
      Issue.record("no skip")
      return
    }
    #expect(code == "test_data")
    var anonymous = F.appPayment()
    anonymous.appUserID = nil
    #expect(Self.reject(Self.build(anonymous)) == "no_customer")
  }
}

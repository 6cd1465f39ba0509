import RevenueCore
import Testing

@testable import TransformRules

/// Several records of one payment → one invoice (InvoiceAssembler.swift).
@Suite struct InvoiceAssemblerTests {
  typealias F = RuleFixtures

  static func fragment(_ role: Fragment.Role, source: Int, total: Int64 = 4900, refunded: Int64 = 0) -> Fragment {
    var p = F.appPayment(amount: total)
    p.role = role
    p.cumulativeRefund = refunded
    let customers = F.index(users: [F.user("u1", email: nil, created: "2025-01-01T00:00:00Z")])
    let fb = FragmentBuilder(config: F.config(), aliases: PaymentAliases(), planIntervals: [:])
    var trackers = BuildTrackers()
    guard
      case .fragment(let f, _) = fb.build(p, source: source, line: 1, trackers: &trackers, payer: customers.payer(of:))
    else { fatalError("fixture payment did not build") }
    return f
  }

  static func place(_ s: Int, _ l: Int) -> String { "source\(s):\(l)" }

  @Test func theAppRowDecidesAndTheLargestRefundFigureCounts() throws {
    let app = Self.fragment(.appTransaction, source: 0)
    let gateway = Self.fragment(.gatewayPayment, source: 1, refunded: 900)
    let (outcome, dups) = InvoiceAssembler.assemble([app, gateway], place: Self.place)
    guard case .invoice(let inv) = outcome else {
      Issue.record("rejected: \(outcome)")
      return
    }
    #expect(dups.isEmpty)
    #expect(inv.transactions.map(\.externalID) == ["stripe_pi_1-payment", "stripe_pi_1-refund-900"])
  }

  @Test func amountsThatDisagreeRejectWithBothPlaces() {
    let (outcome, _) = InvoiceAssembler.assemble(
      [Self.fragment(.appTransaction, source: 0), Self.fragment(.gatewayPayment, source: 1, total: 5000)],
      place: Self.place)
    guard case .rejected(let code, let reason) = outcome else {
      Issue.record("not rejected")
      return
    }
    #expect(code == "amount_conflict" && reason.contains("source0:1") && reason.contains("source1:1"))
  }

  @Test func theSameRecordTwiceIsADuplicate() {
    let a = Self.fragment(.gatewayPayment, source: 1)
    let (_, dups) = InvoiceAssembler.assemble([a, a], place: Self.place)
    #expect(dups == [1])
  }

  @Test func itemisedRefundsWinOverTheCumulativeFigure() {
    let itemised = [
      TransactionRecord(
        externalID: "r2", type: .refund, result: .successful, date: F.t("2026-02-02T00:00:00Z"), amountInCents: 1),
      TransactionRecord(
        externalID: "r1", type: .refund, result: .successful, date: F.t("2026-02-01T00:00:00Z"), amountInCents: 2),
    ]
    let r = InvoiceAssembler.refunds(
      key: "k", itemized: itemised + itemised, cumulative: 999, synced: 0, date: F.t("2026-02-01T00:00:00Z"))
    #expect(r.map(\.externalID) == ["r1", "r2"])
    let cumulative = InvoiceAssembler.refunds(
      key: "k", itemized: [], cumulative: 500, synced: 200, date: F.t("2026-02-01T00:00:00Z"))
    #expect(cumulative.map(\.externalID) == ["k-refund-500"] && cumulative[0].amountInCents == 300)
  }
}

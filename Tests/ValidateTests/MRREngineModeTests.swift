import RevenueCore
import Testing

/// The engine's two modes on hand-computed data: a monthly 10.00 subscription paid January to March
/// 2026 (periods Jan 1 – Apr 1), never renewed, never cancelled.
///
/// | mode | Jan | Feb | Mar | Apr | May | Jun |
/// |---|---|---|---|---|---|---|
/// | business truth (validate) | 1000 | 1000 | 1000 | 0 (churn Apr 1) | 0 | 0 |
/// | ChartMogul default (past due kept) | 1000 | 1000 | 1000 | 1000 | 1000 | 1000 |
/// | ChartMogul, auto-churn 30 days | 1000 | 1000 | 1000 | 0 (churn Apr 1) | 0 | 0 |
extension MRREngineTests {
  static let asOf = t("2026-12-01T00:00:00Z")
  static let firstHalf = YearMonth.range(month(2026, 1), month(2026, 6))

  func janToMar(_ sub: String = "s1", customer: String = "c1") -> [InvoiceRecord] {
    (1...3).map { m in
      invoice(
        "in_\(sub)_\(m)", customer, "2026-0\(m)-01",
        [self.sub(monthly, sub, "2026-0\(m)-01", "2026-0\(m + 1)-01", amount: 1000)])
    }
  }

  func engine(_ invoices: [InvoiceRecord], cancellations: [CancellationRecord] = [], mode: MRRMode) -> MRREngine {
    var e = MRREngine(fx: fx, mode: mode)
    for p in [monthly, pro] { e.add(p) }
    for c in cancellations { e.add(c) }
    for i in invoices { e.add(i) }
    return e
  }

  @Test func businessTruthChurnsASubscriptionNobodyRenewed() {
    let r = engine(janToMar(), mode: .businessTruth).finish()
    #expect(monthEnds(r, Self.firstHalf) == [1000, 1000, 1000, 0, 0, 0])
    #expect(r.monthly(Self.firstHalf)[3].movements[.churn] == -1000)
    #expect(engine(janToMar(), mode: .businessTruth).pastDue(at: Self.asOf, mode: .businessTruth).isEmpty)
  }

  @Test func chartMogulKeepsAPastDueSubscriptionUntilCancelled() {
    let mode = MRRMode.chartMogulDefault(asOf: Self.asOf)
    let e = engine(janToMar(), mode: mode)
    let r = e.finish()
    #expect(monthEnds(r, Self.firstHalf) == [1000, 1000, 1000, 1000, 1000, 1000])
    #expect(r.monthly(Self.firstHalf).map { $0.movements[.churn] } == [0, 0, 0, 0, 0, 0])
    #expect(r.monthly(Self.firstHalf).map(\.customers) == [1, 1, 1, 1, 1, 1])
    #expect(
      e.pastDue(at: Self.asOf, mode: mode)
        == [
          .init(
            customerExternalID: "c1", subscriptionExternalID: "s1", since: Self.t("2026-04-01"), mrr: 1000,
            currency: "USD")
        ])
    // Still covered on March 31: not past due yet.
    #expect(e.pastDue(at: Self.t("2026-03-31T23:59:59Z"), mode: mode).isEmpty)

    // A cancellation (May 15) ends it, and it is no longer past due after that.
    let cancel = CancellationRecord(
      customerExternalID: "c1", subscriptionExternalID: "s1", cancelledAt: Self.t("2026-05-15"))
    let cancelled = engine(janToMar(), cancellations: [cancel], mode: mode)
    #expect(monthEnds(cancelled.finish(), Self.firstHalf) == [1000, 1000, 1000, 1000, 0, 0])
    #expect(cancelled.finish().monthly(Self.firstHalf)[4].movements[.churn] == -1000)
    #expect(cancelled.pastDue(at: Self.asOf, mode: mode).isEmpty)
    #expect(cancelled.pastDue(at: Self.t("2026-05-01"), mode: mode).count == 1)
  }

  @Test func chartMogulAutoChurnDatesTheChurnAtTheEndOfTheLastPeriod() {
    let mode = MRRMode.chartMogul(autoChurnDays: 30, asOf: Self.asOf)
    let r = engine(janToMar(), mode: mode).finish()
    #expect(monthEnds(r, Self.firstHalf) == [1000, 1000, 1000, 0, 0, 0])
    #expect(r.mrr(at: Self.t("2026-03-31T23:59:59Z")) == 1000)
    #expect(r.mrr(at: Self.t("2026-04-01T00:00:00Z")) == 0)
    // Seen on April 20 (20 days past due), ChartMogul has not churned it yet.
    let early = engine(janToMar(), mode: .chartMogul(autoChurnDays: 30, asOf: Self.t("2026-04-20"))).finish()
    #expect(early.mrr(at: Self.t("2026-04-15")) == 1000)
    // A renewal 19 days late is inside a 30-day window (no churn), outside a 10-day one.
    let late = [
      invoice("l1", "c1", "2026-01-01", [sub(monthly, "s1", "2026-01-01", "2026-02-01", amount: 1000)]),
      invoice("l2", "c1", "2026-02-20", [sub(monthly, "s1", "2026-02-20", "2026-03-20", amount: 1000)]),
    ]
    #expect(engine(late, mode: mode).finish().mrr(at: Self.t("2026-02-10")) == 1000)
    let strict = engine(late, mode: .chartMogul(autoChurnDays: 10, asOf: Self.asOf)).finish()
    #expect(strict.mrr(at: Self.t("2026-02-10")) == 0)
    #expect(strict.mrr(at: Self.t("2026-02-20")) == 1000)
    #expect(engine(late, mode: .businessTruth).finish().mrr(at: Self.t("2026-02-10")) == 0)
  }

  /// Stripe test mode: created and cancelled in the same second — the cancellation wins.
  @Test func aCancellationAtTheInstantALineStartsMeansItNeverCounts() {
    let start = "2026-06-01T10:00:00Z"
    let lines = [invoice("i1", "c1", start, [sub(monthly, "s1", start, "2026-07-01T10:00:00Z", amount: 1000)])]
    let cancel = CancellationRecord(customerExternalID: "c1", subscriptionExternalID: "s1", cancelledAt: Self.t(start))
    for mode in [
      MRRMode.businessTruth, .chartMogulDefault(asOf: Self.asOf), .chartMogul(autoChurnDays: 30, asOf: Self.asOf),
    ] {
      let r = engine(lines, cancellations: [cancel], mode: mode).finish()
      #expect(r.mrr(at: Self.t(start)) == 0)
      #expect(r.mrr(at: Self.t("2026-06-15")) == 0)
      #expect(r.monthly([Self.month(2026, 6)])[0].movements[.newBusiness] == 0)
    }
  }
}

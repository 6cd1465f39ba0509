import RevenueCore
import Testing

/// Hand-computed cases for the local MRR engine (docs/chartmogul.md "How ChartMogul computes MRR").
@Suite struct MRREngineTests {
  static let usd = Currency("USD")!
  let fx = FXTable(reporting: usd, rates: ["EGP": 0.0205, "EUR": 1.08, "JPY": 0.0067])

  static func t(_ s: String) -> Timestamp { Timestamp.parse(s)! }
  static func month(_ y: Int, _ m: Int) -> YearMonth { YearMonth(year: y, month: m) }

  let monthly = PlanRecord(name: "Starter", intervalCount: 1, intervalUnit: .month, currency: "USD")
  let pro = PlanRecord(name: "Pro", intervalCount: 1, intervalUnit: .month, currency: "USD")
  let yearly = PlanRecord(name: "Starter", intervalCount: 1, intervalUnit: .year, currency: "USD")
  let quarterly = PlanRecord(name: "Starter", intervalCount: 3, intervalUnit: .month, currency: "USD")
  let weekly = PlanRecord(name: "Weekly", intervalCount: 7, intervalUnit: .day, currency: "USD")
  let egp = PlanRecord(name: "Growth", intervalCount: 1, intervalUnit: .month, currency: "EGP")

  func sub(
    _ plan: PlanRecord, _ sub: String, _ start: String, _ end: String, amount: Int64, tax: Int64 = 0,
    prorated: Bool = false
  ) -> LineItemRecord {
    LineItemRecord(
      type: .subscription, amountInCents: amount, taxAmountInCents: tax, subscriptionExternalID: sub,
      planExternalID: plan.externalID, servicePeriodStart: Self.t(start), servicePeriodEnd: Self.t(end),
      prorated: prorated)
  }

  func invoice(_ id: String, _ customer: String, _ date: String, _ lines: [LineItemRecord], currency: String = "USD")
    -> InvoiceRecord
  {
    InvoiceRecord(
      externalID: id, customerExternalID: customer, date: Self.t(date), currency: currency, lineItems: lines,
      transactions: [
        TransactionRecord(externalID: "tx_" + id, type: .payment, result: .successful, date: Self.t(date))
      ],
      gateway: "stripe")
  }

  func engine(_ invoices: [InvoiceRecord], cancellations: [CancellationRecord] = []) -> MRREngine {
    var e = MRREngine(fx: fx)
    for p in [monthly, pro, yearly, quarterly, weekly, egp] { e.add(p) }
    for c in cancellations { e.add(c) }
    for i in invoices { e.add(i) }
    return e
  }

  func monthEnds(_ r: MRRResult, _ months: [YearMonth]) -> [Int64] { r.monthly(months).map(\.mrr) }

  @Test func lineRulesTaxIntervalsAndRounding() {
    // (1190 − 190) × 1 = 1000
    #expect(
      MRRRules.lineMRR(sub(monthly, "s", "2026-01-01", "2026-02-01", amount: 1190, tax: 190), plan: monthly) == 1000)
    // yearly 120000 / 12 = 10000; 1002 / 12 = 83.5 → 84 (half away from zero); 1000 / 12 = 83.33 → 83
    #expect(MRRRules.lineMRR(sub(yearly, "s", "2026-01-01", "2027-01-01", amount: 120_000), plan: yearly) == 10_000)
    #expect(MRRRules.lineMRR(sub(yearly, "s", "2026-01-01", "2027-01-01", amount: 1002), plan: yearly) == 84)
    #expect(MRRRules.lineMRR(sub(yearly, "s", "2026-01-01", "2027-01-01", amount: 1000), plan: yearly) == 83)
    #expect(MRRRules.roundedDivision(-1002, 12) == -84)
    // quarterly (33000 − 3000) / 3 = 10000
    #expect(
      MRRRules.lineMRR(sub(quarterly, "s", "2026-01-01", "2026-04-01", amount: 33_000, tax: 3000), plan: quarterly)
        == 10_000)
    // 7-day plan: 700 × 30 / 7 = 3000
    #expect(MRRRules.lineMRR(sub(weekly, "s", "2026-01-01", "2026-01-08", amount: 700), plan: weekly) == 3000)
    // one-time lines have no MRR
    #expect(MRRRules.lineMRR(LineItemRecord(type: .oneTime, amountInCents: 5000), plan: monthly) == nil)
    // prorated: 1548 for Jan 16 → Feb 1 (16 days) of a 31-day period: 1548 × 31 / 16 = 2999.25 → 2999
    #expect(
      MRRRules.lineMRR(sub(monthly, "s", "2026-01-16", "2026-02-01", amount: 1548, prorated: true), plan: monthly)
        == 2999)
  }

  @Test func monthlyWithTaxRunsUntilLastPeriodEnds() {
    let lines = ["01", "02", "03"].map { m in
      invoice(
        "in_\(m)", "c1", "2026-\(m)-01",
        [
          sub(
            monthly, "sub1", "2026-\(m)-01",
            "2026-\(m)-01".replacingOccurrences(of: "-\(m)-", with: "-0\(Int(m)! + 1)-"), amount: 1190, tax: 190)
        ])
    }
    let r = engine(lines).finish()
    #expect(monthEnds(r, YearMonth.range(Self.month(2025, 12), Self.month(2026, 4))) == [0, 1000, 1000, 1000, 0])
    let months = r.monthly([Self.month(2026, 1), Self.month(2026, 4)])
    #expect(months[0].movements[.newBusiness] == 1000)
    #expect(months[0].customers == 1)
    #expect(months[1].movements[.churn] == -1000)
    #expect(months[1].customers == 0)
    #expect(r.monthsWithData == YearMonth.range(Self.month(2026, 1), Self.month(2026, 4)))
  }

  @Test func yearlyAndQuarterlyPlansSpreadOverTheirPeriod() {
    let r = engine([
      invoice("in_y", "c1", "2026-01-10", [sub(yearly, "sy", "2026-01-10", "2027-01-10", amount: 120_000)]),
      invoice(
        "in_q", "c2", "2026-02-01", [sub(quarterly, "sq", "2026-02-01", "2026-05-01", amount: 33_000, tax: 3000)]),
    ]).finish()
    // Jan: 10000; Feb–Apr: 10000 + 10000; May: the quarter ended without renewal.
    #expect(
      monthEnds(r, YearMonth.range(Self.month(2026, 1), Self.month(2026, 5))) == [
        10_000, 20_000, 20_000, 20_000, 10_000,
      ])
    #expect(r.mrr(at: Self.t("2027-01-09T23:59:59Z")) == 10_000)
    #expect(r.mrr(at: Self.t("2027-01-10T00:00:00Z")) == 0)
  }

  @Test func cancellationMidPeriodStopsMRRAtTheCancellation() {
    let c = CancellationRecord(
      customerExternalID: "c1", subscriptionExternalID: "sub1", cancelledAt: Self.t("2026-02-15T12:00:00Z"))
    let r = engine(
      [
        invoice("in_1", "c1", "2026-01-01", [sub(monthly, "sub1", "2026-01-01", "2026-02-01", amount: 5000)]),
        invoice("in_2", "c1", "2026-02-01", [sub(monthly, "sub1", "2026-02-01", "2026-03-01", amount: 5000)]),
      ], cancellations: [c]
    ).finish()
    #expect(r.mrr(at: Self.t("2026-02-15T11:59:59Z")) == 5000)
    #expect(r.mrr(at: Self.t("2026-02-15T12:00:00Z")) == 0)
    let m = r.monthly([Self.month(2026, 1), Self.month(2026, 2)])
    #expect(m.map(\.mrr) == [5000, 0])
    #expect(m[1].movements[.churn] == -5000)
  }

  @Test func oneTimeLinesAndRefundsDoNotChangeMRR() {
    var inv = invoice(
      "in_1", "c1", "2026-01-05",
      [
        sub(monthly, "sub1", "2026-01-05", "2026-02-05", amount: 2500),
        LineItemRecord(type: .oneTime, amountInCents: 20_000, description: "Onboarding"),
      ])
    inv.transactions.append(
      TransactionRecord(
        externalID: "re_1", type: .refund, result: .successful, date: Self.t("2026-01-20"), amountInCents: 1000))
    let e = engine([inv])
    #expect(e.issues.oneTimeLines == 1)
    #expect(e.finish().mrr(at: Self.month(2026, 1).endInstant) == 2500)
  }

  @Test func twoCurrenciesConvertWithTheFXTable() {
    let r = engine([
      invoice("in_u", "c1", "2026-01-01", [sub(monthly, "su", "2026-01-01", "2026-02-01", amount: 1000)]),
      // 500.00 EGP × 0.0205 = 10.25 USD
      invoice(
        "in_e", "c2", "2026-01-01", [sub(egp, "se", "2026-01-01", "2026-02-01", amount: 50_000)], currency: "EGP"),
    ]).finish()
    let jan = r.monthly([Self.month(2026, 1)])[0]
    #expect(jan.mrr == 2025)
    #expect(jan.byCurrency == ["USD": 1000, "EGP": 50_000])
    #expect(jan.customers == 2)
    #expect(r.customerMRR(at: Self.month(2026, 1).endInstant) == ["c1": 1000, "c2": 1025])
    // zero-decimal: ¥1500 × 0.0067 = 10.05 USD
    #expect(fx.convert(1500, from: "JPY") == 1005)
    #expect(fx.convert(100, from: "CHF") == nil)
  }

  @Test func reactivationAfterCancellationAndAfterAGap() {
    let cancel = CancellationRecord(
      customerExternalID: "c1", subscriptionExternalID: "s1", cancelledAt: Self.t("2026-01-20"))
    let lines = [
      invoice("in_1", "c1", "2026-01-01", [sub(monthly, "s1", "2026-01-01", "2026-02-01", amount: 2000)]),
      // renewed right at the period end, after the cancellation: a reactivation on Feb 1
      invoice("in_2", "c1", "2026-02-01", [sub(monthly, "s1", "2026-02-01", "2026-03-01", amount: 2000)]),
      invoice("in_3", "c1", "2026-04-01", [sub(monthly, "s1", "2026-04-01", "2026-05-01", amount: 2000)]),
    ]
    let reactivated = engine(lines, cancellations: [cancel]).finish()
    #expect(reactivated.mrr(at: Self.t("2026-01-19T23:59:59Z")) == 2000)
    #expect(reactivated.mrr(at: Self.t("2026-01-20T00:00:00Z")) == 0)
    #expect(reactivated.mrr(at: Self.t("2026-02-01T00:00:00Z")) == 2000)
    let months = YearMonth.range(Self.month(2026, 1), Self.month(2026, 5))
    // March: the February period ended without renewal (churn); April's period reactivates.
    #expect(monthEnds(reactivated, months) == [0, 2000, 0, 2000, 0])
    let m = reactivated.monthly(months)
    #expect(m[0].movements[.newBusiness] == 2000)
    #expect(m[0].movements[.churn] == -2000)
    #expect(m[1].movements[.reactivation] == 2000)
    #expect(m[2].movements[.churn] == -2000)
    #expect(m[3].movements[.reactivation] == 2000)
    #expect(m[3].movements[.newBusiness] == 0)
    #expect(m[4].movements[.churn] == -2000)
  }

  @Test func laterOverlappingLineSupersedesTheEarlierOne() {
    // Upgrade mid-period without proration: Pro from Jan 16 replaces Basic for the overlap.
    let r = engine([
      invoice("in_1", "c1", "2026-01-01", [sub(monthly, "s1", "2026-01-01", "2026-02-01", amount: 1000)]),
      invoice("in_2", "c1", "2026-01-16", [sub(pro, "s1", "2026-01-16", "2026-02-16", amount: 3000)]),
    ]).finish()
    #expect(r.mrr(at: Self.t("2026-01-15T23:59:59Z")) == 1000)
    #expect(r.mrr(at: Self.t("2026-01-20")) == 3000)
    #expect(r.mrr(at: Self.t("2026-02-10")) == 3000)
    #expect(r.mrr(at: Self.t("2026-02-16")) == 0)
    #expect(r.monthly([Self.month(2026, 1)])[0].movements[.expansion] == 2000)
  }

  @Test func expansionAndContractionPerCustomer() {
    let r = engine([
      invoice("in_1", "c1", "2026-01-01", [sub(monthly, "s1", "2026-01-01", "2026-02-01", amount: 1000)]),
      invoice("in_2", "c1", "2026-02-01", [sub(monthly, "s1", "2026-02-01", "2026-03-01", amount: 1000)]),
      invoice("in_3", "c1", "2026-03-01", [sub(pro, "s1", "2026-03-01", "2026-04-01", amount: 3000)]),
      invoice("in_4", "c1", "2026-04-01", [sub(monthly, "s1", "2026-04-01", "2026-05-01", amount: 1500)]),
      // A second subscription of an active customer is expansion, not new business.
      invoice("in_5", "c1", "2026-04-10", [sub(monthly, "s2", "2026-04-10", "2026-05-10", amount: 500)]),
    ]).finish()
    let m = r.monthly(YearMonth.range(Self.month(2026, 1), Self.month(2026, 4)))
    #expect(m.map(\.mrr) == [1000, 1000, 3000, 2000])
    #expect(m[2].movements[.expansion] == 2000)
    #expect(m[3].movements[.contraction] == -1500)
    #expect(m[3].movements[.expansion] == 500)
    #expect(m[3].movements.net == -1000)
    #expect(m[0].movements[.newBusiness] == 1000)
  }

  @Test func proratedUpgradeLineCountsAtItsFullPeriodRate() {
    // $30 → $60 on Jan 16: the prorated line charges 30.97 for 16 of 31 days: 3097 × 31 / 16 = 6000.4 → 6000.
    let r = engine([
      invoice("in_1", "c1", "2026-01-01", [sub(monthly, "s1", "2026-01-01", "2026-02-01", amount: 3000)]),
      invoice("in_2", "c1", "2026-01-16", [sub(pro, "s1", "2026-01-16", "2026-02-01", amount: 3097, prorated: true)]),
    ]).finish()
    #expect(r.mrr(at: Self.t("2026-01-15T23:59:59Z")) == 3000)
    #expect(r.mrr(at: Self.month(2026, 1).endInstant) == 6000)
    #expect(r.monthly([Self.month(2026, 1)])[0].movements[.expansion] == 3000)
  }

  @Test func memoryGrowsWithSubscriptionsNotLinesAndOrderDoesNotMatter() {
    var invoices: [InvoiceRecord] = []
    for i in 0..<24 {
      let s = Timestamp.utc(2024, 1, 1)!.adding(months: i)
      let e = s.adding(months: 1)
      invoices.append(invoice("in_\(i)", "c1", s.iso8601, [sub(monthly, "s1", s.iso8601, e.iso8601, amount: 4900)]))
    }
    let forward = engine(invoices)
    #expect(forward.storedPoints == 2)
    let shuffled = engine(invoices.shuffled())
    #expect(shuffled.storedPoints == 2)
    let a = forward.finish()
    let b = shuffled.finish()
    let months = YearMonth.range(Self.month(2023, 12), Self.month(2026, 1))
    #expect(monthEnds(a, months) == monthEnds(b, months))
    #expect(a.mrr(at: Self.month(2025, 12).endInstant) == 4900)
    #expect(a.mrr(at: Self.month(2026, 1).endInstant) == 0)
  }

  @Test func dailySeriesReadsEndOfDay() {
    let r = engine([
      invoice(
        "in_1", "c1", "2026-01-31", [sub(monthly, "s1", "2026-01-31T10:00:00Z", "2026-02-28T10:00:00Z", amount: 1000)])
    ]).finish()
    let d = r.daily(from: Self.t("2026-01-30"), to: Self.t("2026-03-01"))
    #expect(d.first?.date == "2026-01-30")
    #expect(d.first?.mrr == 0)
    #expect(d[1].mrr == 1000)  // starts during Jan 31: counted at its end of day
    #expect(d.first { $0.date == "2026-02-27" }?.mrr == 1000)
    #expect(d.first { $0.date == "2026-02-28" }?.mrr == 0)
    #expect(d.count == 31)
  }

  @Test func unusableLinesAreCountedNotGuessed() {
    var noPlan = sub(monthly, "s1", "2026-01-01", "2026-02-01", amount: 1000)
    noPlan.planExternalID = "missing_usd_1month"
    var noPeriod = sub(monthly, "s2", "2026-01-01", "2026-02-01", amount: 1000)
    noPeriod.servicePeriodEnd = nil
    let e = engine([invoice("in_1", "c1", "2026-01-01", [noPlan, noPeriod])])
    #expect(e.issues.linesWithUnknownPlan == 1)
    #expect(e.issues.linesWithoutPeriod == 1)
    let chf = MRREngine(fx: FXTable(reporting: Self.usd, rates: [:]))
    var withCHF = chf
    withCHF.add(PlanRecord(name: "X", intervalCount: 1, intervalUnit: .month, currency: "CHF"))
    withCHF.add(
      InvoiceRecord(
        externalID: "i", customerExternalID: "c", date: Self.t("2026-01-01"), currency: "CHF",
        lineItems: [
          LineItemRecord(
            type: .subscription, amountInCents: 100, subscriptionExternalID: "s", planExternalID: "x_chf_1month",
            servicePeriodStart: Self.t("2026-01-01"), servicePeriodEnd: Self.t("2026-02-01"))
        ], transactions: [], gateway: "stripe"))
    #expect(withCHF.currenciesWithoutRate == ["CHF"])
  }
}

import ETLTestSupport
import Foundation
import RevenueCore
import Staging
import Testing

@testable import Transform
@testable import TransformRules

let ana = "5f0c6d1e-8a42-4b7e-9c1d-2e3f4a5b6c7d"
let omar = "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
let omarDuplicate = "aa11bb22-cc33-4d44-8e55-ff6677889900"
let fahad = "d1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6"
let nour = "3d4e5f6a-7b8c-4d9e-8f0a-1b2c3d4e5f6a"

@Suite struct TransformFixtureTests {
  @Test func stripeInvoiceFromAppStripeAndExportIsOneInvoiceWithItsRefund() async throws {
    let h = try TransformHarness.fixture("basic")
    try await h.transform()
    let inv = try #require(try h.invoices()["stripe_in_1RnC4aB7cD8eF9gH"])
    #expect(inv.customerExternalID == ana)
    #expect(inv.currency == "USD")
    #expect(inv.appTransactionID == "10000000-0000-4000-8000-000000000001")
    #expect(inv.lineItems.count == 1)
    let l = inv.lineItems[0]
    #expect(l.type == .subscription)
    #expect(l.amountInCents == 7298)
    #expect(l.taxAmountInCents == 896)
    #expect(l.discountAmountInCents == 711)
    #expect(l.planExternalID == "growth_usd_1month")
    #expect(l.subscriptionExternalID == "stripe_sub_1RmMq2bC3dE4fG5h")
    #expect(l.servicePeriodStart == ts("2026-03-01T08:00:00Z"))
    #expect(l.servicePeriodEnd == ts("2026-04-01T08:00:00Z"))
    // Payment + the Stripe refund object (itemised wins over the export's cumulative 20.00).
    #expect(
      inv.transactions.map(\.externalID) == [
        "stripe_in_1RnC4aB7cD8eF9gH-payment", "stripe_re_3RnC4eLm2Nb3Vc4X0aB1cD2e",
      ])
    #expect(inv.transactions[1].type == .refund)
    #expect(inv.transactions[1].amountInCents == 2000)
    #expect(inv.transactions[1].date == Timestamp(seconds: 1_774_017_112))
  }

  @Test func partialRefundInEGPFromCashierOnMergedCustomer() async throws {
    let h = try TransformHarness.fixture("basic")
    try await h.transform()
    let inv = try #require(try h.invoices()["cashier_TX-350117700101"])
    // Row belongs to the duplicate user (same e-mail, newer): merged under the oldest, Omar.
    #expect(inv.customerExternalID == omar)
    #expect(inv.currency == "EGP")
    #expect(inv.lineItems[0].amountInCents == 29900)  // 299.00 EGP in piastres
    #expect(inv.lineItems[0].planExternalID == "starter_egp_1month")
    let refunds = inv.transactions.filter { $0.type == .refund }
    #expect(refunds.count == 1)
    #expect(refunds[0].externalID == "cashier_TX-350117700104")
    #expect(refunds[0].amountInCents == 9950)  // -99.50 EGP, sign checked then made positive
    #expect(refunds[0].date == ts("2026-03-05T10:00:09Z"))
  }

  @Test func yearlyPlanGetsAYearOfServiceFromTheTransactionDate() async throws {
    let h = try TransformHarness.fixture("basic")
    try await h.transform()
    let inv = try #require(try h.invoices()["cashier_TX-900"])
    let l = inv.lineItems[0]
    #expect(l.planExternalID == "growth_egp_1year")
    #expect(l.servicePeriodStart == ts("2026-02-10T12:00:00Z"))
    #expect(l.servicePeriodEnd == ts("2027-02-10T12:00:00Z"))
    let plans = try h.lines("plans.ndjson").map { try PlanRecord(json: $0) }
    let yearly = try #require(plans.first { $0.externalID == "growth_egp_1year" })
    #expect(yearly.intervalUnit == .year && yearly.intervalCount == 1 && yearly.currency == "EGP")
    // One plan per name + currency + interval: Stripe and PayPal Growth USD share one plan.
    #expect(
      plans.filter { $0.name == "Growth" }.map(\.externalID).sorted()
        == ["growth_egp_1month", "growth_egp_1year", "growth_usd_1month"])
  }

  @Test func kwdAmountKeepsThreeDecimalsAndQuarterlyPlan() async throws {
    let h = try TransformHarness.fixture("basic")
    try await h.transform()
    let inv = try #require(try h.invoices()["stripe_ch_kwd_1"])
    #expect(inv.currency == "KWD")
    #expect(inv.lineItems[0].amountInCents == 45500)  // 45.500 KWD
    #expect(inv.lineItems[0].planExternalID == "pro_kwd_3month")
    #expect(inv.lineItems[0].servicePeriodEnd == ts("2026-04-10T00:00:00Z"))
  }

  @Test func appOnlyRefundAndAppRefundRowsGetDeterministicIds() async throws {
    let h = try TransformHarness.fixture("basic")
    try await h.transform()
    let invs = try h.invoices()
    let one = try #require(invs["stripe_pi_onetime_1"])
    #expect(one.lineItems[0].type == .oneTime)
    #expect(one.lineItems[0].description == "Onboarding workshop")
    #expect(one.lineItems[0].planExternalID == nil)
    #expect(one.transactions.last?.externalID == "stripe_pi_onetime_1-refund-5000")
    #expect(one.transactions.last?.amountInCents == 5000)
    // app.refund: cumulative 60.00 of which 20.00 already sent → a new refund of 40.00.
    let again = try #require(invs["stripe_ch_prev_1"])
    #expect(again.transactions.map(\.externalID) == ["stripe_ch_prev_1-payment", "stripe_ch_prev_1-refund-6000"])
    #expect(again.transactions[1].amountInCents == 4000)
  }

  @Test func rejectsAndSkipsNameTheirReasons() async throws {
    let h = try TransformHarness.fixture("basic")
    try await h.transform()
    let rejects = try h.diagnostics("rejects.ndjson")
    let byID = Dictionary(grouping: rejects, by: { $0.externalID ?? "" })
    let unmapped = try #require(byID["stripe_in_unmapped"]?.first)
    #expect(unmapped.code == "unmapped_plan")
    #expect(unmapped.reason.contains("price_mystery_usd"))
    #expect(unmapped.source == "postgres" && unmapped.file == "extract/postgres.ndjson")
    #expect(byID["stripe_in_eur_1"]?.first?.code == "plan_currency_mismatch")
    #expect(byID["stripe_ch_negative"]?.first?.code == "bad_amount")
    #expect(byID["stripe_ch_xyz"]?.first?.code == "unknown_currency")
    // The app says 10.00 USD, Stripe's charge 12.00 USD: both records rejected, both values named.
    let conflict = try #require(byID["stripe_ch_conflict"])
    #expect(conflict.count == 2)
    #expect(
      conflict.allSatisfy {
        $0.code == "amount_conflict" && $0.reason.contains("10.00 USD") && $0.reason.contains("12.00 USD")
      })
    let skipped = try h.diagnostics("skipped.ndjson")
    let codes = Dictionary(grouping: skipped, by: \.code).mapValues(\.count)
    // users.is_test user + its row, livemode false row, test_emails user + its row, Stripe
    // livemode false charge, Cashier mode=test row.
    #expect(codes["test_data"] == 7)
    #expect(codes["failed_payment"] == 2)  // app failed row, Cashier FAILURE
    #expect(codes["pending_payment"] == 2)  // app pending row, Cashier PENDING
    let m = try h.manifest()
    #expect(m.details["test_data_skipped"]?.int64Value == 7)
  }

  @Test func accountingBalancesPerSource() async throws {
    let h = try TransformHarness.fixture("basic")
    let result = try await h.transform()
    let m = try h.manifest()
    #expect(Set(m.bySource.keys) == ["cashier", "files", "paypal", "postgres", "stripe"])
    for (_, a) in m.bySource { #expect(a.isBalanced) }
    #expect(m.bySource["postgres"]?.input == 24)
    #expect(m.bySource["cashier"] == Accounting(input: 7, output: 4, rejected: 0, skipped: 3))
    #expect(result.accounting.input == 42)
    let rejects = try h.diagnostics("rejects.ndjson").count
    let skipped = try h.diagnostics("skipped.ndjson").count
    #expect(result.accounting.rejected == rejects && result.accounting.skipped == skipped)
  }
}

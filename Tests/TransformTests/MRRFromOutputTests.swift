import Foundation
import RevenueCore
import Testing

@testable import Transform
@testable import TransformRules

/// MRR computed from the staged output by the ChartMogul rules (docs/chartmogul.md "How ChartMogul computes MRR"): per
/// subscription line, (amount − tax) normalised to one month by the plan interval, rounded to the
/// cent; one-time lines excluded; refunds do not change MRR; a cancelled subscription stops counting
/// at `cancelled_at`. A tiny local helper so this test does not depend on the shared MRR engine.
@Suite struct MRRFromOutputTests {
  static func mrr(
    at date: Timestamp, invoices: [InvoiceRecord], plans: [PlanRecord], cancellations: [CancellationRecord]
  )
    -> [String: Int64]
  {
    let planByID = Dictionary(uniqueKeysWithValues: plans.map { ($0.externalID, $0) })
    let cancelled = Dictionary(uniqueKeysWithValues: cancellations.map { ($0.subscriptionExternalID, $0.cancelledAt) })
    var out: [String: Int64] = [:]
    for inv in invoices {
      for l in inv.lineItems where l.type == .subscription {
        guard let s = l.servicePeriodStart, let e = l.servicePeriodEnd, s <= date, date < e,
          let plan = planByID[l.planExternalID ?? ""]
        else { continue }
        if let c = cancelled[l.subscriptionExternalID ?? ""], c <= date { continue }
        let months: Int64 =
          switch plan.intervalUnit {
          case .month: Int64(plan.intervalCount)
          case .year: Int64(plan.intervalCount) * 12
          case .day: 0
          }
        let net = l.amountInCents - l.taxAmountInCents
        let monthly = months > 0 ? (2 * net + months) / (2 * months) : net * 30 / Int64(plan.intervalCount)
        out[inv.currency, default: 0] += monthly
      }
    }
    return out
  }

  func run(_ overrides: String? = nil) async throws -> [String: Int64] {
    let h = try TransformHarness.fixture("basic", transformOverrides: overrides)
    try await h.transform()
    return Self.mrr(
      at: ts("2026-03-20T00:00:00Z"), invoices: Array(try h.invoices().values),
      plans: try h.lines("plans.ndjson").map { try PlanRecord(json: $0) },
      cancellations: try h.lines("cancellations.ndjson").map { try CancellationRecord(json: $0) })
  }

  @Test func mrrMatchesHandComputedFigures() async throws {
    let m = try await run()
    // USD: Stripe Growth (72.98 − 8.96 tax) = 64.02 + PayPal Growth 29.00 (refunds do not move MRR);
    //      one-time workshop and guest charge excluded.
    #expect(m["USD"] == Int64(6402 + 2900))
    // EGP: Starter 299.00 + Growth 1,490.00 + yearly Growth 2,990.00 / 12 = 249.17 (rounded).
    #expect(m["EGP"] == Int64(29900 + 149000 + 24917))
    // KWD: quarterly Pro (45.500 − 0.500) / 3 = 15.000.
    #expect(m["KWD"] == Int64(15000))
  }

  @Test func cancelDateStopsTheYearlySubscriptionEarlier() async throws {
    let m = try await run("churn_recognition: cancel_date")
    #expect(m["EGP"] == Int64(29900 + 149000))
  }
}

import ETLTestSupport
import Foundation
import RevenueCore
import Staging
import Testing

@testable import Transform

/// Lapse detection and never-invoiced cancellations (docs/chartmogul.md "Past-due subscriptions and
/// lapses"): ChartMogul keeps an unrenewed subscription's MRR until a cancellation arrives, so
/// transform sends one for a subscription whose last paid period ended long before the run's as-of.
@Suite struct LapseTests {
  typealias R = IncrementalRecords
  static let gus = "stripe:cus_Gus"

  static func asOf(_ iso: String) -> JSONObject { ["as_of": .string(iso)] }

  /// Gus pays one month of `sub_Gus` on 2026-02-03 (service period to 2026-03-06T08:00:00Z).
  static var gusPaysFebruary: [String: [String]] {
    [
      "stripe.ndjson": [
        R.stripeCustomer(
          "cus_Gus", email: "gus@example.org", name: "Gus Meyer", created: "2026-02-03T08:00:00Z", appUser: nil,
          country: nil),
        R.stripeSubscription("sub_Gus", customer: "cus_Gus", started: "2026-02-03T08:00:00Z"),
        R.stripeInvoice(
          "in_Gus1", customer: "cus_Gus", subscription: "sub_Gus", paid: "2026-02-03T08:00:00Z",
          email: "gus@example.org", country: nil),
      ]
    ]
  }

  static func harness(_ files: [String: [String]], asOf: String?, yaml: String = R.pipeline) throws -> TransformHarness
  {
    try TransformHarness(pipelineYAML: yaml, files: files, details: asOf.map(Self.asOf) ?? JSONObject())
  }

  func cancellations(_ h: TransformHarness) throws -> [CancellationRecord] {
    try h.lines("cancellations.ndjson").map { try CancellationRecord(json: $0) }
  }

  @Test("a subscription unpaid for 30+ days after its last period is cancelled at the end of that period")
  func lapseAtPeriodEnd() async throws {
    let h = try Self.harness(Self.gusPaysFebruary, asOf: "2026-04-15T00:00:00Z")
    let result = try await h.transform()
    let c = try cancellations(h)
    #expect(c.count == 1)
    #expect(c.first?.subscriptionExternalID == "stripe_sub_Gus")
    #expect(c.first?.cancelledAt == ts("2026-03-06T08:00:00Z"))
    #expect(c.first?.lapsed == true)
    #expect(c.first?.cancellationDates == [ts("2026-03-06T08:00:00Z")])
    #expect(try h.manifest().details["lapsed"]?.int64Value == 1)
    #expect(result.lines.contains { $0.hasPrefix("lapsed: 1 subscriptions") })
  }

  @Test("within lapse_after_days of its period end a subscription may still renew: nothing is sent")
  func noLapseWithinGrace() async throws {
    let h = try Self.harness(Self.gusPaysFebruary, asOf: "2026-04-04T00:00:00Z")
    try await h.transform()
    #expect(try cancellations(h).isEmpty)
    #expect(try h.manifest().details["lapsed"]?.int64Value == 0)
  }

  @Test("churn_recognition: cancel_date dates a lapse when it became certain (period end + lapse_after_days)")
  func lapseOnCancelDate() async throws {
    let yaml = R.pipeline.replacingOccurrences(
      of: "churn_recognition: period_end", with: "churn_recognition: cancel_date\n  lapse_after_days: 10")
    let h = try Self.harness(Self.gusPaysFebruary, asOf: "2026-04-15T00:00:00Z", yaml: yaml)
    try await h.transform()
    #expect(try cancellations(h).map(\.cancelledAt) == [ts("2026-03-16T08:00:00Z")])
  }

  @Test("lapse_after_days: ~ switches lapse detection off; an extract without an as-of leaves it off")
  func switchedOff() async throws {
    let yaml = R.pipeline + "\n  lapse_after_days: ~\n"
    let off = try Self.harness(Self.gusPaysFebruary, asOf: "2026-09-01T00:00:00Z", yaml: yaml)
    let result = try await off.transform()
    #expect(try cancellations(off).isEmpty)
    #expect(result.lines.contains("lapse detection: off (transform.lapse_after_days: ~)"))
    let noAsOf = try Self.harness(Self.gusPaysFebruary, asOf: nil)
    try await noAsOf.transform()
    #expect(try cancellations(noAsOf).isEmpty)
  }

  @Test("a subscription whose payments were all loaded in earlier runs still lapses, once")
  func lapseAcrossRuns() async throws {
    let r1 = try Self.harness(Self.gusPaysFebruary, asOf: "2026-03-01T00:00:00Z")
    try await r1.transform()
    #expect(try cancellations(r1).isEmpty)
    let r2 = try r1.nextRun("r2", files: ["stripe.ndjson": []], details: Self.asOf("2026-05-01T00:00:00Z"))
    try await r2.transform()
    #expect(try cancellations(r2).map(\.subscriptionExternalID) == ["stripe_sub_Gus"])
    #expect(try cancellations(r2).first?.customerExternalID == Self.gus)
    let r3 = try r2.nextRun("r3", files: ["stripe.ndjson": []], details: Self.asOf("2026-06-01T00:00:00Z"))
    try await r3.transform()
    #expect(try cancellations(r3).isEmpty, "a lapse is sent once, not every night")
  }

  @Test("a payment after a lapse withdraws the lapse cancellation (full cancellation_dates, empty)")
  func paymentWithdrawsLapse() async throws {
    let r1 = try Self.harness(Self.gusPaysFebruary, asOf: "2026-05-01T00:00:00Z")
    try await r1.transform()
    #expect(try cancellations(r1).first?.lapsed == true)
    let june = [
      "stripe.ndjson": [
        R.stripeInvoice(
          "in_Gus2", customer: "cus_Gus", subscription: "sub_Gus", paid: "2026-06-01T08:00:00Z", email: nil,
          country: nil)
      ]
    ]
    let r2 = try r1.nextRun("r2", files: june, details: Self.asOf("2026-06-10T00:00:00Z"))
    try await r2.transform()
    let c = try cancellations(r2)
    #expect(c.count == 1)
    #expect(c.first?.withdrawn == true)
    #expect(c.first?.cancellationDates == [])
    #expect(c.first?.cancelledAt == ts("2026-03-06T08:00:00Z"))
    #expect(try r2.manifest().details["lapse_withdrawn"]?.int64Value == 1)

    // Rerunning r2's transform after a later run gives the same bytes (history is a staged input).
    let before = try r2.bytes("cancellations.ndjson")
    let index = try r2.bytes(SubscriptionHistory.fileName)
    let r3 = try r2.nextRun("r3", files: ["stripe.ndjson": []], details: Self.asOf("2026-09-01T00:00:00Z"))
    try await r3.transform()
    #expect(try cancellations(r3).map(\.cancelledAt) == [ts("2026-07-02T08:00:00Z")], "it stopped paying again")
    let again = try r3.forRun("r2")
    try await again.transform()
    #expect(try again.bytes("cancellations.ndjson") == before)
    #expect(try again.bytes(SubscriptionHistory.fileName) == index)
  }

  @Test("an app subscription left past_due for months, its payments stopped, is cancelled at its last period's end")
  func appPastDueForMonths() async throws {
    let lina = "7d1f0c2a-3b4e-4f5a-8b6c-9d0e1f2a3b4c"
    let files = [
      "postgres.ndjson": [
        R.appUser(lina, email: "lina@example.com", name: "Lina Haddad", created: "2025-11-02T10:00:00+00:00"),
        R.appPayPalPayment(
          user: lina, email: "lina@example.com", id: "PAYID-1", date: "2026-01-10T09:00:00+00:00", country: "JO"),
        R.appPayPalPayment(
          user: lina, email: "lina@example.com", id: "PAYID-2", date: "2026-02-10T09:00:00+00:00", country: "JO"),
        R.appPayPalPayment(
          user: lina, email: "lina@example.com", id: "PAYID-3", date: "2026-03-10T09:00:00+00:00", country: "JO"),
      ]
    ]
    let h = try Self.harness(files, asOf: "2026-08-01T00:00:00Z")
    try await h.transform()
    let c = try cancellations(h)
    #expect(c.map(\.subscriptionExternalID) == ["paypal_I-LINA0001"])
    #expect(c.first?.cancelledAt == ts("2026-04-10T09:00:00Z"))
    #expect(c.first?.customerExternalID == lina)
  }

  /// A Stripe subscription cancelled at period end, with only a test-mode invoice.
  static var cancelledTestModeOnly: [String: [String]] {
    var sub = try! JSONParser.parse(
      R.stripeSubscription("sub_Test", customer: "cus_Gus", started: "2026-02-03T08:00:00Z"))
    var record = sub["record"]!.objectValue!
    record["status"] = "canceled"
    record["canceled_at"] = .int(R.time("2026-02-20T08:00:00Z"))
    record["ended_at"] = .int(R.time("2026-02-20T08:00:00Z"))
    var envelope = sub.objectValue!
    envelope["record"] = .object(record)
    sub = .object(envelope)
    var invoice = try! JSONParser.parse(
      R.stripeInvoice(
        "in_Test", customer: "cus_Gus", subscription: "sub_Test", paid: "2026-02-03T08:00:00Z", email: nil, country: nil
      ))
    var inv = invoice["record"]!.objectValue!
    inv["livemode"] = false
    var env2 = invoice.objectValue!
    env2["record"] = .object(inv)
    invoice = .object(env2)
    return [
      "stripe.ndjson": Self.gusPaysFebruary["stripe.ndjson"]! + [JSONWriter.string(sub), JSONWriter.string(invoice)]
    ]
  }

  @Test(
    "a cancellation of a subscription that never had an invoice (test mode only) is skipped with a reason, never sent")
  func neverInvoicedCancellationIsSkipped() async throws {
    let h = try Self.harness(Self.cancelledTestModeOnly, asOf: "2026-03-01T00:00:00Z")
    try await h.transform()
    #expect(try cancellations(h).isEmpty)
    let skipped = try h.diagnostics("skipped.ndjson").filter { $0.code == "subscription_never_invoiced" }
    #expect(skipped.count == 1)
    #expect(skipped.first?.externalID == "stripe_sub_Test")
    #expect(try h.manifest().accounting.isBalanced)
  }

  @Test("a source's cancellation of a subscription cancelled as lapsed replaces the lapse date; it never lapses again")
  func sourceCancellationReplacesLapse() async throws {
    let r1 = try Self.harness(Self.gusPaysFebruary, asOf: "2026-05-01T00:00:00Z")
    try await r1.transform()
    var sub = try JSONParser.parse(
      R.stripeSubscription("sub_Gus", customer: "cus_Gus", started: "2026-02-03T08:00:00Z"))
    var record = sub["record"]!.objectValue!
    record["status"] = "canceled"
    record["canceled_at"] = .int(R.time("2026-02-25T08:00:00Z"))
    record["ended_at"] = .int(R.time("2026-03-06T08:00:00Z"))
    var envelope = sub.objectValue!
    envelope["record"] = .object(record)
    sub = .object(envelope)
    let r2 = try r1.nextRun(
      "r2", files: ["stripe.ndjson": [JSONWriter.string(sub)]], details: Self.asOf("2026-05-02T00:00:00Z"))
    try await r2.transform()
    let c = try cancellations(r2)
    #expect(c.count == 1)
    #expect(c.first?.lapsed == false)
    #expect(c.first?.cancellationDates == [ts("2026-03-06T08:00:00Z")])
    let r3 = try r2.nextRun("r3", files: ["stripe.ndjson": []], details: Self.asOf("2026-09-01T00:00:00Z"))
    try await r3.transform()
    #expect(try cancellations(r3).isEmpty)
  }
}

import RevenueCore
import Testing

@testable import TransformRules

/// `churn_recognition` (Cancellations.swift): when a cancelled subscription churns.
@Suite struct CancellationsTests {
  typealias F = RuleFixtures

  static func cancelled(requested: String? = "2026-03-01T00:00:00Z", endsAt: String? = nil, periodEnd: String? = nil)
    -> SubscriptionInfo
  {
    var s = SubscriptionInfo(gateway: "stripe", id: "sub_1", priority: 1)
    s.cancelled = true
    s.requestedAt = requested.map(F.t)
    s.endsAt = endsAt.map(F.t)
    s.periodEnd = periodEnd.map(F.t)
    return s
  }

  @Test func periodEndChurnsAtTheLatestPaidPeriodEndAnySourceShows() {
    let s = Self.cancelled(periodEnd: "2026-03-10T00:00:00Z")
    let invoices = F.t("2026-04-10T00:00:00Z")
    #expect(Cancellations.cancelledAt(s, tracked: invoices, rule: .periodEnd) == invoices)
    #expect(Cancellations.cancelledAt(s, tracked: nil, rule: .periodEnd) == F.t("2026-03-10T00:00:00Z"))
  }

  @Test func periodEndPrefersTheActualEndAndFallsBackToTheRequest() {
    let ended = Self.cancelled(endsAt: "2026-03-05T00:00:00Z", periodEnd: "2026-03-10T00:00:00Z")
    #expect(Cancellations.cancelledAt(ended, tracked: nil, rule: .periodEnd) == F.t("2026-03-05T00:00:00Z"))
    let bare = Self.cancelled()
    #expect(Cancellations.cancelledAt(bare, tracked: nil, rule: .periodEnd) == F.t("2026-03-01T00:00:00Z"))
  }

  @Test func cancelDateChurnsWhenTheCustomerAsked() {
    let s = Self.cancelled(endsAt: "2026-03-05T00:00:00Z", periodEnd: "2026-03-10T00:00:00Z")
    #expect(Cancellations.cancelledAt(s, tracked: nil, rule: .cancelDate) == F.t("2026-03-01T00:00:00Z"))
    let noRequest = Self.cancelled(requested: nil, periodEnd: "2026-03-10T00:00:00Z")
    #expect(Cancellations.cancelledAt(noRequest, tracked: nil, rule: .cancelDate) == F.t("2026-03-10T00:00:00Z"))
  }

  @Test func theDefaultIsPeriodEndAndEveryChoiceIsAConfigValue() {
    #expect(ChurnRecognition.default == .periodEnd)
    #expect(ChurnRecognition.allCases.map(\.rawValue) == ["period_end", "cancel_date"])
  }

  @Test func aPayPalPeriodEndIsTheLastPaymentPlusThePlanInterval() {
    var s = SubscriptionInfo(gateway: "paypal", id: "I-1", priority: 1)
    s.planID = "P-1"
    s.lastPayment = F.t("2026-01-15T00:00:00Z")
    let mapped = Cancellations.derivedPeriodEnd(s, planMapping: ["P-1": F.growthUSD], planIntervals: [:])
    #expect(mapped == F.t("2026-02-15T00:00:00Z"))
    let gatewayOwn = Cancellations.derivedPeriodEnd(s, planMapping: [:], planIntervals: ["P-1": (.year, 1)])
    #expect(gatewayOwn == F.t("2027-01-15T00:00:00Z"))
    #expect(Cancellations.derivedPeriodEnd(s, planMapping: [:], planIntervals: [:]) == nil)
  }

  @Test func aTestCustomerSkipsAndAnUnknownOneRejects() {
    var s = Self.cancelled()
    s.appUserID = "qa"
    let customers = F.index(users: [F.user("qa", email: "qa@x.io", created: "2025-01-01T00:00:00Z", test: true)])
    guard
      case .skip(let code, _) = Cancellations.cancellation(
        key: s.key, group: [s], customers: customers, planIntervals: [:], trackers: BuildTrackers(),
        state: Self.invoiced(s))
    else {
      Issue.record("expected a skip")
      return
    }
    #expect(code == "test_data")
    s.appUserID = nil
    guard
      case .reject(let rc, _) = Cancellations.cancellation(
        key: s.key, group: [s], customers: customers, planIntervals: [:], trackers: BuildTrackers(),
        state: Self.invoiced(s))
    else {
      Issue.record("expected a reject")
      return
    }
    #expect(rc == "no_customer")
  }

  /// The subscription as a run that wrote one invoice for it knows it.
  static func invoiced(_ s: SubscriptionInfo) -> SubscriptionState {
    SubscriptionState(subscription: s.key, customer: "someone", paidThrough: F.t("2026-02-01T00:00:00Z"))
  }

  @Test func aSubscriptionNeverInvoicedIsSkippedNotSent() {
    var s = Self.cancelled()
    s.appUserID = "u1"
    let customers = F.index(users: [F.user("u1", email: "u1@x.io", created: "2025-01-01T00:00:00Z", test: false)])
    guard
      case .skip(let code, let reason) = Cancellations.cancellation(
        key: s.key, group: [s], customers: customers, planIntervals: [:], trackers: BuildTrackers(), state: nil)
    else {
      Issue.record("expected a skip")
      return
    }
    #expect(code == "subscription_never_invoiced")
    #expect(reason.contains("nothing to cancel"))
    guard
      case .cancellation(let rec) = Cancellations.cancellation(
        key: s.key, group: [s], customers: customers, planIntervals: [:], trackers: BuildTrackers(),
        state: Self.invoiced(s))
    else {
      Issue.record("expected a cancellation")
      return
    }
    #expect(rec.cancellationDates == nil)
  }
}

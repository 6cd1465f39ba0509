/// How a subscription that stops renewing without a cancellation is counted.
///
/// ChartMogul's default "Handling past-due subscriptions" setting keeps such a subscription active,
/// contributing its last MRR with the customer "Past Due", until a cancellation arrives
/// (https://help.chartmogul.com/article/303-handling-past-due-subscriptions;
/// https://dev.chartmogul.com/docs/adding-paused-subscriptions: "Subscriptions are active in
/// ChartMogul until they are explicitly canceled"). A source may opt in to "automatically cancel
/// subscriptions that are N days past due or missing a renewal invoice". The business's own view
/// (what `validate` compares ChartMogul with) is that a subscription nobody pays for any more has
/// churned. See docs/chartmogul.md, "Sandbox fidelity".
public enum MRRMode: Sendable, Hashable {
  /// The business truth: a subscription is active only while a paid service period covers the
  /// instant; without a renewal it churns at the end of its last period (a gap churns and the next
  /// period reactivates). Cancellations end MRR as in every mode.
  case businessTruth
  /// ChartMogul's rules as seen at `asOf`: once no period covers an instant the subscription is past
  /// due and keeps the MRR it had just before, until a cancellation or a new period. With
  /// `autoChurnDays` set, a subscription past due for at least that many days (up to the next
  /// period, or up to `asOf` when none followed) is churned instead, dated at the end of its last
  /// period — the instant the renewal went missing.
  case chartMogul(autoChurnDays: Int?, asOf: Timestamp)

  /// ChartMogul's default setting (no automatic churn).
  public static func chartMogulDefault(asOf: Timestamp) -> MRRMode { .chartMogul(autoChurnDays: nil, asOf: asOf) }
}

extension MRREngine {
  /// A subscription's MRR at `t` under `mode` (lines with the latest start win; see `MRREngine`).
  static func value(of segments: [Segment], cancellations: [Int64], at t: Int64, mode: MRRMode) -> Int64 {
    if let covered = coveredValue(of: segments, cancellations: cancellations, at: t) { return covered }
    guard case .chartMogul(let days, let asOf) = mode else { return 0 }
    guard let pastDueSince = segments.lazy.filter({ $0.end <= t }).map(\.end).max() else { return 0 }
    let held = coveredValue(of: segments, cancellations: cancellations, at: pastDueSince - 1) ?? 0
    if held == 0 { return 0 }
    if cancellations.contains(where: { $0 >= pastDueSince && $0 <= t }) { return 0 }
    if let days {
      let resumed = segments.lazy.filter({ $0.start > t }).map(\.start).min() ?? Int64.max
      if min(resumed, asOf.seconds) - pastDueSince >= Int64(days) * 86_400 { return 0 }
    }
    return held
  }

  /// The MRR of the lines covering `t`, nil when no line covers it. A cancellation at or after the
  /// latest covering start ends it — including one at the very instant a line starts (a subscription
  /// created and cancelled in the same second never counts); a line starting after it reactivates.
  static func coveredValue(of segments: [Segment], cancellations: [Int64], at t: Int64) -> Int64? {
    var latest = Int64.min
    for s in segments where s.start <= t && t < s.end { latest = max(latest, s.start) }
    guard latest != .min else { return nil }
    if let c = cancellations.last(where: { $0 <= t }), latest <= c { return 0 }
    var sum: Int64 = 0
    for s in segments where s.start == latest && t < s.end { sum += s.mrr }
    return sum
  }

  /// A subscription ChartMogul still counts although no paid period covers `at` and no
  /// cancellation was sent (ChartMogul mode only; the validate drill-down names them).
  public struct PastDue: Sendable, Hashable {
    public var customerExternalID: String
    public var subscriptionExternalID: String
    /// End of the last paid service period: past due from this instant.
    public var since: Timestamp
    /// MRR ChartMogul keeps counting, in the subscription's currency (minor units).
    public var mrr: Int64
    public var currency: String

    public init(
      customerExternalID: String, subscriptionExternalID: String, since: Timestamp, mrr: Int64, currency: String
    ) {
      self.customerExternalID = customerExternalID
      self.subscriptionExternalID = subscriptionExternalID
      self.since = since
      self.mrr = mrr
      self.currency = currency
    }
  }

  /// Subscriptions past due at `t` under `mode` (empty for `.businessTruth`), sorted by customer.
  /// `mode` may differ from the engine's own: validate computes the business truth and asks which
  /// subscriptions ChartMogul still counts.
  public func pastDue(at t: Timestamp, mode: MRRMode) -> [PastDue] {
    guard case .chartMogul = mode else { return [] }
    var out: [PastDue] = []
    for (key, tl) in timelines where tl.lineCount > 0 {
      let segments = tl.allSegments
      guard MRREngine.coveredValue(of: segments, cancellations: tl.cancellations, at: t.seconds) == nil else {
        continue
      }
      let v = MRREngine.value(of: segments, cancellations: tl.cancellations, at: t.seconds, mode: mode)
      guard v != 0, let since = segments.lazy.filter({ $0.end <= t.seconds }).map(\.end).max() else { continue }
      out.append(
        PastDue(
          customerExternalID: key.customer, subscriptionExternalID: key.subscription, since: Timestamp(seconds: since),
          mrr: v, currency: tl.currency ?? ""))
    }
    return out.sorted {
      ($0.customerExternalID, $0.subscriptionExternalID) < ($1.customerExternalID, $1.subscriptionExternalID)
    }
  }
}

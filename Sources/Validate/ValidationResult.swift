import RevenueCore

/// One month: local MRR against ChartMogul's entry for the month's last day.
public struct MonthComparison: Sendable {
  public var local: MonthlyMRR
  /// ChartMogul's MRR; nil when ChartMogul returned no entry for the month (counted as 0).
  public var remoteMRR: Int64?
  public var remoteMovements: MovementTotals?

  init(local: MonthlyMRR, remote: MetricsClient.MRREntry?) {
    self.local = local
    self.remoteMRR = remote?.mrr
    self.remoteMovements = remote?.movements
  }

  public var difference: Int64 { local.mrr - (remoteMRR ?? 0) }

  /// |local − ChartMogul| / |ChartMogul|; 0 when both are 0, 1 (100 %) when only ChartMogul is 0.
  public var variance: Double {
    let r = remoteMRR ?? 0
    if r == 0 { return local.mrr == 0 ? 0 : 1 }
    return Double(difference.magnitude) / Double(r.magnitude)
  }

  public var json: JSONValue {
    var o = JSONObject()
    o["month"] = .string(local.month.description)
    o["date"] = .string(local.month.lastDay)
    o["local"] = local.json
    o["chartmogul_mrr"] = remoteMRR.map { .int($0) } ?? .null
    o["chartmogul_movements"] = remoteMovements?.json ?? .null
    o["difference"] = .int(difference)
    o["variance"] = JSONNumber.value(variance)
    return .object(o)
  }
}

/// A customer whose MRR differs between the local engine and ChartMogul.
public struct CustomerDifference: Sendable, Hashable {
  public var externalID: String
  public var local: Int64
  public var chartMogul: Int64?
  /// Subscriptions of this customer ChartMogul still counts as past due (no paid period covers now,
  /// no cancellation sent) while the business has churned them: the likely cause of the difference.
  public var pastDue: [MRREngine.PastDue] = []
  public var difference: Int64 { local - (chartMogul ?? 0) }

  /// What to do about a past-due subscription ChartMogul still counts.
  public static let pastDueAdvice =
    "let lapse detection cancel it (transform.lapse_after_days) or lower lapse_after_days"

  /// The `limit` customers with the largest absolute difference (ties by external id).
  static func top(local: [String: Int64], remote: [String: Int64], limit: Int) -> [CustomerDifference] {
    var all: [CustomerDifference] = []
    for id in Set(local.keys).union(remote.keys) {
      let d = CustomerDifference(externalID: id, local: local[id] ?? 0, chartMogul: remote[id])
      if d.difference != 0 { all.append(d) }
    }
    all.sort {
      $0.difference.magnitude != $1.difference.magnitude
        ? $0.difference.magnitude > $1.difference.magnitude : $0.externalID < $1.externalID
    }
    return Array(all.prefix(limit))
  }

  public var json: JSONValue {
    [
      "external_id": .string(externalID), "local_mrr": .int(local),
      "chartmogul_mrr": chartMogul.map { .int($0) } ?? .null, "difference": .int(difference),
      "past_due": .array(
        pastDue.map { p in
          [
            "subscription_external_id": .string(p.subscriptionExternalID), "past_due_since": .string(p.since.iso8601),
            "mrr": .int(p.mrr), "currency": .string(p.currency), "what_to_do": .string(Self.pastDueAdvice),
          ]
        }),
    ]
  }
}

/// The outcome of `validate`, also written to `runs/<id>/validate.json`.
public struct ValidationResult: Sendable {
  public static let fileName = "validate.json"
  public var runID: String
  /// False when any month's variance is above the threshold (the CLI exits 1).
  public var passed: Bool
  public var threshold: Double
  public var reportingCurrency: String
  public var months: [MonthComparison]
  public var maxVariance: Double
  public var drillDown: [CustomerDifference]
  /// The instant customer MRR was compared at (ChartMogul's customer `mrr` is current MRR).
  public var drillDownAt: Timestamp?
  public var issues: MRREngine.Issues
  public var subscriptions: Int
  public var invoices: Int
  public var path: String

  public var json: JSONValue {
    var o = JSONObject()
    o["schema_version"] = 1
    o["run_id"] = .string(runID)
    o["passed"] = .bool(passed)
    o["threshold"] = JSONNumber.value(threshold)
    o["max_variance"] = JSONNumber.value(maxVariance)
    o["reporting_currency"] = .string(reportingCurrency)
    o["months"] = .array(months.map(\.json))
    o["drill_down"] = .array(drillDown.map(\.json))
    o["drill_down_at"] = drillDownAt.map { .string($0.iso8601) } ?? .null
    o["engine"] = [
      "issues": issues.json, "subscriptions": .int(subscriptions), "invoices": .int(invoices),
    ]
    return .object(o)
  }

  /// One-screen summary lines for the CLI.
  public var lines: [String] {
    var out: [String] = []
    let cur = reportingCurrency
    let e = Currency(cur)?.exponent ?? 2
    for m in months {
      let r = m.remoteMRR.map { Money.format($0, exponent: e) } ?? "—"
      out.append(
        "\(m.local.month)  local \(Money.format(m.local.mrr, exponent: e)) \(cur)  ChartMogul \(r)  variance \(ValidateStage.percent(m.variance))"
      )
    }
    if months.isEmpty { out.append("no complete month with subscription MRR to compare yet") }
    out.append(
      (passed ? "passed" : "FAILED")
        + ": max variance \(ValidateStage.percent(maxVariance)), threshold \(ValidateStage.percent(threshold))")
    if !drillDown.isEmpty {
      out.append("customers differing most (local vs ChartMogul):")
      for d in drillDown {
        out.append(
          "  \(d.externalID)  \(Money.format(d.local, exponent: e)) vs \(d.chartMogul.map { Money.format($0, exponent: e) } ?? "absent")"
        )
        for p in d.pastDue {
          let amount = Money.format(p.mrr, exponent: Currency(p.currency)?.exponent ?? 2)
          out.append(
            "    subscription \(p.subscriptionExternalID) past due since \(p.since.dateString), ChartMogul still counts \(amount) \(p.currency): \(CustomerDifference.pastDueAdvice)"
          )
        }
      }
    }
    return out
  }
}

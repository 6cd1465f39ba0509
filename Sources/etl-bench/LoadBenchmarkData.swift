// Transform output for `etl-bench load`: what the app pipeline stages for ChartMogul.
import Foundation
import RevenueCore
import Staging

enum BenchData {
  /// The app's custom attributes (Transform's enrichment keys) with their ChartMogul types.
  static let customKeys: [(String, CustomAttribute.Kind)] = [
    ("acquisition_channel", .string), ("acquisition_date", .timestamp), ("referrer_id", .string),
    ("last_login", .timestamp), ("total_logins", .integer), ("ai_generations_total", .integer),
    ("projects_created", .integer), ("last_active", .timestamp), ("primary_gateway", .string),
    ("support_tickets", .integer), ("satisfaction_score", .decimal),
  ]
  static let plans = [
    PlanRecord(name: "Starter", intervalCount: 1, intervalUnit: .month, currency: "USD"),
    PlanRecord(name: "Growth", intervalCount: 1, intervalUnit: .month, currency: "EUR"),
  ]

  static func attributes(_ c: Int, changed: Bool) -> AttributeRecord {
    let base = Timestamp.utc(2023, 6, 1)!.adding(days: c % 300)
    var custom: [CustomAttribute] = []
    for (k, (key, type)) in customKeys.enumerated() {
      let value: JSONValue
      switch type {
      case .string: value = .string(key == "primary_gateway" ? "stripe" : "\(key)-\(c % 7)")
      case .timestamp: value = .string(base.adding(days: k).iso8601)
      case .integer: value = .int(Int64((c * (k + 3)) % 500 + (changed && key == "total_logins" ? 1000 : 0)))
      case .decimal: value = .number(String(format: "%.1f", Double(c % 50) / 10))
      case .boolean: value = .bool(c % 2 == 0)
      }
      custom.append(CustomAttribute(type: type, key: key, value: value))
    }
    var tags = ["stripe", c % 2 == 0 ? "DE" : "US"]
    if changed { tags.append("power-user") }
    return AttributeRecord(customerExternalID: "bench-user-\(c)", tags: tags, custom: custom)
  }

  /// Writes and publishes the run's `transform/`. `incremental`: one invoice in 1,000 gets a refund,
  /// one subscription in 1,000 is cancelled and one customer in 50 has changed attributes (all on
  /// records earlier runs loaded). Returns a one-line description.
  static func write(run: RunFolder, shape: LoadBenchmark.Shape, incremental: Bool) throws -> String {
    let b = try StageBuilder(run: run, stage: "transform")
    let pw = try b.writer("plans.ndjson")
    for p in plans { try pw.write(p.json) }
    let cw = try b.writer("customers.ndjson")
    let aw = try b.writer("attributes.ndjson")
    let iw = try b.writer("invoices.ndjson")
    let xw = try b.writer("cancellations.ndjson")
    var refunds = 0
    var cancellations = 0
    var changed = 0
    var n = 0
    for c in 0..<shape.customers {
      let cid = "bench-user-\(c)"
      try cw.write(
        CustomerRecord(
          externalID: cid, name: "Customer \(c)", email: "c\(c)@bench.example", country: c % 2 == 0 ? "DE" : "US",
          leadCreatedAt: Timestamp.utc(2023, 12, 1)!
        ).json)
      let change = incremental && c % 50 == 7
      if change { changed += 1 }
      try aw.write(attributes(c, changed: change).json)
      let plan = plans[c % 2]
      var last = Timestamp.utc(2024, 1, 1)!
      for m in 0..<shape.perCustomer {
        let date = Timestamp.utc(2024, 1, 1)!.adding(months: m)
        last = date.adding(months: 1)
        var txs = [
          TransactionRecord(externalID: "stripe_py_\(c)_\(m)", type: .payment, result: .successful, date: date)
        ]
        if incremental && n % 1000 == 3 {
          txs.append(
            TransactionRecord(
              externalID: "stripe_re_\(c)_\(m)", type: .refund, result: .successful, date: date.adding(days: 2),
              amountInCents: 1000))
          refunds += 1
        }
        let inv = InvoiceRecord(
          externalID: "stripe_in_\(c)_\(m)", customerExternalID: cid, date: date, currency: plan.currency,
          lineItems: [
            LineItemRecord(
              type: .subscription, externalID: "stripe_li_\(c)_\(m)", amountInCents: 4900, taxAmountInCents: 400,
              subscriptionExternalID: "stripe_sub_\(c)", planExternalID: plan.externalID, servicePeriodStart: date,
              servicePeriodEnd: last)
          ], transactions: txs, gateway: "stripe")
        try iw.write(inv.json)
        n += 1
      }
      if incremental && c % 1000 == 11 {
        try xw.write(
          CancellationRecord(customerExternalID: cid, subscriptionExternalID: "stripe_sub_\(c)", cancelledAt: last).json
        )
        cancellations += 1
      }
    }
    let records = shape.customers * 2 + n
    try b.publish(inputs: [], accounting: Accounting(input: records, output: records))
    return incremental
      ? "\(n.grouped) invoices as before, plus \(refunds.grouped) refunds and \(cancellations.grouped) cancellations on them, \(changed.grouped) customers with changed attributes"
      : "\(n.grouped) invoices, \(shape.customers.grouped) customers with attributes"
  }
}

import Foundation
import RevenueCore

extension SandboxEngine {
  /// The stored data without generated uuids, ids or creation times, with every list sorted by
  /// external ids: two sandboxes holding the same data give equal snapshots (and equal
  /// `JSONWriter` bytes) whatever order or retries got it there.
  func snapshot() -> JSONValue {
    func dsName(_ uuid: String) -> JSONValue {
      .string(index.dataSource[uuid].map { state.dataSources[$0].name } ?? uuid)
    }
    func customerExt(_ uuid: String) -> JSONValue {
      .string(index.customer[uuid].map { state.customers[$0].externalID } ?? uuid)
    }
    func planExt(_ uuid: String?) -> JSONValue {
      guard let u = uuid, let i = index.plan[u] else { return .null }
      return .string(state.plans[i].externalID)
    }
    func ts(_ s: Int64?) -> JSONValue { s.map { .string(Timestamp(seconds: $0).iso8601) } ?? .null }
    func sorted(_ list: [JSONValue], by keys: [String]) -> [JSONValue] {
      list.sorted { a, b in
        for k in keys {
          let x = a[k].map { JSONWriter.string($0) } ?? ""
          let y = b[k].map { JSONWriter.string($0) } ?? ""
          if x != y { return x < y }
        }
        return JSONWriter.string(a) < JSONWriter.string(b)
      }
    }

    let plans: [JSONValue] = state.plans.map { p in
      [
        "data_source": dsName(p.dataSourceUUID), "external_id": .string(p.externalID), "name": .string(p.name),
        "interval_count": .int(p.intervalCount), "interval_unit": .string(p.intervalUnit.rawValue),
      ]
    }
    var customers: [JSONValue] = []
    var attributes: [JSONValue] = []
    for c in state.customers {
      var o = JSONObject([
        "data_source": dsName(c.dataSourceUUID), "external_id": .string(c.externalID),
        "external_ids": .array(c.externalIDs.sorted().map { .string($0) }), "lead_created_at": ts(c.leadCreatedAt),
        "free_trial_started_at": ts(c.freeTrialStartedAt),
        "primary_contact": c.primaryContactJSON.flatMap { try? JSONParser.parse($0) } ?? .null,
      ])
      for k in Self.customerTextFields { o[k] = sbString(c.fields[k]) }
      customers.append(.object(o))
      var custom = JSONObject()
      for a in c.custom.sorted(by: { $0.key < $1.key }) {
        custom[a.key] = ["type": .string(a.type), "value": (try? JSONParser.parse(a.valueJSON)) ?? .null]
      }
      attributes.append([
        "customer_external_id": .string(c.externalID), "tags": .array(c.tags.sorted().map { .string($0) }),
        "custom": .object(custom),
      ])
    }
    let invoices: [JSONValue] = state.invoices.map { inv in
      let lines: [JSONValue] = inv.lineItems.map { li in
        [
          "type": .string(li.type), "external_id": sbString(li.externalID), "amount_in_cents": .int(li.amountInCents),
          "quantity": .int(li.quantity), "tax_amount_in_cents": .int(li.taxAmountInCents),
          "discount_amount_in_cents": .int(li.discountAmountInCents), "discount_code": sbString(li.discountCode),
          "plan_external_id": planExt(li.planUUID), "subscription_external_id": sbString(li.subscriptionExternalID),
          "subscription_set_external_id": sbString(li.subscriptionSetExternalID),
          "service_period_start": ts(li.servicePeriodStart), "service_period_end": ts(li.servicePeriodEnd),
          "prorated": .bool(li.prorated), "cancelled_at": ts(li.cancelledAt), "description": sbString(li.description),
          "transaction_fees_in_cents": sbInt(li.transactionFeesInCents),
        ]
      }
      let txs: [JSONValue] = inv.transactions.map { t in
        [
          "external_id": sbString(t.externalID), "type": .string(t.type), "date": ts(t.date),
          "result": .string(t.result), "amount_in_cents": sbInt(t.amountInCents),
        ]
      }
      return [
        "data_source": dsName(inv.dataSourceUUID), "external_id": .string(inv.externalID),
        "customer_external_id": customerExt(inv.customerUUID), "date": ts(inv.date), "due_date": ts(inv.dueDate),
        "currency": .string(inv.currency), "collection_method": sbString(inv.collectionMethod),
        "line_items": .array(lines), "transactions": .array(sorted(txs, by: ["date", "external_id"])),
      ]
    }
    let cancellations: [JSONValue] = state.subscriptions.compactMap { s in
      var dates = Set(s.cancellationDates)
      for ref in s.lineRefs { if let x = lineItem(ref)?.cancelledAt { dates.insert(x) } }
      guard !dates.isEmpty else { return nil }
      return [
        "customer_external_id": customerExt(s.customerUUID), "subscription_external_id": .string(s.externalID),
        "cancellation_dates": .array(dates.sorted().map { ts($0) }),
      ]
    }
    return [
      "data_sources": .array(state.dataSources.map { .string($0.name) }.sorted { $0.stringValue! < $1.stringValue! }),
      "plans": .array(sorted(plans, by: ["data_source", "external_id"])),
      "customers": .array(sorted(customers, by: ["data_source", "external_id"])),
      "attributes": .array(sorted(attributes, by: ["customer_external_id"])),
      "invoices": .array(sorted(invoices, by: ["data_source", "external_id"])),
      "cancellations": .array(sorted(cancellations, by: ["customer_external_id", "subscription_external_id"])),
    ]
  }

  func pendingImports() -> Int { state.imports.filter { $0.pendingPayload != nil }.count }

  func dataSourceUUID(named name: String) -> String? { state.dataSources.first { $0.name == name }?.uuid }

  func resetCounts() {
    totalRequests = 0
    pathCounts = [:]
  }
}

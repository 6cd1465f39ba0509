import ETLTestSupport
import Foundation
import RevenueCore

/// Sends transform-shaped records to a running sandbox over HTTP, the way ChartMogul's import API
/// takes them (plans, customers, invoices per customer, cancellations by subscription uuid). The
/// validate tests use it instead of the Load stage so they exercise only Validate.
struct SandboxFixture {
  let harness: SandboxHarness
  var planUUIDs: [String: String] = [:]
  var customerUUIDs: [String: String] = [:]
  var subscriptionUUIDs: [String: String] = [:]

  init(_ harness: SandboxHarness) { self.harness = harness }

  struct Failure: Error, CustomStringConvertible {
    var description: String
  }

  mutating func load(
    customers: [CustomerRecord], plans: [PlanRecord], invoices: [InvoiceRecord], cancellations: [CancellationRecord]
  ) async throws {
    let ds = harness.dataSourceUUID
    for p in plans {
      let r = try await harness.client.post(
        "/v1/plans",
        [
          "data_source_uuid": .string(ds), "name": .string(p.name), "interval_count": .int(p.intervalCount),
          "interval_unit": .string(p.intervalUnit.rawValue), "external_id": .string(p.externalID),
        ])
      guard r.status == 201, let uuid = r.json?["uuid"]?.stringValue else {
        throw Failure(description: "plan: \(r.status) \(r.text)")
      }
      planUUIDs[p.externalID] = uuid
    }
    for c in customers {
      let r = try await harness.client.post(
        "/v1/customers",
        [
          "data_source_uuid": .string(ds), "external_id": .string(c.externalID),
          "name": .string(c.name ?? c.externalID),
        ])
      guard r.status == 201, let uuid = r.json?["uuid"]?.stringValue else {
        throw Failure(description: "customer: \(r.status) \(r.text)")
      }
      customerUUIDs[c.externalID] = uuid
    }
    for inv in invoices { try await importInvoice(inv) }
    for c in cancellations {
      guard let sub = subscriptionUUIDs[c.subscriptionExternalID] else {
        throw Failure(description: "no subscription \(c.subscriptionExternalID)")
      }
      let r = try await harness.client.send(
        "PATCH", "/v1/import/subscriptions/\(sub)", json: ["cancelled_at": .string(c.cancelledAt.iso8601)])
      guard r.status == 202 else { throw Failure(description: "cancel: \(r.status) \(r.text)") }
    }
  }

  /// Imports one invoice (also used to alter a customer's data directly in "ChartMogul").
  mutating func importInvoice(_ inv: InvoiceRecord) async throws {
    guard let customer = customerUUIDs[inv.customerExternalID] else {
      throw Failure(description: "no customer \(inv.customerExternalID)")
    }
    guard case .object(var body) = inv.json else { return }
    body["gateway"] = nil
    body["app_transaction_id"] = nil
    body["data_source_uuid"] = .string(harness.dataSourceUUID)
    var lines: [JSONValue] = []
    for li in inv.lineItems {
      guard case .object(var l) = li.json else { continue }
      if let plan = li.planExternalID {
        l["plan_external_id"] = nil
        l["plan_uuid"] = .string(planUUIDs[plan] ?? "pl_missing")
      }
      lines.append(.object(l))
    }
    body["line_items"] = .array(lines)
    let r = try await harness.client.post("/v1/import/customers/\(customer)/invoices", ["invoices": [.object(body)]])
    guard r.status == 201 else { throw Failure(description: "invoice \(inv.externalID): \(r.status) \(r.text)") }
    for li in r.json?["invoices"]?[0]?["line_items"]?.arrayValue ?? [] {
      if let ext = li["subscription_external_id"]?.stringValue, let uuid = li["subscription_uuid"]?.stringValue {
        subscriptionUUIDs[ext] = uuid
      }
    }
  }
}

extension JSONValue {
  subscript(index: Int) -> JSONValue? {
    guard case .array(let a) = self, index < a.count else { return nil }
    return a[index]
  }
}

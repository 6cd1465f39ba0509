import Foundation
import RevenueCore
import Sandbox
import Staging
import Testing

@testable import Load

/// Cancellations on the documented endpoint, and records an import refused inside a customer.
@Suite(.serialized) struct LoadCancellationTests {
  @Test("a cancellation at the instant its service period starts is sent one second later, and once")
  func cancellationAtTheServicePeriodStart() async throws {
    let h = try await LoadHarness()
    var d = LoadData.make(customers: 2, invoicesPerCustomer: 1)
    let start = try #require(d.invoices[0].lineItems[0].servicePeriodStart)
    d.cancellations = [
      CancellationRecord(customerExternalID: "user-0000", subscriptionExternalID: "stripe_sub_0", cancelledAt: start)
    ]
    let run = try h.newRun(d, id: "s1")
    let r = try await h.load(run)
    #expect(r.accounting.failed == 0, "\(r.lines)")
    let c = try #require(try h.ledger(run).first { $0.kind == .cancellation })
    #expect(c.status == .confirmed)
    let sent = Timestamp(seconds: start.seconds + 1).iso8601
    #expect(c.fields["sent_cancelled_at"]?.stringValue == sent)
    let state = try await h.chartMogulState()
    #expect(
      state.subscriptions.contains { $0.hasPrefix("user-0000/stripe_sub_0") && $0.contains(String(sent.prefix(19))) })
    #expect(
      state.subscriptions.filter { $0.hasPrefix("user-0000/stripe_sub_0") }.first?.components(separatedBy: ",").count
        == 1)

    // Rerun of the same run after its ledger is gone (a lost answer): the history is set, not added to.
    try FileSystem.removeTree(run.path + "/load")
    let again = try await h.load(run)
    #expect(again.accounting.failed == 0, "\(again.lines)")
    #expect(try await h.chartMogulState() == state)
    await h.stop()
  }

  @Test("an ordinary cancellation is sent as the subscription's full cancellation history")
  func ordinaryCancellationKeepsItsInstant() async throws {
    let h = try await LoadHarness()
    let d = LoadData.make(customers: 1, invoicesPerCustomer: 2)
    let run = try h.newRun(d, id: "o1")
    _ = try await h.load(run)
    let c = try #require(try h.ledger(run).first { $0.kind == .cancellation })
    #expect(c.status == .confirmed && c.fields["sent_cancelled_at"] == nil)
    let counts = await h.sandbox.requestCounts()
    #expect(counts["PATCH /v1/import/subscriptions/{id}"] == 1)
    await h.stop()
  }

  static func unit() -> CustomerUnit {
    let d = LoadData.make(customers: 1, invoicesPerCustomer: 2)
    return CustomerUnit(
      customerExternalID: "user-0000", customer: d.customers[0], customerPending: true, invoices: d.invoices,
      attributes: d.attributes.first)
  }

  @Test("records an import refused inside an imported customer are failed, never confirmed")
  func refusedInsideStatusDetails() throws {
    let u = Self.unit()
    let detail: JSONValue = [
      "status": "imported", "customers": ["status": "imported"], "invoices": ["status": "failed"],
      "line_items": ["status": "imported"], "transactions": ["status": "failed"],
      "errors": [
        ["object": "invoices", "external_id": "stripe_ch_0_1", "field": "date", "message": "is in the future"],
        ["object": "transactions", "external_id": "stripe_py_0_0", "field": "date", "message": "is invalid"],
      ],
    ]
    let refused = RefusedRecords(detail: detail, unit: u, importID: "imp-1")
    #expect(refused.customer == nil)
    #expect(refused.invoice(u.invoices[0]) == nil)
    #expect(refused.invoice(u.invoices[1])?.contains("is in the future") == true)
    #expect(refused.transaction(u.invoices[0].transactions[0])?.contains("is invalid") == true)

    // A failed section that names no record fails all of that kind.
    let blanket = RefusedRecords(
      detail: ["status": "imported", "line_items": ["status": "failed"]], unit: u, importID: "imp-2")
    #expect(u.invoices.allSatisfy { blanket.invoice($0) != nil })
    #expect(RefusedRecords(detail: ["status": "imported"], unit: u, importID: "imp-3").isEmpty)
  }
}

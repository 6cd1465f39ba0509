import Foundation
import RevenueCore
import Sandbox
import Staging
import Testing

@testable import Load

/// Attributes and tags: inside the bulk customer object for new customers, only the changes later.
@Suite(.serialized) struct LoadAttributeTests {
  /// Customers with attributes, invoices, no cancellations and no refunds (so no follow-up is due).
  static func data(customers n: Int) -> LoadData {
    var d = LoadData.make(customers: n, invoicesPerCustomer: 2)
    d.cancellations = []
    d.invoices = d.invoices.map {
      var i = $0
      i.transactions = i.transactions.filter { $0.type == .payment }
      return i
    }
    return d
  }

  static func attributeRequests(_ counts: [String: Int]) -> [String: Int] {
    counts.filter { $0.key.contains("/attributes") || $0.key.hasPrefix("GET /v1/customers") }
  }

  @Test func newCustomersCarryTheirAttributesInTheBulkImport() async throws {
    let h = try await LoadHarness()
    let d = Self.data(customers: 12)
    let run = try h.newRun(d, id: "a1")
    let r = try await h.load(run)
    #expect(r.accounting.failed == 0, "\(r.lines)")
    let counts = await h.sandbox.requestCounts()
    #expect(Self.attributeRequests(counts).isEmpty, "no per-customer request: \(counts)")
    let attrs = try h.ledger(run).filter { $0.kind == .attributes }
    #expect(attrs.count == d.attributes.count)
    #expect(attrs.allSatisfy { $0.status == .confirmed && $0.fields["in_bulk"] == true })
    let state = try await h.chartMogulState()
    #expect(
      state.customers.filter { $0.contains("tags=[\"gateway:stripe\"]") && $0.contains("\"channel\":\"ads\"") }.count
        == 6)

    // A new run with the same records sends nothing at all.
    await h.sandbox.resetRequestCounts()
    let again = try await h.load(try h.newRun(d, id: "a2"))
    #expect(again.accounting.failed == 0)
    #expect(await h.sandbox.requestCount() == 0)
    await h.stop()
  }

  @Test func laterRunsSendOnlyWhatChangedOneRequestPerKind() async throws {
    let h = try await LoadHarness()
    var d = Self.data(customers: 8)
    _ = try await h.load(try h.newRun(d, id: "b1"))
    // Customer 0: a value changes (PUT), a key is new (POST), a tag goes (DELETE) and one comes (POST).
    d.attributes[0] = AttributeRecord(
      customerExternalID: "user-0000", tags: ["vip"],
      custom: [
        CustomAttribute(type: .string, key: "channel", value: "referral"),
        CustomAttribute(type: .integer, key: "projects", value: .int(4)),
      ])
    // Customer 2: only a tag is added. Customer 4: its custom attribute is removed. The rest: unchanged.
    d.attributes[1].tags.append("beta")
    d.attributes[2].custom = []
    await h.sandbox.resetRequestCounts()
    let run = try h.newRun(d, id: "b2")
    let r = try await h.load(run)
    #expect(r.accounting.failed == 0, "\(r.lines)")
    let counts = Self.attributeRequests(await h.sandbox.requestCounts())
    #expect(counts["PUT /v1/customers/{id}/attributes/custom"] == 1)
    #expect(counts["POST /v1/customers/{id}/attributes/custom"] == 1)
    #expect(counts["DELETE /v1/customers/{id}/attributes/custom"] == 1)
    #expect(counts["POST /v1/customers/{id}/attributes/tags"] == 2)
    #expect(counts["DELETE /v1/customers/{id}/attributes/tags"] == 1)
    #expect(counts["GET /v1/customers/{id}/attributes"] == nil, "the snapshots are remembered: \(counts)")
    #expect((counts["GET /v1/customers"] ?? 0) <= 3, "uuids: a lookup per changed customer at most: \(counts)")
    let state = try await h.chartMogulState()
    #expect(
      state.customers.contains {
        $0.hasPrefix("user-0000 tags=[\"vip\"]") && $0.contains("\"channel\":\"referral\"")
          && $0.contains("\"projects\":4")
      })
    #expect(state.customers.contains { $0.hasPrefix("user-0002 tags=[\"beta\", \"gateway:stripe\"]") })
    #expect(state.customers.contains { $0.hasPrefix("user-0004 tags=[\"gateway:stripe\"] custom={}") })

    // Unchanged since: nothing is sent.
    await h.sandbox.resetRequestCounts()
    _ = try await h.load(try h.newRun(d, id: "b3"))
    #expect(await h.sandbox.requestCount() == 0)
    await h.stop()
  }

  @Test("many changed customers: their uuids come from paging the customer list, not one GET each")
  func uuidsOfManyCustomersArePaged() async throws {
    let h = try await LoadHarness()
    var d = Self.data(customers: 80)
    _ = try await h.load(try h.newRun(d, id: "c1"))
    for k in d.attributes.indices { d.attributes[k].tags.append("cohort-2025") }
    await h.sandbox.resetRequestCounts()
    let r = try await h.load(try h.newRun(d, id: "c2"))
    #expect(r.accounting.failed == 0, "\(r.lines)")
    let counts = await h.sandbox.requestCounts()
    #expect(counts["GET /v1/customers"] == 1, "40 changed customers, one page of 200: \(counts)")
    #expect(counts["POST /v1/customers/{id}/attributes/tags"] == 40)
    await h.stop()
  }

  @Test("without a remembered snapshot, what ChartMogul holds is read once and only the difference sent")
  func withoutSnapshotTheAttributesAreReadFirst() async throws {
    let h = try await LoadHarness()
    var d = Self.data(customers: 4)
    _ = try await h.load(try h.newRun(d, id: "d1"))
    try FileSystem.removeTree(h.area.root + "/load-state")
    d.attributes[0].tags.append("vip")
    await h.sandbox.resetRequestCounts()
    let r = try await h.load(try h.newRun(d, id: "d2"))
    #expect(r.accounting.failed == 0, "\(r.lines)")
    let counts = Self.attributeRequests(await h.sandbox.requestCounts())
    #expect(counts["GET /v1/customers/{id}/attributes"] == 1)
    #expect(counts["POST /v1/customers/{id}/attributes/tags"] == 1)
    #expect(counts["POST /v1/customers/{id}/attributes/custom"] == nil)
    await h.stop()
  }

  @Test func diffRules() {
    let old = AttributeSnapshot(tags: ["A", "b"], custom: ["x": "1", "y": "\"s\""])
    let new = AttributeRecord(
      customerExternalID: "c", tags: ["a", "c"],
      custom: [
        CustomAttribute(type: .integer, key: "x", value: .int(2)), CustomAttribute(type: .string, key: "z", value: "t"),
      ])
    let d = AttributeDiff.between(old, new)
    #expect(d.changedCustom.map(\.key) == ["x"])
    #expect(d.newCustom.map(\.key) == ["z"])
    #expect(d.removedCustom == ["y"])
    #expect(d.addedTags == ["c"])
    #expect(d.removedTags == ["b"])
    #expect(d.requestCount == 5)
    #expect(AttributeDiff.between(AttributeSnapshot(new), new).isEmpty)
  }
}

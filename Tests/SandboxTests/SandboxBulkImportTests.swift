import ETLTestSupport
import Foundation
import RevenueCore
import Sandbox
import Testing

/// Bulk json_imports: asynchronous status, per-customer failures, payload limit.
@Suite struct SandboxBulkImportTests {
  static func payload(badCustomer: Bool) -> JSONValue {
    [
      "external_id": "batch-1",
      "customers": [
        ["external_id": "c1", "name": "One", "email": "one@example.com"],
        ["external_id": "c2", "name": "Two"],
      ],
      "plans": [["external_id": "pro_usd_1month", "name": "Pro", "interval_count": 1, "interval_unit": "month"]],
      "invoices": [
        ["external_id": "inv1", "customer_external_id": "c1", "date": "2025-01-01T00:00:00Z", "currency": "USD"],
        [
          "external_id": "inv2", "customer_external_id": "c2", "date": "2025-01-01T00:00:00Z",
          "currency": badCustomer ? "ZZZ" : "USD",
        ],
      ],
      "line_items": [
        [
          "invoice_external_id": "inv1", "type": "subscription", "plan_external_id": "pro_usd_1month",
          "subscription_external_id": "sub1", "service_period_start": "2025-01-01T00:00:00Z",
          "service_period_end": "2025-02-01T00:00:00Z", "amount_in_cents": 5950, "tax_amount_in_cents": 950,
        ],
        [
          "invoice_external_id": "inv2", "type": "subscription", "plan_external_id": "pro_usd_1month",
          "subscription_external_id": "sub2", "service_period_start": "2025-01-01T00:00:00Z",
          "service_period_end": "2025-02-01T00:00:00Z", "amount_in_cents": 5000,
        ],
      ],
      "transactions": [
        [
          "invoice_external_id": "inv1", "external_id": "pay1", "type": "payment", "result": "successful",
          "date": "2025-01-01T06:41:00Z",
        ]
      ],
      "subscription_events": [],
    ]
  }

  @Test func queuedThenCompletedWithPerCustomerFailure() async throws {
    try await withSandbox(SandboxOptions(processingDelay: 3)) { sb in
      let path = "/v1/data_sources/\(sb.dataSourceUUID)/json_imports"
      let r = try await sb.client.post(path, Self.payload(badCustomer: true))
      #expect(r.status == 200)
      #expect(r.json?["status"] == "queued")
      let id = try #require(r.json?["id"]?.stringValue)
      #expect(try await sb.client.get("\(path)/\(id)").json?["status"] == "queued")
      var seen: Set<String> = []
      var final: JSONValue?
      for _ in 0..<1000 {
        let s = try await sb.client.get("\(path)/\(id)")
        let status = s.json?["status"]?.stringValue ?? "?"
        seen.insert(status)
        if status == "completed" {
          final = s.json
          break
        }
        try await Task.sleep(nanoseconds: 10_000_000)
      }
      #expect(seen.contains("processing"))
      let done = try #require(final)
      let details = try #require(done["status_details"])
      #expect(details["plans"]?["status"] == "imported")
      #expect(details["c1"]?["status"] == "imported")
      #expect(details["c1"]?["invoices"]?["status"] == "imported")
      #expect(details["c2"]?["status"] == "failed")
      #expect(details["c2"]?["invoices"]?["status"] == "failed")
      let err = try #require(details["c2"]?["errors"]?.arrayValue?.first)
      #expect(err["object"] == "invoices")
      #expect(err["external_id"] == "inv2")
      #expect(err["field"] == "currency")
      // c1 imported (with MRR-relevant data), c2 not at all.
      #expect(try await sb.client.get("/v1/customers?external_id=c1").json?["entries"]?.arrayValue?.count == 1)
      #expect(try await sb.client.get("/v1/customers?external_id=c2").json?["entries"] == [])
      #expect(try await sb.client.get("/v1/invoices?external_id=inv1").json?["invoices"]?.arrayValue?.count == 1)
      // Also addressable by the request's external_id.
      #expect(try await sb.client.get("\(path)/batch-1").json?["id"]?.stringValue == id)
      // Reusing the import external id is refused.
      #expect(try await sb.client.post(path, Self.payload(badCustomer: false)).status == 422)
    }
  }

  @Test func secondImportUpsertsCustomersAndRejectsDuplicateInvoices() async throws {
    try await withSandbox(SandboxOptions(processingDelay: 0)) { sb in
      let path = "/v1/data_sources/\(sb.dataSourceUUID)/json_imports"
      #expect(try await sb.client.post(path, Self.payload(badCustomer: false)).status == 200)
      try await sb.waitForImports()
      let before = await sb.snapshot()
      var again = Self.payload(badCustomer: false).objectValue!
      again["external_id"] = "batch-2"
      let r = try await sb.client.post(path, .object(again))
      try await sb.waitForImports()
      let id = try #require(r.json?["id"]?.stringValue)
      let details = try #require(try await sb.client.get("\(path)/\(id)").json?["status_details"])
      #expect(details["c1"]?["status"] == "failed")
      let messages = (details["c1"]?["errors"]?.arrayValue ?? []).compactMap { $0["message"]?.stringValue }
      #expect(messages.contains("The external ID for this invoice already exists in our system."))
      #expect(await sb.snapshot() == before)
      // A later refund for an imported invoice links by invoice_external_id.
      let refund: JSONValue = [
        "transactions": [
          [
            "invoice_external_id": "inv1", "external_id": "re1", "type": "refund", "result": "successful",
            "date": "2025-01-20T00:00:00Z", "amount_in_cents": 1000,
          ]
        ]
      ]
      let rr = try await sb.client.post(path, refund)
      try await sb.waitForImports()
      let d2 = try await sb.client.get("\(path)/\(try #require(rr.json?["id"]?.stringValue))")
      #expect(d2.json?["status_details"]?["c1"]?["status"] == "imported")
    }
  }

  @Test func structuralErrorsAndPayloadLimit() async throws {
    try await withSandbox(SandboxOptions(maxPayloadBytes: 1_000_000)) { sb in
      let path = "/v1/data_sources/\(sb.dataSourceUUID)/json_imports"
      let unknown = try await sb.client.post(path, ["customers": [], "refunds": []])
      #expect(unknown.status == 422)
      #expect(unknown.json?["errors"]?["refunds"]?.stringValue?.contains("not a known field") == true)
      #expect(
        try await sb.client.post("/v1/data_sources/ds_nope/json_imports", ["customers": [["external_id": "x"]]]).status
          == 404)
      let events = try await sb.client.post(path, ["subscription_events": [["event_type": "subscription_start"]]])
      #expect(events.status == 422)
      // A body just over the limit: 413, connection still usable afterwards.
      let filler = String(repeating: "x", count: 1_000_001)
      let big = try await sb.client.post(path, ["external_id": .string(filler), "customers": []])
      #expect(big.status == 413)
      #expect(big.json?["message"]?.stringValue?.contains("limit") == true)
      #expect(try await sb.client.get("/v1/ping").status == 200)
    }
  }

  @Test func acceptsSixMegabyteBodies() async throws {
    // Default limit (5,000,000 bytes): a ~6 MB body is read completely and refused with 413.
    try await withSandbox { sb in
      let filler = String(repeating: "y", count: 6_000_000)
      let r = try await sb.client.post(
        "/v1/data_sources/\(sb.dataSourceUUID)/json_imports", ["external_id": .string(filler)])
      #expect(r.status == 413)
      // just under the limit: parsed and validated
      let under = String(repeating: "z", count: 4_900_000)
      let ok = try await sb.client.post(
        "/v1/data_sources/\(sb.dataSourceUUID)/json_imports",
        ["external_id": .string(under), "customers": [["external_id": "big"]]])
      #expect(ok.status == 200)
    }
  }
}

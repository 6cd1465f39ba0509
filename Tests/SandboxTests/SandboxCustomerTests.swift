import ETLTestSupport
import Foundation
import RevenueCore
import Sandbox
import Testing

/// Customers: create, duplicates, list filters, search, attributes, tags, merges.
@Suite struct SandboxCustomerTests {
  @Test func createListGetAndDuplicate() async throws {
    try await withSandbox { sb in
      let r = try await sb.client.post(
        "/v1/customers",
        [
          "data_source_uuid": .string(sb.dataSourceUUID), "external_id": "42", "name": "Nordlicht GmbH",
          "email": "billing@nordlicht.example", "country": "DE", "city": "Hamburg",
          "lead_created_at": "2025-09-02T08:00:00Z",
          "attributes": ["tags": ["gateway:stripe"], "custom": [["type": "Integer", "key": "seats", "value": 12]]],
        ])
      #expect(r.status == 201)
      let c = try #require(r.json)
      let uuid = try #require(c["uuid"]?.stringValue)
      #expect(uuid.hasPrefix("cus_"))
      #expect(c["status"] == "New Lead")
      #expect(c["mrr"] == 0)
      #expect(c["customer-since"] == .null)
      #expect(c["lead_created_at"] == "2025-09-02T08:00:00.000Z")
      #expect(c["attributes"]?["custom"] == ["seats": 12])
      #expect(c["attributes"]?["tags"] == ["gateway:stripe"])
      #expect(c["external_ids"] == ["42"])

      let dup = try await sb.client.post(
        "/v1/customers", ["data_source_uuid": .string(sb.dataSourceUUID), "external_id": "42"])
      #expect(dup.status == 422)
      #expect(dup.json?["errors"]?["external_id"] == "The external ID for this customer already exists in our system.")

      let list = try await sb.client.get("/v1/customers?data_source_uuid=\(sb.dataSourceUUID)&external_id=42")
      #expect(list.json?["entries"]?.arrayValue?.map { $0["uuid"] } == [.string(uuid)])
      #expect(list.json?["has_more"] == false)
      #expect(try await sb.client.get("/v1/customers?external_id=43").json?["entries"] == [])
      #expect(try await sb.client.get("/v1/customers/\(uuid)").json?["name"] == "Nordlicht GmbH")
      #expect(try await sb.client.get("/v1/customers/cus_missing").status == 404)
    }
  }

  @Test func createValidation() async throws {
    try await withSandbox { sb in
      let r = try await sb.client.post(
        "/v1/customers",
        [
          "data_source_uuid": .string(sb.dataSourceUUID), "country": "Germany", "nickname": "x",
          "lead_created_at": "yesterday", "attributes": ["custom": ["seats": 1]],
        ])
      #expect(r.status == 422)
      let e = try #require(r.json?["errors"]?.objectValue)
      #expect(e["external_id"] == "is required")
      #expect(e["country"]?.stringValue?.contains("alpha-2") == true)
      #expect(e["nickname"]?.stringValue?.contains("not a known field") == true)
      #expect(e["lead_created_at"]?.stringValue?.contains("ISO 8601") == true)
      #expect(e["attributes.custom"] == "must be an array")
    }
  }

  @Test func searchByEmail() async throws {
    try await withSandbox { sb in
      let uuid = try await sb.customer("7", email: "Ana@Example.com")
      let hit = try await sb.client.get("/v1/customers/search?email=ana%40example.com")
      #expect(hit.status == 200)
      #expect(hit.json?["entries"]?.arrayValue?.map { $0["uuid"] } == [.string(uuid)])
      let miss = try await sb.client.get("/v1/customers/search?email=nobody%40example.com")
      #expect(miss.status == 404)
      #expect(
        sameJSON(
          miss.json,
          ["code": 404, "message": "Can't find any customers with email: \"nobody@example.com\"", "param": "email"]))
    }
  }

  @Test func customAttributesAndTags() async throws {
    try await withSandbox { sb in
      let uuid = try await sb.customer("8")
      let add = try await sb.client.post(
        "/v1/customers/\(uuid)/attributes/custom",
        [
          "custom": [
            ["type": "String", "key": "channel", "value": "ads"], ["type": "Boolean", "key": "vip", "value": "t"],
            ["type": "Timestamp", "key": "first_seen", "value": "2025-01-31"],
          ]
        ])
      #expect(add.status == 200)
      #expect(
        sameJSON(add.json, ["custom": ["channel": "ads", "vip": true, "first_seen": "2025-01-31T00:00:00.000Z"]]))
      let put = try await sb.client.send(
        "PUT", "/v1/customers/\(uuid)/attributes/custom", json: ["custom": ["vip": false]])
      #expect(put.status == 200)
      #expect(put.json?["custom"]?["vip"] == false)
      let undefined = try await sb.client.send(
        "PUT", "/v1/customers/\(uuid)/attributes/custom", json: ["custom": ["plan_tier": "gold"]])
      #expect(undefined.status == 422)
      #expect(undefined.json?["errors"]?["custom.plan_tier"]?.stringValue?.contains("not defined") == true)
      let retype = try await sb.client.post(
        "/v1/customers/\(uuid)/attributes/custom", ["custom": [["type": "Integer", "key": "channel", "value": 3]]])
      #expect(retype.status == 422)
      let badValue = try await sb.client.post(
        "/v1/customers/\(uuid)/attributes/custom",
        ["custom": [["type": "Integer", "key": "seats", "value": .number("1.5")]]])
      #expect(badValue.status == 422)

      let tags = try await sb.client.post("/v1/customers/\(uuid)/attributes/tags", ["tags": ["a", "b"]])
      #expect(tags.json == ["tags": ["a", "b"]])
      let more = try await sb.client.post("/v1/customers/\(uuid)/attributes/tags", ["tags": ["b", "c"]])
      #expect(more.json == ["tags": ["a", "b", "c"]])
      // Not wrapped: {"tags":…, "stripe":…, "clearbit":…, "custom":…} (recorded ChartMogul responses).
      let attrs = try await sb.client.get("/v1/customers/\(uuid)/attributes")
      #expect(attrs.json?["tags"] == ["a", "b", "c"])
      #expect(attrs.json?["attributes"] == nil)
      let removed = try await sb.client.send(
        "DELETE", "/v1/customers/\(uuid)/attributes/tags", json: ["tags": ["b", "zz"]])
      #expect(removed.json == ["tags": ["a", "c"]])
    }
  }

  @Test func mergeMovesInvoicesAndAnswers202() async throws {
    try await withSandbox { sb in
      let plan = try await sb.plan("m")
      let a = try await sb.customer("stripe:cus_1")
      let b = try await sb.customer("9")
      let imp = try await sb.importInvoices(
        a,
        [
          invoice(
            "inv_a", date: "2025-01-01",
            lines: [subLine(plan: plan, sub: "s1", start: "2025-01-01", end: "2025-02-01", amount: 1000)])
        ])
      #expect(imp.status == 201)
      let merge = try await sb.client.post(
        "/v1/customers/merges",
        [
          "from": ["customer_uuid": .string(a)],
          "into": ["external_id": "9", "data_source_uuid": .string(sb.dataSourceUUID)],
        ])
      #expect(merge.status == 202)
      #expect(merge.json == [:])
      #expect(try await sb.client.get("/v1/customers/\(a)").status == 404)
      let merged = try await sb.client.get("/v1/customers/\(b)")
      #expect(merged.json?["external_ids"] == ["9", "stripe:cus_1"])
      let invs = try await sb.client.get("/v1/invoices?external_id=inv_a")
      #expect(invs.json?["invoices"]?.arrayValue?.first?["customer_uuid"]?.stringValue == b)
      let missing = try await sb.client.post(
        "/v1/customers/merges", ["from": ["customer_uuid": "cus_x"], "into": ["customer_uuid": .string(b)]])
      #expect(missing.status == 422)
    }
  }
}

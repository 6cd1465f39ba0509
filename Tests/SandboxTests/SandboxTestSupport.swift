import ETLTestSupport
import Foundation
import RevenueCore
import Sandbox
import Testing

/// Runs `body` against a fresh sandbox (one data source) and always stops it.
func withSandbox(
  _ options: SandboxOptions = SandboxOptions(), _ body: (SandboxHarness) async throws -> Void
) async throws {
  let sb = try await SandboxHarness.start(options: options)
  do {
    try await body(sb)
  } catch {
    await sb.stop()
    throw error
  }
  await sb.stop()
}

extension SandboxHarness {
  /// Creates a plan and returns its uuid.
  func plan(_ ext: String, unit: String = "month", count: Int = 1, name: String? = nil) async throws -> String {
    let r = try await client.post(
      "/v1/plans",
      [
        "data_source_uuid": .string(dataSourceUUID), "name": .string(name ?? ext), "interval_count": .int(count),
        "interval_unit": .string(unit), "external_id": .string(ext),
      ])
    try #require(r.status == 201, "plan create: \(r.text)")
    return try #require(r.json?["uuid"]?.stringValue)
  }

  /// Creates a customer and returns its uuid.
  func customer(_ ext: String, email: String? = nil) async throws -> String {
    var body: JSONObject = [
      "data_source_uuid": .string(dataSourceUUID), "external_id": .string(ext), "name": "Test Co",
    ]
    body.set("email", .optional(email))
    let r = try await client.post("/v1/customers", .object(body))
    try #require(r.status == 201, "customer create: \(r.text)")
    return try #require(r.json?["uuid"]?.stringValue)
  }

  /// Imports invoices for a customer; returns the reply.
  func importInvoices(_ customer: String, _ invoices: [JSONValue]) async throws -> SandboxTestClient.Reply {
    try await client.post("/v1/import/customers/\(customer)/invoices", ["invoices": .array(invoices)])
  }
}

/// A subscription line item (amount includes tax).
func subLine(
  plan: String, sub: String, start: String, end: String, amount: Int, tax: Int = 0, ext: String? = nil,
  quantity: Int = 1
) -> JSONValue {
  var o: JSONObject = [
    "type": "subscription", "plan_uuid": .string(plan), "subscription_external_id": .string(sub),
    "service_period_start": .string(start), "service_period_end": .string(end), "amount_in_cents": .int(amount),
    "tax_amount_in_cents": .int(tax), "quantity": .int(quantity),
  ]
  o.set("external_id", .optional(ext))
  return .object(o)
}

func invoice(_ ext: String, date: String, currency: String = "USD", lines: [JSONValue], transactions: [JSONValue] = [])
  -> JSONValue
{
  [
    "external_id": .string(ext), "date": .string(date), "currency": .string(currency), "line_items": .array(lines),
    "transactions": .array(transactions),
  ]
}

/// ISO timestamp `days` from now (for data that must be current or in the past).
func isoDays(_ days: Int) -> String {
  Timestamp(seconds: Int64(Date().timeIntervalSince1970)).startOfDay.adding(days: days).iso8601
}

/// Equal JSON regardless of object key order (compares `JSONWriter`'s sorted-key bytes).
func sameJSON(_ a: JSONValue?, _ b: JSONValue) -> Bool {
  guard let a else { return false }
  return JSONWriter.string(a) == JSONWriter.string(b)
}

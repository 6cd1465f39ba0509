import ETLTestSupport
import Foundation
import RevenueCore
import Sandbox
import Testing

/// Invoice import, invoice lookup, transactions, subscriptions and cancellations.
@Suite struct SandboxInvoiceTests {
  @Test func importAndLookup() async throws {
    try await withSandbox { sb in
      let plan = try await sb.plan("pro_usd_1month")
      let cus = try await sb.customer("1")
      let inv = invoice(
        "stripe_ch_1", date: "2025-01-05T10:12:00+02:00",
        lines: [
          subLine(
            plan: plan, sub: "stripe_sub_1", start: "2025-01-05", end: "2025-02-05", amount: 11900, tax: 1900,
            ext: "li_1"),
          ["type": "one_time", "amount_in_cents": 5000, "description": "Setup"],
        ],
        transactions: [
          ["type": "payment", "date": "2025-01-05T10:13:00Z", "result": "successful", "external_id": "tx_1"]
        ])
      let r = try await sb.importInvoices(cus, [inv])
      #expect(r.status == 201)
      let stored = try #require(r.json?["invoices"]?.arrayValue?.first)
      #expect(stored["date"] == "2025-01-05T08:12:00.000Z")  // offset honoured, stored UTC
      #expect(stored["errors"] == [:])
      let line = try #require(stored["line_items"]?.arrayValue?.first)
      #expect(line["subscription_uuid"]?.stringValue?.hasPrefix("sub_") == true)
      #expect(line["plan_uuid"]?.stringValue == plan)
      #expect(stored["transactions"]?.arrayValue?.first?["uuid"]?.stringValue?.hasPrefix("tr_") == true)

      let found = try await sb.client.get("/v1/invoices?external_id=stripe_ch_1")
      #expect(found.json?["invoices"]?.arrayValue?.first?["customer_uuid"]?.stringValue == cus)
      #expect(try await sb.client.get("/v1/invoices?external_id=other").json?["invoices"] == [])
      let perCustomer = try await sb.client.get("/v1/import/customers/\(cus)/invoices")
      #expect(perCustomer.json?["customer_uuid"]?.stringValue == cus)
      #expect(perCustomer.json?["invoices"]?.arrayValue?.count == 1)

      // Same external ids again: invoice-level duplicate message, nothing stored.
      let again = try await sb.importInvoices(cus, [inv])
      #expect(again.status == 422)
      let errs = try #require(again.json?["invoices"]?.arrayValue?.first?["errors"])
      #expect(errs["external_id"] == "The external ID for this invoice already exists in our system.")
      #expect(errs["line_items.external_id"] == "The external ID for this line item already exists in our system.")
      #expect(errs["transactions.external_id"] == "has already been taken")
    }
  }

  @Test func strictValidationIsAllOrNothing() async throws {
    try await withSandbox { sb in
      let plan = try await sb.plan("p")
      let cus = try await sb.customer("2")
      let good = invoice(
        "ok_1", date: "2025-02-01",
        lines: [subLine(plan: plan, sub: "s", start: "2025-02-01", end: "2025-03-01", amount: 100)])
      let bad: JSONValue = [
        "external_id": "bad_1", "date": "2025-02-01", "currency": "usd", "discount": 3,
        "line_items": [
          [
            "type": "subscription", "plan_uuid": "pl_unknown", "subscription_external_id": "s2",
            "service_period_start": "2025-03-01", "service_period_end": "2025-02-01",
            "amount_in_cents": .number("10.5"),
          ],
          ["type": "one_time", "amount_in_cents": 100, "tax_amount_in_cents": 200, "plan_uuid": .string(plan)],
        ],
      ]
      let r = try await sb.importInvoices(cus, [good, bad])
      #expect(r.status == 422)
      let reports = try #require(r.json?["invoices"]?.arrayValue)
      #expect(reports[0]["errors"] == [:])
      let e = try #require(reports[1]["errors"]?.objectValue)
      #expect(e["currency"]?.stringValue?.contains("ISO 4217") == true)
      #expect(e["discount"]?.stringValue?.contains("not a known field") == true)
      #expect(e["line_items.plan_uuid"]?.stringValue?.contains("does not exist") == true)
      #expect(e["line_items.service_period_end"] == "must be after service_period_start")
      #expect(e["line_items.amount_in_cents"]?.stringValue?.contains("integer") == true)
      #expect(e["line_items.tax_amount_in_cents"]?.stringValue?.contains("must not exceed") == true)
      #expect(e["line_items.plan_uuid"]?.stringValue?.contains("one_time") == true)
      #expect(try await sb.client.get("/v1/invoices?external_id=ok_1").json?["invoices"] == [])

      let missing = try await sb.importInvoices(cus, [["external_id": "x", "line_items": []]])
      let me = try #require(missing.json?["invoices"]?.arrayValue?.first?["errors"])
      #expect(me["date"] == "is required")
      #expect(me["currency"] == "is required")
      #expect(me["line_items"] == "must contain at least one line item")

      let noPlan = try await sb.importInvoices(
        cus,
        [
          invoice(
            "np", date: "2025-01-01",
            lines: [
              [
                "type": "subscription", "amount_in_cents": 1, "subscription_external_id": "s",
                "service_period_start": "2025-01-01", "service_period_end": "2025-02-01",
              ]
            ])
        ])
      #expect(noPlan.json?["invoices"]?.arrayValue?.first?["errors"]?["line_items.plan_uuid"] == "is required")

      let wrongCustomer = try await sb.importInvoices("cus_0001", [good])
      #expect(wrongCustomer.status == 404)
      #expect(wrongCustomer.json?["error"] == "Invoice not found")
    }
  }

  @Test func transactionsAndRefundLimit() async throws {
    try await withSandbox { sb in
      let plan = try await sb.plan("p")
      let cus = try await sb.customer("3")
      let r = try await sb.importInvoices(
        cus,
        [
          invoice(
            "inv_r", date: "2025-01-01",
            lines: [subLine(plan: plan, sub: "s", start: "2025-01-01", end: "2025-02-01", amount: 10000)])
        ])
      let inv = try #require(r.json?["invoices"]?.arrayValue?.first?["uuid"]?.stringValue)
      let path = "/v1/import/invoices/\(inv)/transactions"
      let partial = try await sb.client.post(
        path,
        [
          "type": "refund", "date": "2025-01-10", "result": "successful", "external_id": "re_1",
          "amount_in_cents": 4000,
        ])
      #expect(partial.status == 201)
      #expect(partial.json?["amount_in_cents"] == 4000)
      #expect(partial.json?["date"] == "2025-01-10T00:00:00.000Z")
      let dup = try await sb.client.post(
        path,
        ["type": "refund", "date": "2025-01-11", "result": "successful", "external_id": "re_1", "amount_in_cents": 1])
      #expect(dup.status == 422)
      #expect(dup.json?["errors"]?["external_id"] == "has already been taken")
      let over = try await sb.client.post(
        path,
        [
          "type": "refund", "date": "2025-01-12", "result": "successful", "external_id": "re_2",
          "amount_in_cents": 6001,
        ])
      #expect(over.status == 422)
      #expect(over.json?["errors"]?["amount_in_cents"]?.stringValue?.contains("exceed the invoiced amount") == true)
      let rest = try await sb.client.post(
        path,
        [
          "type": "refund", "date": "2025-01-12", "result": "successful", "external_id": "re_3",
          "amount_in_cents": 6000,
        ])
      #expect(rest.status == 201)
      let invalid = try await sb.client.post(path, ["type": "chargeback", "date": "2025-01-12", "result": "ok"])
      #expect(invalid.json?["errors"]?["type"]?.stringValue?.contains("payment, refund") == true)
      #expect(try await sb.client.post("/v1/import/invoices/inv_nope/transactions", ["type": "payment"]).status == 404)
    }
  }

  @Test func subscriptionsAndCancellation() async throws {
    try await withSandbox { sb in
      let plan = try await sb.plan("team_usd_1month", name: "Team")
      let cus = try await sb.customer("4")
      let start = isoDays(-40)
      let mid = isoDays(-10)
      let end = isoDays(20)
      _ = try await sb.importInvoices(
        cus,
        [
          invoice("i1", date: start, lines: [subLine(plan: plan, sub: "sub_a", start: start, end: mid, amount: 5000)]),
          invoice(
            "i2", date: mid, lines: [subLine(plan: plan, sub: "sub_a", start: mid, end: end, amount: 5000, quantity: 2)]
          ),
        ])
      let subs = try await sb.client.get("/v1/import/customers/\(cus)/subscriptions")
      let list = try #require(subs.json?["subscriptions"]?.arrayValue)
      #expect(list.count == 1)
      let sub = try #require(list.first?["uuid"]?.stringValue)
      #expect(list.first?["cancellation_dates"] == [])
      let metricsView = try await sb.client.get("/v1/customers/\(cus)/subscriptions")
      let entry = try #require(metricsView.json?["entries"]?.arrayValue?.first)
      #expect(entry["mrr"] == 5000)
      #expect(entry["status"] == "active")
      #expect(entry["plan"] == "Team")
      #expect(entry["quantity"] == 2)
      #expect(try await sb.client.get("/v1/customers/\(cus)").json?["mrr"] == 5000)

      let future = try await sb.client.send(
        "PATCH", "/v1/import/subscriptions/\(sub)", json: ["cancelled_at": .string(isoDays(5))])
      #expect(future.status == 422)
      #expect(future.json?["errors"]?["cancelled_at"] == "must be in the past")
      let cancelAt = isoDays(-1)
      let cancel = try await sb.client.send(
        "PATCH", "/v1/import/subscriptions/\(sub)", json: ["cancelled_at": .string(cancelAt)])
      #expect(cancel.status == 202)
      #expect(cancel.json?["cancellation_dates"]?.arrayValue?.count == 1)
      #expect(cancel.json?["customer_uuid"]?.stringValue == cus)
      #expect(try await sb.client.get("/v1/customers/\(cus)").json?["mrr"] == 0)
      #expect(try await sb.client.get("/v1/customers/\(cus)").json?["status"] == "Cancelled")
      let undo = try await sb.client.send("PATCH", "/v1/import/subscriptions/\(sub)", json: ["cancellation_dates": []])
      #expect(undo.status == 202)
      #expect(try await sb.client.get("/v1/customers/\(cus)").json?["mrr"] == 5000)
      let both = try await sb.client.send(
        "PATCH", "/v1/import/subscriptions/\(sub)", json: ["cancelled_at": .string(cancelAt), "cancellation_dates": []])
      #expect(both.status == 422)
      #expect(
        try await sb.client.send("PATCH", "/v1/import/subscriptions/sub_x", json: ["cancellation_dates": []]).status
          == 404)
      let snap = await sb.snapshot()
      #expect(snap["cancellations"] == [])
    }
  }
}

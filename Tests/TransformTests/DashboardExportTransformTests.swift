import ETLTestSupport
import Foundation
import RevenueCore
import Staging
import Testing

@testable import Transform
@testable import TransformRules

/// Transform rules for dashboard-export rows and test-mode records (docs/docs/gateways "Dashboard exports").
@Suite struct DashboardExportTransformTests {
  static let pipeline = """
    name: t
    transform:
      plan_mapping:
        price_growth_usd: { name: Growth, currency: USD, interval: month }

    """

  /// One staged `ExtractedRecord` line of `kind` with a CSV-style record (all cells text).
  static func row(_ kind: String, _ cells: [String: String], line: Int) -> String {
    let rec = JSONObject(cells.sorted { $0.key < $1.key }.map { JSONField($0.key, .string($0.value)) })
    let gateway = String(kind.prefix { $0 != "-" && $0 != "." })
    let v: JSONValue = [
      "source": "files", "gateway": .string(gateway), "kind": .string(kind), "record": .object(rec),
      "origin": ["file": "x.csv", "line": .int(Int64(line))],
    ]
    return JSONWriter.string(v)
  }

  static func api(_ kind: String, _ json: String) -> String {
    "{\"source\":\"stripe\",\"gateway\":\"stripe\",\"kind\":\"\(kind)\",\"origin\":{},\"record\":\(json)}"
  }

  @Test func paymentAndInvoiceRowsAreOneSubscriptionInvoiceAndUnchargedRowsAreSkipped() async throws {
    let pay = [
      "id": "ch_1", "Created date (UTC)": "2026-11-20 09:00:05", "Amount": "49.00", "Amount Refunded": "10.00",
      "Refunded date (UTC)": "2026-11-22 10:00:00", "Currency": "usd", "Captured": "true", "Status": "Paid",
      "Customer ID": "cus_1", "Customer Email": "a@example.com", "Invoice ID": "in_1",
    ]
    let never = [
      "id": "", "Created date (UTC)": "2026-11-21 09:00:05", "Amount": "49.00", "Currency": "usd",
      "Captured": "false", "Status": "requires_payment_method", "Customer ID": "cus_1",
    ]
    let failed = [
      "id": "ch_2", "Created date (UTC)": "2026-11-21 09:00:05", "Amount": "49.00", "Currency": "usd",
      "Captured": "false", "Status": "Failed", "Decline Reason": "card_declined", "Customer ID": "cus_1",
    ]
    let inv = [
      "id": "in_1", "Customer": "cus_1", "Customer Email": "a@example.com", "Status": "paid", "Currency": "usd",
      "Amount Paid": "49.00", "Tax": "4.00", "Paid At (UTC)": "2026-11-20 09:00", "Subscription": "sub_1",
      "Subscription Period Start (UTC)": "2026-11-20 09:00", "Subscription Period End (UTC)": "2026-12-20 09:00",
      "Charge": "ch_1", "Price ID": "price_growth_usd",
    ]
    let draft = [
      "id": "in_2", "Customer": "cus_1", "Status": "draft", "Currency": "usd", "Amount Paid": "0.00",
      "Date (UTC)": "2026-12-01 09:00",
    ]
    let guest = ["id": "", "Email": "guest@example.com", "Name": "Guest", "Created (UTC)": "2026-11-01 10:00"]
    let h = try TransformHarness(
      pipelineYAML: Self.pipeline,
      files: [
        "files.ndjson": [
          Self.row("stripe-customers-csv", guest, line: 2), Self.row("stripe-payments-csv", pay, line: 3),
          Self.row("stripe-payments-csv", never, line: 4), Self.row("stripe-payments-csv", failed, line: 5),
          Self.row("stripe-invoices-csv", inv, line: 6), Self.row("stripe-invoices-csv", draft, line: 7),
        ]
      ])
    let result = try await h.transform()
    #expect(result.accounting.rejected == 0)
    let invoices = try h.invoices()
    #expect(invoices.count == 1)
    let i = try #require(invoices.values.first)
    #expect(i.lineItems.count == 1 && i.lineItems[0].type == .subscription)
    #expect(
      i.lineItems[0].subscriptionExternalID == "stripe_sub_1" && i.lineItems[0].planExternalID == "growth_usd_1month")
    #expect(i.lineItems[0].amountInCents == 4900 && i.lineItems[0].taxAmountInCents == 400)
    #expect(i.lineItems[0].servicePeriodEnd == ts("2026-12-20T09:00:00Z"))
    #expect(i.transactions.contains { $0.type == .refund && $0.amountInCents == 1000 })
    let skipped = try h.diagnostics("skipped.ndjson").map(\.code).sorted()
    #expect(skipped == ["failed_payment", "guest_customer", "no_money_moved", "not_paid"])
    #expect(!result.lines.contains { $0.hasPrefix("warning:") })
  }

  @Test func aPaymentsOnlyBackfillWarnsThatItYieldsNoSubscriptionMRR() async throws {
    let pay = [
      "id": "ch_1", "Created date (UTC)": "2026-11-20 09:00:05", "Amount": "49.00", "Currency": "usd",
      "Captured": "true", "Status": "Paid", "Customer ID": "cus_1", "Customer Email": "a@example.com",
      "Invoice ID": "in_1",
    ]
    let h = try TransformHarness(
      pipelineYAML: Self.pipeline, files: ["files.ndjson": [Self.row("stripe-payments-csv", pay, line: 2)]])
    let result = try await h.transform()
    #expect(try h.invoices().values.first?.lineItems.first?.type == .oneTime)
    let warning = try #require(result.lines.first { $0.hasPrefix("warning:") })
    #expect(warning.contains("no subscription MRR") && warning.contains("stripe-invoices-csv"))
    #expect(result.details["warnings"]?.arrayValue?.count == 1)
  }

  static let testCharge =
    #"{"id":"ch_t","object":"charge","amount":1900,"amount_captured":1900,"amount_refunded":0,"captured":true,"created":1796292000,"currency":"usd","customer":"cus_t","livemode":false,"status":"succeeded","billing_details":{"email":"t@example.com"}}"#
  static let testRefund =
    #"{"id":"re_t","object":"refund","amount":500,"charge":"ch_t","created":1796299000,"currency":"usd","status":"succeeded"}"#

  @Test func aRefundOfATestModeChargeIsSkippedWithItUnlessTestDataIsIncluded() async throws {
    let files = [
      "stripe.ndjson": [Self.api("stripe.refund", Self.testRefund), Self.api("stripe.charge", Self.testCharge)]
    ]
    let off = try TransformHarness(pipelineYAML: Self.pipeline, files: files)
    let r = try await off.transform()
    #expect(r.accounting.rejected == 0 && r.accounting.skipped == 2)
    #expect(try off.diagnostics("skipped.ndjson").map(\.code) == ["test_data", "test_data"])

    let on = try TransformHarness(pipelineYAML: Self.pipeline + "  include_test_data: true\n", files: files)
    let r2 = try await on.transform()
    #expect(r2.accounting.rejected == 0)
    let i = try #require(try on.invoices()["stripe_ch_t"])
    #expect(i.transactions.contains { $0.type == .refund && $0.amountInCents == 500 })
    #expect(r2.lines.contains { $0.contains("include_test_data is true") })
    #expect(r2.details["include_test_data"]?.boolValue == true)
  }

  @Test func includeTestDataNeedsTheDestinationToAllowIt() throws {
    let yaml =
      Self.pipeline
      + "  include_test_data: true\ndestination:\n  chartmogul:\n    api_key: k\n    data_source_uuid: ds_1\n"
    let p = try PipelineFile(text: yaml, path: "p.yaml", environment: Environment([:]))
    #expect { try TransformConfig(pipeline: p) } throws: {
      "\($0)".contains("allow_test_data") && "\($0)".contains("include_test_data")
    }
    let ok = try PipelineFile(text: yaml + "    allow_test_data: true\n", path: "p.yaml", environment: Environment([:]))
    #expect(try TransformConfig(pipeline: ok).includeTestData)
  }

  @Test func aControlByteInAnAPIRecordsIdOrEmailIsRejectedNamingTheField() async throws {
    let customer =
      #"{"id":"cus_n","object":"customer","email":"a\u0000b@example.com","created":1796292000,"livemode":true}"#
    let charge =
      #"{"id":"ch_n","object":"charge","amount":100,"captured":true,"created":1796292000,"currency":"usd","livemode":true,"status":"succeeded","billing_details":{"email":"x\u0007@example.com"}}"#
    let h = try TransformHarness(
      pipelineYAML: Self.pipeline,
      files: ["stripe.ndjson": [Self.api("stripe.customer", customer), Self.api("stripe.charge", charge)]])
    let r = try await h.transform()
    #expect(r.accounting.rejected == 2)
    let rejects = try h.diagnostics("rejects.ndjson")
    #expect(rejects.map(\.code) == ["control_character", "control_character"])
    #expect(rejects[0].reason.contains("'email'") && rejects[0].reason.contains("U+0000"))
    #expect(rejects[1].reason.contains("'billing_details.email'") && rejects[1].reason.contains("U+0007"))
  }

  @Test func thePayPalSandboxIsTestDataAndNeedsTheSwitch() throws {
    let yaml =
      "name: t\nsources:\n  paypal: { client_id: c, client_secret: s, api_url: https://api-m.sandbox.paypal.com, since: 2026-01-01 }\n"
    let p = try PipelineFile(text: yaml, path: "p.yaml", environment: Environment([:]))
    #expect { try TransformConfig(pipeline: p) } throws: {
      "\($0)".contains("sources.paypal.api_url") && "\($0)".contains("include_test_data")
    }
    let ok = try PipelineFile(
      text: yaml + "transform:\n  include_test_data: true\n", path: "p.yaml", environment: Environment([:]))
    #expect(try TransformConfig(pipeline: ok).includeTestData)
  }

  @Test func paypalZonesAbbreviationsIANAAndOffsets() {
    let local = Timestamp.utc(2026, 7, 1, 12, 0, 0)!.seconds
    #expect(PayPalZones.utc(localSeconds: local, zone: "MESZ") == local - 7200)
    #expect(PayPalZones.utc(localSeconds: local, zone: "Europe/Berlin") == local - 7200)
    let winter = Timestamp.utc(2026, 1, 15, 12, 0, 0)!.seconds
    #expect(PayPalZones.utc(localSeconds: winter, zone: "Europe/Berlin") == winter - 3600)
    #expect(PayPalZones.utc(localSeconds: winter, zone: "MEZ") == winter - 3600)
    #expect(PayPalZones.utc(localSeconds: local, zone: "BST") == local - 3600)
    #expect(PayPalZones.utc(localSeconds: local, zone: "GMT-05:00") == local + 5 * 3600)
    #expect(PayPalZones.utc(localSeconds: local, zone: "Mars/Olympus") == nil)
  }

  @Test func cashierRecordsInKashierTermsAndAmountsWithThousandsSeparators() {
    let r: JSONValue = [
      "transactionId": "TX-9", "merchantOrderId": "o-9", "operation": "pay", "status": "CAPTURED",
      "creationDate": "2026-11-01T10:00:00Z", "amount": "1,490.00", "currency": "EGP", "merchant_customer_id": "u-9",
      "customer_email": "k@example.com", "mode": "live",
    ]
    guard case .payment(let p) = PayPalCashierReaders(subscriptions: nil).cashier(r) else {
      Issue.record("not read as a payment")
      return
    }
    #expect(p.id == "TX-9" && p.total == 149_000)
    var fields = r.objectValue!
    fields["status"] = "DECLINED"
    let declined = JSONValue.object(fields)
    guard case .skip(let code, _) = PayPalCashierReaders(subscriptions: nil).cashier(declined) else {
      Issue.record("a declined payment is not skipped")
      return
    }
    #expect(code == "failed_payment")
  }
}

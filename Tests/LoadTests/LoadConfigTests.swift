import Foundation
import RevenueCore
import Testing

@testable import Load

@Suite struct LoadConfigTests {
  func pipeline(_ chartmogul: String, env: [String: String] = [:], sources: String = "") throws -> LoadConfig {
    let yaml =
      "name: t\n\(sources)destination:\n  chartmogul:\n"
      + chartmogul.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n") + "\n"
    let e = Environment(env)
    return try LoadConfig.parse(try PipelineFile(text: yaml, path: "p.yaml", environment: e), environment: e)
  }

  @Test func defaults() throws {
    let c = try pipeline(
      "api_key: ${CHARTMOGUL_API_KEY}\ndata_source_uuid: ds_1", env: ["CHARTMOGUL_API_KEY": "key-abcdef"])
    #expect(c.apiURL.absoluteString == "https://api.chartmogul.com")
    #expect(c.requestsPerSecond == 20)
    #expect(c.maxConnections == 8)
    #expect(c.customersPerBatch == 500)
    #expect(c.maxAttempts == 3)
    #expect(c.syncEnabled)
    #expect(c.writeBackURL == nil)
    #expect(c.credentials.authorizationHeader == "Basic " + Data("key-abcdef:".utf8).base64EncodedString())
  }

  @Test func dataSourceFromEnvironmentOrClearError() throws {
    let c = try pipeline("api_key: k-123456", env: ["CHARTMOGUL_DATA_SOURCE_ID": "ds_env"])
    #expect(c.dataSourceUUID == "ds_env")
    let e = #expect(throws: ConfigError.self) { try pipeline("api_key: k-123456") }
    #expect(e?.description.contains("CHARTMOGUL_DATA_SOURCE_ID") == true)
  }

  @Test func missingKeyNamesTheVariable() throws {
    let e = #expect(throws: ConfigError.self) { try pipeline("api_key: ${CHARTMOGUL_API_KEY}\ndata_source_uuid: ds_1") }
    #expect(e?.description.contains("CHARTMOGUL_API_KEY") == true)
    let f = #expect(throws: ConfigError.self) { try pipeline("data_source_uuid: ds_1") }
    #expect(f?.description.contains("CHARTMOGUL_API_KEY") == true)
  }

  @Test func limitsAndUnknownKeys() throws {
    #expect(throws: ConfigError.self) {
      try pipeline("api_key: k-123456\ndata_source_uuid: d\nrequests_per_second: 41")
    }
    #expect(throws: ConfigError.self) { try pipeline("api_key: k-123456\ndata_source_uuid: d\nmax_connections: 21") }
    #expect(throws: ConfigError.self) {
      try pipeline("api_key: k-123456\ndata_source_uuid: d\ncustomers_per_batch: 1001")
    }
    let e = #expect(throws: ConfigError.self) {
      try pipeline("api_key: k-123456\ndata_source_uuid: d\nrequest_per_second: 5")
    }
    #expect(e?.description.contains("requests_per_second") == true)
  }

  @Test func legacyCredentialsAndSyncSwitch() throws {
    let c = try pipeline(
      "account_token: tok-1234\nsecret_key: sec-5678\ndata_source_uuid: d", env: ["CHARTMOGUL_SYNC_ENABLED": "false"])
    #expect(c.usesLegacyCredentials)
    #expect(!c.syncEnabled)
    #expect(c.credentials.authorizationHeader == "Basic " + Data("tok-1234:sec-5678".utf8).base64EncodedString())
    #expect(!"\(c.credentials)".contains("tok-1234"))
  }

  @Test func writeBackDefaultsToThePostgresSource() throws {
    let c = try pipeline(
      "api_key: k-123456\ndata_source_uuid: d", env: ["DATABASE_URL": "postgresql://u:pw@h/db"],
      sources: "sources:\n  postgres:\n    url: ${DATABASE_URL}\n")
    #expect(c.writeBackURL?.value == "postgresql://u:pw@h/db")
    let off = try pipeline(
      "api_key: k-123456\ndata_source_uuid: d\nwrite_back: false", env: ["DATABASE_URL": "postgresql://h/db"],
      sources: "sources:\n  postgres:\n    url: ${DATABASE_URL}\n")
    #expect(off.writeBackURL == nil)
  }
}

@Suite struct ErrorShapeTests {
  func msg(_ s: String, _ status: Int = 422) -> String { ChartMogulError.message(from: Array(s.utf8), status: status) }

  @Test func everyShapeInTheContract() {
    #expect(msg(#"{"errors":{"name":"Has already been taken."}}"#) == "name: Has already been taken.")
    #expect(msg(#"{"error":"Data source not found"}"#, 404) == "Data source not found")
    #expect(
      msg(#"{"code":404,"message":"Can't find any customers","param":"email"}"#, 404)
        == "Can't find any customers (param email)")
    #expect(
      msg(#"{"name":["is taken"],"error_details":[{"param":"name","code":"x","message":"is taken"}]}"#).contains(
        "is taken"))
    #expect(
      msg(
        #"{"error":"Invoice not found","error_details":[{"param":"invoice","code":"invalid","message":"Invoice not found"}]}"#
      )
        == "Invoice not found")
    #expect(
      msg(
        #"{"invoices":[{"external_id":"i1","errors":{"external_id":"The external ID for this invoice already exists in our system."}}]}"#
      )
      .contains("invoice i1: external_id: The external ID"))
    #expect(msg(#"{"message":"Status transition is not allowed"}"#) == "Status transition is not allowed")
    #expect(msg("500 Internal Server Error", 500) == "500 Internal Server Error")
    #expect(msg("", 502) == "HTTP 502 with an empty body")
  }

  @Test func duplicateMarkers() {
    for s in [
      "A plan with this identifier already exists in our system.", "has already been taken", "Has already been taken.",
    ] {
      #expect(ChartMogulError.isDuplicateText(s))
    }
    #expect(!ChartMogulError.isDuplicateText("must be positive"))
  }
}

@Suite struct WireFormatTests {
  @Test func bulkBodyCarriesOnlyChartMogulFields() throws {
    let d = LoadData.make(customers: 3, invoicesPerCustomer: 2, appTransactionIDs: ["a1", "a2"])
    var units: [CustomerUnit] = []
    for c in d.customers {
      units.append(
        CustomerUnit(
          customerExternalID: c.externalID, customer: c, customerPending: true,
          invoices: d.invoices.filter { $0.customerExternalID == c.externalID }))
    }
    let b = BulkBatch.make(pipeline: "p", runID: "r", plans: d.plans, units: units)
    let text = JSONWriter.string(b.body)
    #expect(!text.contains("\"currency\":\"USD\",\"external_id\":\"starter"))
    #expect(b.body["plans"]?.arrayValue?.first?["currency"] == nil)
    #expect(!text.contains("gateway\""))
    #expect(!text.contains("app_transaction_id"))
    #expect(b.body["invoices"]?.arrayValue?.count == 6)
    #expect(b.body["line_items"]?.arrayValue?.first?["invoice_external_id"]?.stringValue == "stripe_ch_0_0")
    #expect(b.body["transactions"]?.arrayValue?.first?["invoice_external_id"] != nil)
    // Same content → same import external id (a retried POST is recognised).
    #expect(BulkBatch.make(pipeline: "p", runID: "r", plans: d.plans, units: units).externalID == b.externalID)
  }

  @Test func batchesRespectCustomerAndByteLimits() {
    let d = LoadData.make(customers: 10, invoicesPerCustomer: 3)
    let units = d.customers.map { c in
      CustomerUnit(
        customerExternalID: c.externalID, customer: c, customerPending: true,
        invoices: d.invoices.filter { $0.customerExternalID == c.externalID })
    }
    let byCount = BulkBatch.split(
      pipeline: "p", runID: "r", plans: d.plans, units: units, maxCustomers: 4, maxBytes: 4_500_000)
    #expect(byCount.batches.map(\.units.count) == [4, 4, 2])
    #expect(byCount.batches[0].plans.count == 2 && byCount.batches[1].plans.isEmpty)
    let one = units[0].byteSize()
    let bySize = BulkBatch.split(
      pipeline: "p", runID: "r", plans: [], units: units, maxCustomers: 100, maxBytes: one * 2 + 600)
    #expect(bySize.batches.allSatisfy { $0.units.count <= 2 })
    #expect(bySize.batches.reduce(0) { $0 + $1.units.count } == 10)
  }
}

import ETLTestSupport
import Extract
import Foundation
import RevenueCore
import Staging
import Testing

@Suite struct FilesSourceTests {
  @Test func allFixtureExportsParseCleanlyWithOrigins() async throws {
    let ex = RepositoryPaths.fixture("exports")
    let h = try ExtractHarness(
      sources: """
          files:
            - { format: stripe-payments-csv, path: \(ex)/stripe/payments.csv }
            - { format: stripe-customers-csv, path: \(ex)/stripe/customers.csv }
            - { format: stripe-subscriptions-csv, path: \(ex)/stripe/subscriptions.csv }
            - { format: stripe-refunds-csv, path: \(ex)/stripe/refunds.csv }
            - { format: paypal-activity-csv, path: \(ex)/paypal/activity-usd.csv, date_format: MM/DD/YYYY }
            - { format: paypal-activity-csv, path: \(ex)/paypal/activity-eur.csv, date_format: DD.MM.YYYY, decimal: comma }
            - { format: cashier-csv, path: \(ex)/cashier/*.csv }
        """)
    let result = try await h.run()
    let recs = try h.records("r1", "files")
    #expect(result.accounting.rejected == 0 && result.accounting.skipped == 0)
    #expect(recs.count == result.accounting.output && recs.count > 60)
    #expect(
      recs.allSatisfy {
        $0.source == "files" && $0.origin["file"]?.stringValue != nil && $0.origin["line"]?.int64Value != nil
      })
    let eur = try #require(
      recs.first { $0.kind == "paypal-activity-csv" && $0.record["Currency"]?.stringValue == "EUR" })
    #expect(eur.origin["date_format"]?.stringValue == "DD.MM.YYYY" && eur.origin["decimal"]?.stringValue == "comma")
    #expect(eur.gateway == "paypal")
    let refund = try #require(recs.first { $0.kind == "cashier-csv" && $0.record["type"]?.stringValue == "refund" })
    #expect(refund.record["description"]?.stringValue == "Partial refund\n(service outage credit)")
    #expect(refund.record["customer_name"]?.stringValue == "Salem, Nour")
    // Coherence: every Stripe refund points at a payment in the payments export.
    let charges = Set(recs.filter { $0.kind == "stripe-payments-csv" }.compactMap { $0.record["id"]?.stringValue })
    let refunds = recs.filter { $0.kind == "stripe-refunds-csv" }
    #expect(!refunds.isEmpty && refunds.allSatisfy { charges.contains($0.record["Charge ID"]?.stringValue ?? "") })
  }

  @Test func reorderedColumnsMalformedRowsAndRejects() async throws {
    let dir = try TempDirectory()
    // Reordered columns, an unknown column, a quoted comma, an embedded newline, CRLF, a BOM;
    // then a short row, text after a closing quote, and an unterminated quote at the end.
    let csv =
      "\u{FEFF}mode,amount,created_at,transaction_id,type,status,currency,merchant_order_id,merchant_customer_id,customer_email,extra\r\n"
      + "live,299.00,2026-03-01T10:15:22+02:00,TX-1,payment,SUCCESS,EGP,ord-1,u1,a@example.com,\"x, y\"\r\n"
      + "live,-99.50,2026-03-05T12:00:09+02:00,TX-2,refund,SUCCESS,EGP,ord-1,u1,a@example.com,\"two\r\nlines\"\r\n"
      + "live,1.00,2026-03-06T00:00:00Z,TX-3\r\n"
      + "live,\"2.00\"x,2026-03-06T00:00:00Z,TX-4,payment,SUCCESS,EGP,ord-4,u4,d@example.com,\r\n"
      + "live,3.00,2026-03-07T00:00:00Z,TX-5,payment,SUCCESS,EGP,ord-5,u5,e@example.com,ok\r\n"
      + "live,4.00,2026-03-08T00:00:00Z,TX-6,payment,SUCCESS,EGP,ord-6,u6,f@example.com,\"open\r\n"
    let path = try dir.write("c.csv", csv)
    let h = try ExtractHarness(sources: "  files:\n    - { format: cashier-csv, path: \(path) }\n")
    let result = try await h.run()
    #expect(result.accounting == Accounting(input: 6, output: 3, rejected: 3))
    let recs = try h.records("r1", "files")
    #expect(recs.map { $0.record["transaction_id"]?.stringValue } == ["TX-1", "TX-2", "TX-5"])
    #expect(recs.map { $0.origin["line"]?.int64Value } == [2, 3, 7])
    #expect(recs[0].record["extra"]?.stringValue == "x, y" && recs[1].record["extra"]?.stringValue == "two\r\nlines")
    #expect(recs[0].kind == "cashier-csv" && recs[0].gateway == "cashier")
    let rejects = try h.rejects("r1", "files")
    #expect(rejects.map(\.line) == [5, 6, 8])
    #expect(rejects.map(\.code) == ["field_count", "malformed_csv", "unterminated_quote"])
    #expect(rejects.allSatisfy { $0.file == path })
  }

  @Test func missingRequiredColumnNamesColumnAndFileAndPublishesNothing() async throws {
    let dir = try TempDirectory()
    let path = try dir.write("p.csv", "id,Amount,Status\nch_1,1.00,Paid\n")
    let h = try ExtractHarness(sources: "  files:\n    - { format: stripe-payments-csv, path: \(path) }\n")
    await #expect {
      try await h.run()
    } throws: { e in
      let d = "\(e)"
      return d.contains(path) && d.contains("'Created date (UTC)' or 'Created (UTC)'") && d.contains("'Currency'")
    }
    #expect(try h.manifest("r1") == nil)
  }

  @Test func globsExpandSortedAndNoMatchIsAnError() async throws {
    let dir = try TempDirectory()
    let header =
      "transaction_id,merchant_order_id,type,status,created_at,amount,currency,merchant_customer_id,customer_email,mode\n"
    try dir.write("in/b-2.csv", header + "TX-B,o,payment,SUCCESS,2026-01-02T00:00:00Z,1.00,EGP,u,b@example.com,live\n")
    try dir.write("in/a-1.csv", header + "TX-A,o,payment,SUCCESS,2026-01-01T00:00:00Z,1.00,EGP,u,a@example.com,live\n")
    try dir.write("in/notes.txt", "ignored")
    let h = try ExtractHarness(
      sources: "  files:\n    - { format: cashier-csv, path: \"\(dir.path)/in/[ab]-?.csv\" }\n")
    try await h.run()
    let recs = try h.records("r1", "files")
    #expect(recs.map { $0.record["transaction_id"]?.stringValue } == ["TX-A", "TX-B"])
    #expect(recs.map { $0.origin["file"]?.stringValue } == ["\(dir.path)/in/a-1.csv", "\(dir.path)/in/b-2.csv"])

    let none = try ExtractHarness(sources: "  files:\n    - { format: cashier-csv, path: \"\(dir.path)/in/*.tsv\" }\n")
    await #expect { try await none.run() } throws: { "\($0)".contains("matches no file") && "\($0)".contains("*.tsv") }
  }

  @Test func ndjsonFilesNameTheirKind() async throws {
    let dir = try TempDirectory()
    let path = try dir.write("c.ndjson", "{\"transaction_id\":\"TX-1\",\"mode\":\"live\"}\n\nnot json\n[1]\n")
    let h = try ExtractHarness(
      sources: "  files:\n    - { format: ndjson, kind: cashier.transaction, path: \(path) }\n")
    let r = try await h.run()
    #expect(r.accounting == Accounting(input: 3, output: 1, rejected: 2))
    let rec = try #require(try h.records("r1", "files").first)
    #expect(rec.kind == "cashier.transaction" && rec.gateway == "cashier" && rec.origin["line"]?.int64Value == 1)
    #expect(try h.rejects("r1", "files").map(\.line) == [3, 4])
  }

  @Test func entryValidationErrorsNameTheKey() throws {
    func check(_ entry: String, _ expected: String) throws {
      let h = try ExtractHarness(sources: "  files:\n    - \(entry)\n")
      #expect { try ExtractStage.validateConfig(h.pipeline, environment: Environment([:])) } throws: {
        "\($0)".contains(expected) && "\($0)".contains("pipeline.yaml:")
      }
    }
    try check("{ format: stripe-payment-csv, path: x.csv }", "files[0].format")
    try check("{ format: ndjson, path: x.ndjson }", "files[0].kind")
    try check("{ format: cashier-csv, path: x.csv, date_format: DD/MM/YYYY }", "only applies to paypal-activity-csv")
    try check("{ format: paypal-activity-csv, path: x.csv, date_format: YYYY-MM-DD }", "files[0].date_format")
    try check("{ format: cashier-csv, pth: x.csv }", "did you mean 'path'")
  }

  @Test func paypalStatementLayoutIsRefused() async throws {
    let dir = try TempDirectory()
    let path = try dir.write(
      "s.csv",
      "\"Date\",\"Time\",\"Time Zone\",\"Description\",\"Currency\",\"Gross\"\n\"01/01/2026\",\"10:00:00\",\"PST\",\"x\",\"USD\",\"1.00\"\n"
    )
    let h = try ExtractHarness(sources: "  files:\n    - { format: paypal-activity-csv, path: \(path) }\n")
    await #expect { try await h.run() } throws: { "\($0)".contains("statement CSV") }
  }
}

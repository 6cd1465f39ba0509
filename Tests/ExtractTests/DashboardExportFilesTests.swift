import ETLTestSupport
import Extract
import Foundation
import RevenueCore
import Staging
import Testing

/// The dashboard exports' real headers (fixtures with the exact header, invented values), the date
/// order of PayPal downloads, and per-row refusals that let reading go on.
@Suite struct DashboardExportFilesTests {
  let ex = RepositoryPaths.fixture("exports")

  @Test func everyStripeLayoutAndPayPalLanguageIsReadWithoutRejects() async throws {
    var entries = """
        files:
          - { format: stripe-payments-csv, path: \(ex)/stripe/dashboard/unified_payments.csv }
          - { format: stripe-payments-csv, path: \(ex)/stripe/layouts/payments-older.csv }
          - { format: stripe-payments-csv, path: \(ex)/stripe/test-mode/unified_payments.csv }
          - { format: stripe-invoices-csv, path: \(ex)/stripe/dashboard/invoices.csv }
          - { format: stripe-customers-csv, path: \(ex)/stripe/dashboard/customers.csv }
          - { format: stripe-subscriptions-csv, path: \(ex)/stripe/dashboard/subscriptions.csv }

      """
    for code in ["de", "fr", "es", "it", "nl", "pl", "pt"] {
      entries +=
        "    - { format: paypal-activity-csv, path: \(ex)/paypal/locales/activity-\(code).csv, decimal: comma }\n"
    }
    let h = try ExtractHarness(sources: entries)
    let result = try await h.run()
    #expect(result.accounting.rejected == 0)
    let recs = try h.records("r1", "files")
    // Rows with an empty id are staged (transform skips them with their reason).
    #expect(recs.filter { $0.kind == "stripe-payments-csv" && $0.record["id"]?.stringValue == "" }.count == 3)
    #expect(recs.filter { $0.kind == "stripe-invoices-csv" }.count == 5)
    // The date order each download was detected in.
    func order(_ code: String) -> String? {
      recs.first { $0.origin["file"]?.stringValue?.hasSuffix("activity-\(code).csv") == true }?.origin["date_format"]?
        .stringValue
    }
    #expect(order("de") == "DD.MM.YYYY" && order("pl") == "DD.MM.YYYY" && order("nl") == "DD-MM-YYYY")
    #expect(["fr", "es", "it", "pt"].allSatisfy { order($0) == "DD/MM/YYYY" })
    let de = try #require(recs.first { $0.origin["file"]?.stringValue?.hasSuffix("activity-de.csv") == true })
    #expect(
      de.record["Transaktionscode"]?.stringValue == "4KD61937XP582304A" && de.record["Brutto"]?.stringValue == "45,00")
  }

  @Test func aDeclaredDateOrderTheFileContradictsIsRefusedNamingRowsAndTheOtherOrder() async throws {
    let h = try ExtractHarness(
      sources: """
          files:
            - { format: paypal-activity-csv, path: \(ex)/paypal/activity-usd.csv, date_format: DD/MM/YYYY }

        """)
    await #expect { try await h.run() } throws: { e in
      let d = "\(e)"
      return d.contains("date_format DD/MM/YYYY contradicts the file") && d.contains("MM/DD/YYYY")
        && d.contains("line ")
    }
    #expect(try h.manifest("r1") == nil)
  }

  @Test func anOmittedDateOrderIsDetectedOrTheFileIsRefused() async throws {
    let dir = try TempDirectory()
    let header =
      "\"Date\",\"Time\",\"TimeZone\",\"Name\",\"Type\",\"Status\",\"Currency\",\"Gross\",\"Transaction ID\"\n"
    func row(_ d: String, _ id: String) -> String {
      "\"\(d)\",\"10:00:00\",\"PST\",\"A\",\"Website Payment\",\"Completed\",\"USD\",\"1.00\",\"\(id)\"\n"
    }
    let us = try dir.write("us.csv", header + row("03/04/2026", "T1") + row("12/25/2026", "T2"))
    let ambiguous = try dir.write("amb.csv", header + row("03/04/2026", "T1") + row("05/06/2026", "T2"))
    let h = try ExtractHarness(sources: "  files:\n    - { format: paypal-activity-csv, path: \(us) }\n")
    _ = try await h.run()
    #expect(try h.records("r1", "files").map { $0.origin["date_format"]?.stringValue } == ["MM/DD/YYYY", "MM/DD/YYYY"])
    let h2 = try ExtractHarness(sources: "  files:\n    - { format: paypal-activity-csv, path: \(ambiguous) }\n")
    await #expect { try await h2.run() } throws: { e in
      "\(e)".contains("cannot decide the date order") && "\(e)".contains("line 2 '03/04/2026'")
        && "\(e)".contains("set date_format")
    }
    #expect(try h2.manifest("r1") == nil)
  }

  @Test func anOversizeRowIsRejectedWithItsLineAndReadingGoesOn() async throws {
    let dir = try TempDirectory()
    let header =
      "transaction_id,merchant_order_id,type,status,created_at,amount,currency,merchant_customer_id,customer_email,mode,description\n"
    func row(_ id: String, _ desc: String) -> String {
      "\(id),o,payment,SUCCESS,2026-01-02T00:00:00Z,1.00,EGP,u,a@example.com,live,\(desc)\n"
    }
    let big = String(repeating: "x", count: (4 << 20) + 10)
    let path = try dir.write("c.csv", header + row("TX-1", "ok") + row("TX-2", big) + row("TX-3", "ok"))
    let h = try ExtractHarness(sources: "  files:\n    - { format: cashier-csv, path: \(path) }\n")
    let result = try await h.run()
    #expect(result.accounting == Accounting(input: 3, output: 2, rejected: 1))
    #expect(try h.records("r1", "files").map { $0.record["transaction_id"]?.stringValue } == ["TX-1", "TX-3"])
    let rejects = try h.rejects("r1", "files")
    #expect(rejects.map(\.line) == [3] && rejects.map(\.code) == ["row_too_long"] && rejects[0].file == path)
  }

  @Test func controlBytesInIdentifiersAndEmailsAreRejectedElsewhereKept() async throws {
    let dir = try TempDirectory()
    let header =
      "transaction_id,merchant_order_id,type,status,created_at,amount,currency,merchant_customer_id,customer_email,mode,description\n"
    let path = try dir.write(
      "c.csv",
      header + "TX-1,o,payment,SUCCESS,2026-01-02T00:00:00Z,1.00,EGP,u,a\u{0}b@example.com,live,x\n"
        + "TX-2\u{1},o,payment,SUCCESS,2026-01-02T00:00:00Z,1.00,EGP,u,b@example.com,live,x\n"
        + "TX-3,o,payment,SUCCESS,2026-01-02T00:00:00Z,1.00,EGP,u,c@example.com,live,\"tab\tand\u{7}bell\"\n")
    let h = try ExtractHarness(sources: "  files:\n    - { format: cashier-csv, path: \(path) }\n")
    let result = try await h.run()
    #expect(result.accounting == Accounting(input: 3, output: 1, rejected: 2))
    let rejects = try h.rejects("r1", "files")
    #expect(rejects.map(\.code) == ["control_character", "control_character"])
    #expect(rejects[0].reason.contains("'customer_email'") && rejects[0].reason.contains("U+0000"))
    #expect(rejects[1].reason.contains("'transaction_id'") && rejects[1].reason.contains("U+0001"))
  }
}

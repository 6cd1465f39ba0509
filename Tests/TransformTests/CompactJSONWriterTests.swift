import ETLTestSupport
import Foundation
import RevenueCore
import Testing

@testable import Transform
@testable import TransformRules

/// The hand-written invoice serialiser must equal `JSONWriter` on `InvoiceRecord.json` byte for byte.
@Suite struct CompactJSONWriterTests {
  @Test func goldenInvoicesSerialiseIdentically() throws {
    let text = try String(contentsOfFile: RepositoryPaths.fixture("transform/basic/invoices.ndjson"), encoding: .utf8)
    var n = 0
    for line in text.split(separator: "\n") {
      let inv = try InvoiceRecord(json: try JSONParser.parse(String(line)))
      var fast: [UInt8] = []
      CompactJSONWriter.invoice(inv, &fast)
      #expect(fast == JSONWriter.bytes(inv.json))
      n += 1
    }
    #expect(n == 9)
  }

  @Test func everyOptionalFieldAndOddValues() {
    let t = Timestamp(seconds: -1)  // 1969-12-31T23:59:59Z
    let inv = InvoiceRecord(
      externalID: "x\"\\\u{01}é😀", customerExternalID: "c\n", date: t, currency: "KWD", dueDate: Timestamp(seconds: 0),
      collectionMethod: "automatic",
      lineItems: [
        LineItemRecord(
          type: .subscription, externalID: "l1", amountInCents: -1234, quantity: 3, taxAmountInCents: Int64.max,
          discountAmountInCents: Int64.min, discountCode: "D\t", description: "d/", subscriptionExternalID: "s",
          planExternalID: "p", servicePeriodStart: t, servicePeriodEnd: Timestamp(seconds: 253_402_300_799),
          prorated: true),
        LineItemRecord(type: .oneTime, amountInCents: 0),
      ],
      transactions: [
        TransactionRecord(externalID: "t", type: .refund, result: .failed, date: t, amountInCents: 5),
        TransactionRecord(externalID: "u", type: .payment, result: .successful, date: t),
      ], gateway: "g", appTransactionID: nil)
    var fast: [UInt8] = []
    CompactJSONWriter.invoice(inv, &fast)
    #expect(fast == JSONWriter.bytes(inv.json))
  }
}

import RevenueCore
import Testing

@Suite("RecordKind: the staged kinds")
struct RecordKindTests {
  @Test("raw values are the strings on disk and name their gateway")
  func rawValuesAndGateways() throws {
    #expect(RecordKind.allCases.count == 20)
    for kind in RecordKind.allCases {
      #expect(RecordKind(rawValue: kind.rawValue) == kind)
      let prefix = kind.isExportRow ? kind.rawValue.prefix { $0 != "-" } : kind.rawValue.prefix { $0 != "." }
      #expect(kind.gateway == String(prefix), "\(kind)")
    }
    let line = ExtractedRecord(
      source: "files", kind: .paypalActivityCSV, origin: ["file": "a.csv", "line": 2], record: [:])
    #expect(line.gateway == "paypal" && line.kind == "paypal-activity-csv" && line.recordKind == .paypalActivityCSV)
    #expect(ExtractedRecord(source: "s", gateway: "g", kind: "future.kind", origin: [:], record: [:]).recordKind == nil)
  }

  @Test("record shapes (what an ndjson file may hold) keep the order error messages list them in")
  func recordShapesOrder() {
    #expect(
      RecordKind.recordShapes.map(\.rawValue) == [
        "stripe.customer", "stripe.subscription", "stripe.invoice", "stripe.charge", "stripe.refund",
        "paypal.transaction", "paypal.subscription", "paypal.plan", "cashier.transaction",
        "app.user", "app.transaction", "app.subscription", "app.refund",
      ])
  }
}

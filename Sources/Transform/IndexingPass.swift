import Foundation
import RevenueCore
import Staging
import TransformRules

extension TransformEngine {
  /// Pass 1 has nothing to do with app payment rows, and in a Postgres extract they are one block
  /// (the `transactions` and `refunds` queries' sections, `FileSection`): it seeks past them. nil:
  /// the input has no usable sections and is read whole.
  func indexingSections(_ s: Int) -> [ReadAheadLines.Section]? {
    ReadAheadLines.Section.plan(sections[s], skipKinds: ["app.transaction", "app.refund"])
  }

  /// What pass 1's reading thread makes of one line: app payment lines are left to pass 2 (nil),
  /// the others are parsed there (the costly part), and indexed on the calling thread in file order.
  enum IndexingLine {
    case parsed(JSONValue)
    case badJSON(String)
  }

  /// Pass 1 over one input: people, subscriptions and plans into the indexes; gateway payments
  /// only give their identities and Stripe id aliases (they are mapped in pass 2).
  func indexPeopleAndPlans(source s: Int, path: String) throws {
    let readers = PaymentReaders(subscriptions: nil, includeTestData: config.includeTestData)
    try ReadAheadLines.run(
      path: path, sections: indexingSections(s), progress: progress,
      read: { bytes, _ -> IndexingLine? in
        if AppTransactionScanner.isAppPaymentLine(bytes) { return nil }
        do { return .parsed(try JSONParser.parse(bytes)) } catch { return .badJSON("line is not valid JSON: \(error)") }
      },
      lines: { self.ledger.input(s, count: $0) },
      use: { item, line, _ in
        let value: JSONValue
        switch item {
        case .badJSON(let message):
          try ledger.reject(s, line, "bad_json", message)
          return
        case .parsed(let v): value = v
        }
        guard let rec = StagedRecord(value) else {
          try ledger.reject(
            s, line, "bad_record", "line is not an extracted record (kind and record are required)", record: value)
          return
        }
        seenKinds.insert(rec.kind)
        if rec.isPayment {
          testPayments.formUnion(TestMode.testPaymentIDs(rec))
          indexPaymentIdentity(rec, readers: readers)
          return
        }
        if let bad = ControlBytes.problem(rec.record) {
          try ledger.reject(s, line, "control_character", bad, record: rec.record)
          return
        }
        try indexRecord(rec, source: s, line: line)
      })
  }

  /// A gateway payment's aliases and payer identity (app rows name their user directly).
  func indexPaymentIdentity(_ rec: StagedRecord, readers: PaymentReaders) {
    let outcome = readers.read(rec, activityFormat: formats.format(forFile:))
    aliases.link(rec.paymentAliases)
    guard case .payment(let p) = outcome, let id = p.identity else { return }
    guard p.appUserID == nil || id.customerID != nil || id.email != nil else { return }
    if p.role != .appTransaction && p.role != .appRefund { customers.addIdentity(id) }
  }

  func indexRecord(_ rec: StagedRecord, source s: Int, line: Int) throws {
    let before = subscriptions.all.count
    guard let outcome = index.read(rec, source: s, line: line) else {
      try ledger.reject(s, line, "unknown_kind", "kind '\(rec.kind)' is not one Transform reads", record: rec.record)
      return
    }
    switch outcome {
    case .indexed:
      // Cancelled subscriptions are counted when their cancellation is decided.
      if subscriptions.all.count > before, subscriptions.all.last!.cancelled { return }
      ledger.out(s)
    case .skip(let code, let reason): try ledger.skip(s, line, code, reason, record: rec.record)
    case .reject(let code, let reason):
      try ledger.reject(s, line, code, reason, externalID: rec.key, record: rec.record)
    case .payment: ledger.out(s)
    }
  }
}

import Foundation
import RevenueCore
import Staging
import TransformRules

extension TransformEngine {
  /// What pass 2's reading thread makes of one line (see `ReadAheadLines`).
  enum PaymentLine {
    /// `userKey`: `UserKey` of the payment's app user, parsed here so the calling thread only looks it up.
    case outcome(ReadOutcome, record: JSONValue?, recordKey: String?, userKey: UserKey?)
    case badJSON(String)
    case badRecord(JSONValue)
    /// Not an app payment row, in a section pass 1 skipped as app payments only (the file changed).
    case unexpected
  }

  /// Pass 2's per-line reading: pure (scanner, parser, record readers over the indexes pass 1 built,
  /// which pass 2 only reads), so it runs on the reading thread. nil: the line was settled in pass 1.
  func readPaymentLine(_ bytes: UnsafeRawBufferPointer, readers: PaymentReaders, skippedInPass1: Bool) -> PaymentLine? {
    if let fast = AppTransactionScanner.scan(bytes) {
      return withUserKey(AppMapping.payment(fast.row, refundRow: fast.isRefund), record: nil, recordKey: nil)
    }
    let isApp = AppTransactionScanner.isAppPaymentLine(bytes)
    if skippedInPass1 && !isApp { return .unexpected }
    let value: JSONValue
    do { value = try JSONParser.parse(bytes) } catch {
      return isApp ? .badJSON("line is not valid JSON: \(error)") : nil
    }
    guard let rec = StagedRecord(value), rec.isPayment else { return isApp ? .badRecord(value) : nil }
    return withUserKey(
      readers.read(rec, activityFormat: formats.format(forFile:)), record: rec.record, recordKey: rec.key)
  }

  func withUserKey(_ o: ReadOutcome, record: JSONValue?, recordKey: String?) -> PaymentLine {
    var key: UserKey? = nil
    if case .payment(let p) = o, let u = p.appUserID { key = UserKey(u) }
    return .outcome(o, record: record, recordKey: recordKey, userKey: key)
  }

  /// Pass 2 over one input: every payment or refund becomes an invoice fragment in the sort.
  func mapPayments(source s: Int, path: String, sorter: ExternalSorter) throws {
    var readers = PaymentReaders(subscriptions: subscriptions, includeTestData: config.includeTestData)
    readers.testPayments = testPayments
    var fb = FragmentBuilder(config: config, aliases: aliases, planIntervals: index.planIntervals)
    fb.currencyOf = LastCurrency().lookup
    // Lines pass 1 did not read (app payment sections, see `indexPeopleAndPlans`) must be app payment rows.
    let skipped = (indexingSections(s) ?? []).filter(\.skip).map { $0.firstLine..<($0.firstLine + $0.lines) }
    try ReadAheadLines.run(
      path: path, progress: progress,
      read: { bytes, line in
        self.readPaymentLine(
          bytes, readers: readers, skippedInPass1: !skipped.isEmpty && skipped.contains { $0.contains(line) })
      },
      use: { item, line, bytes in
        switch item {
        case .unexpected:
          throw StagingError(
            "\(path) line \(line) is not an app transaction or refund, but the extract manifest lists only those there: the file changed after extract; rerun extract (or restore the file)"
          )
        case .badJSON(let message):
          try ledger.reject(s, line, "bad_json", message)
        case .badRecord(let value):
          try ledger.reject(s, line, "bad_record", "line is not an extracted record", record: value)
        case .outcome(let outcome, let record, let recordKey, let userKey):
          switch outcome {
          case .payment(let p):
            try addFragment(
              p, fb, userKey: userKey, source: s, line: line, record: record, bytes: bytes, sorter: sorter)
          case .skip(let code, let reason): try ledger.skip(s, line, code, reason, record: record)
          case .reject(let code, let reason):
            try ledger.reject(s, line, code, reason, externalID: recordKey, record: record ?? Self.reparse(bytes))
          case .indexed: ledger.out(s)
          }
        }
      })
  }

  /// Builds one payment's fragment (its customer through the per-user slots when it names an app
  /// user) and adds it to the sort, or records why not.
  func addFragment(
    _ p: RawPayment, _ fb: FragmentBuilder, userKey: UserKey?, source s: Int, line: Int, record: JSONValue?,
    bytes: UnsafeRawBufferPointer, sorter: ExternalSorter
  ) throws {
    var slot: Int32? = nil
    let built = fb.build(p, source: s, line: line, trackers: &trackers) { p in
      guard let u = p.appUserID else { return self.customers.payer(of: p) }
      let r = self.slots.route(u, key: userKey ?? UserKey(u), customers: self.customers)
      slot = r.slot
      return Payer(customer: r.customer, isTest: r.isTest)
    }
    switch built {
    case .fragment(let f, let facts):
      if let facts { slots.record(facts, slot: slot, into: customers) }
      try sorter.add { f.encode(into: &$0) }
    case .skip(let code, let reason):
      try ledger.skip(s, line, code, reason, externalID: p.gateway + "_" + p.id, record: record)
    case .reject(let code, let reason):
      try ledger.reject(
        s, line, code, reason, externalID: p.gateway + "_" + p.id, record: record ?? Self.reparse(bytes))
    }
  }

  /// The record of a line the scanner read without a tree, parsed again only to quote it in a reject.
  static func reparse(_ bytes: UnsafeRawBufferPointer) -> JSONValue? {
    (try? JSONParser.parse(bytes)).flatMap { StagedRecord($0)?.record }
  }
}

/// `Currency(code)` remembering the last code (payments come in few currencies; the lookup trims,
/// upper-cases and hashes the code every time). Same answers as `Currency.init`.
final class LastCurrency {
  private var code: String? = nil
  private var currency: Currency? = nil

  func lookup(_ code: String) -> Currency? {
    if let c = currency, code == self.code { return c }
    let found = Currency(code)
    if found != nil {
      self.code = code
      currency = found
    }
    return found
  }
}

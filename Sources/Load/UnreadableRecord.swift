import RevenueCore

/// A line of `transform/` that load cannot read (or that breaks `RecordLimits`). It is accounted
/// for as one failed record in the ledger, keyed by its external id when the line has one, so it
/// never stops the other records from being sent.
struct UnreadableRecord: Sendable {
  var file: String
  var line: Int
  var value: JSONValue?
  var reason: String

  var kind: LedgerKind {
    switch file {
    case "plans.ndjson": return .plan
    case "customers.ndjson": return .customer
    case "cancellations.ndjson": return .cancellation
    case "attributes.ndjson": return .attributes
    default: return .invoice
    }
  }

  /// The record's external id when it can be found, else `transform/<file>:<line>`.
  var key: String {
    let id: String?
    switch kind {
    case .cancellation: id = value?["subscription_external_id"]?.stringValue
    case .attributes: id = value?["customer_external_id"]?.stringValue
    default: id = value?["external_id"]?.stringValue
    }
    if let id, !id.isEmpty { return id + (kind == .cancellation || kind == .attributes ? "@line\(line)" : "") }
    return "transform/\(file):\(line)"
  }

  var message: String {
    "transform/\(file) line \(line) cannot be loaded: \(reason); it was not sent (fix the source record and rerun transform)"
  }
}

extension UnreadableRecord {
  /// Its failed ledger line (counted as an attempt, so `retry` gives up after `max_attempts`).
  func entry(_ factory: EntryFactory) -> LedgerEntry {
    factory.make(
      kind, key, .failed, fields: ["file": .string("transform/\(file)"), "line": .int(line)], message: message,
      sent: true)
  }
}

/// The limits every staged record must keep so the next stage can read it and ChartMogul accept it,
/// checked by transform before it writes a record (the source record is rejected with the reason)
/// and by load on every record it reads (the record fails in the ledger, the rest are sent).
///
/// - Timestamps: years 0001–9999. ChartMogul takes ISO 8601 timestamps
///   (https://dev.chartmogul.com/reference/import-customers-invoices), whose four-digit year is what
///   `Timestamp.parse` reads; `9999-12-31T23:59:59-01:00` is `10000-01-01T00:59:59Z` in UTC and could
///   never be read back. Leap seconds (`23:59:60`) are refused by `Timestamp.utc` itself.
/// - Custom attributes of type String: at most 255 characters
///   (https://help.chartmogul.com/hc/en-us/articles/206120219-Custom-attributes).
/// - External ids, customer ids, currencies: not empty (ChartMogul requires them).
public enum RecordLimits {
  /// `0001-01-01T00:00:00Z`.
  public static let earliest = Timestamp.utc(1, 1, 1)!
  /// `9999-12-31T23:59:59Z`.
  public static let latest = Timestamp.utc(9999, 12, 31, 23, 59, 59)!
  public static let maxStringAttributeLength = 255

  /// Why `t` (named `field`) cannot be staged, or nil.
  public static func problem(_ t: Timestamp?, _ field: String) -> String? {
    guard let t else { return nil }
    guard t >= earliest, t <= latest else {
      return "\(field) \(t.iso8601) is outside the years 0001–9999 that ISO 8601 timestamps (and ChartMogul) allow"
    }
    return nil
  }

  static func empty(_ s: String, _ field: String) -> String? { s.isEmpty ? "\(field) is empty" : nil }

  public static func problem(in t: TransactionRecord) -> String? {
    empty(t.externalID, "transaction external_id") ?? problem(t.date, "transaction \(t.externalID) date")
  }

  public static func problem(in i: InvoiceRecord) -> String? {
    if let p = empty(i.externalID, "external_id") ?? empty(i.customerExternalID, "customer_external_id")
      ?? empty(i.currency, "currency") ?? problem(i.date, "date") ?? problem(i.dueDate, "due_date")
    {
      return p
    }
    for l in i.lineItems {
      if let p = problem(l.servicePeriodStart, "service_period_start")
        ?? problem(l.servicePeriodEnd, "service_period_end")
      {
        return p
      }
    }
    for t in i.transactions { if let p = problem(in: t) { return p } }
    return nil
  }

  public static func problem(in c: CustomerRecord) -> String? {
    empty(c.externalID, "external_id") ?? problem(c.leadCreatedAt, "lead_created_at")
      ?? problem(c.freeTrialStartedAt, "free_trial_started_at")
  }

  public static func problem(in p: PlanRecord) -> String? {
    empty(p.externalID, "external_id") ?? empty(p.name, "name")
      ?? (p.intervalCount > 0 ? nil : "interval_count must be above 0")
  }

  public static func problem(in c: CancellationRecord) -> String? {
    empty(c.subscriptionExternalID, "subscription_external_id") ?? empty(c.customerExternalID, "customer_external_id")
      ?? problem(c.cancelledAt, "cancelled_at") ?? problem(c.requestedAt, "requested_at")
      ?? (c.cancellationDates ?? []).lazy.compactMap { problem($0, "cancellation_dates") }.first
  }

  public static func problem(in a: AttributeRecord) -> String? {
    if let p = empty(a.customerExternalID, "customer_external_id") { return p }
    for c in a.custom {
      switch c.type {
      case .string:
        if let s = c.value.stringValue, s.count > maxStringAttributeLength {
          return "custom attribute \(c.key) has \(s.count) characters; ChartMogul allows \(maxStringAttributeLength)"
        }
      case .timestamp:
        if let s = c.value.stringValue {
          guard let t = Timestamp.parse(s) else { return "custom attribute \(c.key) '\(s)' is not a timestamp" }
          if let p = problem(t, "custom attribute \(c.key)") { return p }
        }
      default:
        break
      }
    }
    return nil
  }
}

import RevenueCore

/// Customer tags and custom attributes (issue 6 rule 6) with ChartMogul types; missing values are
/// omitted and counted for `missing_attribute_rate`.
enum Enrichment {
  /// The custom attributes every customer is scored on.
  static let keys = [
    "acquisition_channel", "acquisition_date", "referrer_id", "last_login", "total_logins", "ai_generations_total",
    "projects_created", "last_active", "primary_gateway", "support_tickets", "satisfaction_score",
  ]

  static func attributes(
    customer: CustomerRecord, user: AppUser?, gateways: Set<String>, referrer: String?
  ) -> (record: AttributeRecord, missing: Int) {
    let row = user?.row
    var custom: [CustomAttribute] = []
    func add(_ key: String, _ type: CustomAttribute.Kind, _ value: JSONValue?) {
      if let value { custom.append(CustomAttribute(type: type, key: key, value: value)) }
    }
    func time(_ k: String) -> JSONValue? { row?.time(k).map { .string($0.iso8601) } }
    func int(_ k: String) -> JSONValue? { row?.integer(k).map { .int($0) } }
    let preferred = row?.text("preferred_gateway")?.lowercased()
    add("acquisition_channel", .string, .string(row?.text("acquisition_channel") ?? "direct"))
    add("acquisition_date", .timestamp, (user?.createdAt ?? customer.leadCreatedAt).map { .string($0.iso8601) })
    add("referrer_id", .string, (row?.text("referrer_user_id") ?? referrer).map { .string($0) })
    add("last_login", .timestamp, time("last_login_at"))
    add("total_logins", .integer, int("login_count"))
    add("ai_generations_total", .integer, int("ai_generations"))
    add("projects_created", .integer, int("projects_created"))
    add("last_active", .timestamp, time("last_event_at"))
    add("primary_gateway", .string, (preferred ?? gateways.sorted().first).map { .string($0) })
    add("support_tickets", .integer, int("ticket_count"))
    let rating: JSONValue? = row?["avg_rating"].flatMap { v in
      if case .number = v { return v }
      if let s = v.stringValue, Double(s) != nil { return .number(s) }
      return nil
    }
    add("satisfaction_score", .decimal, rating)
    var tags = gateways
    if let p = preferred { tags.insert(p) }
    var tagList = tags.sorted()
    if let c = customer.country { tagList.append(c) }
    let record = AttributeRecord(customerExternalID: customer.externalID, tags: tagList, custom: custom)
    return (record, keys.count - custom.count)
  }

  /// `missing / total` as a fixed 4-decimal string (deterministic, no float formatting quirks).
  static func rate(missing: Int, total: Int) -> String {
    guard total > 0 else { return "0.0000" }
    let scaled = (Int64(missing) * 10_000 + Int64(total) / 2) / Int64(total)
    return Money.format(scaled, exponent: 4)
  }
}

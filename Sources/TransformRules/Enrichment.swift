import RevenueCore

/// Customer tags and custom attributes with ChartMogul types (https://dev.chartmogul.com/reference/add-custom-attributes-to-customer,
/// https://dev.chartmogul.com/reference/add-tags-to-customer); missing values are
/// omitted and counted for `missing_attribute_rate`.
package enum Enrichment {
  /// The custom attributes every customer is scored on.
  package static let keys = [
    "acquisition_channel", "acquisition_date", "referrer_id", "last_login", "total_logins", "ai_generations_total",
    "projects_created", "last_active", "primary_gateway", "support_tickets", "satisfaction_score",
  ]

  package static func attributes(
    customer: CustomerRecord, user: AppUser?, gateways: Set<String>, referrer: String?
  ) -> (record: AttributeRecord, missing: Int) {
    let a = user?.attributes
    var custom: [CustomAttribute] = []
    func add(_ key: String, _ type: CustomAttribute.Kind, _ value: JSONValue?) {
      if let value { custom.append(CustomAttribute(type: type, key: key, value: value)) }
    }
    func time(_ t: Timestamp?) -> JSONValue? { t.map { .string($0.iso8601) } }
    func int(_ n: Int64?) -> JSONValue? { n.map { .int($0) } }
    let preferred = a?.preferredGateway
    add("acquisition_channel", .string, .string(a?.acquisitionChannel ?? "direct"))
    add("acquisition_date", .timestamp, time(user?.createdAt ?? customer.leadCreatedAt))
    add("referrer_id", .string, (a?.referrer ?? referrer).map { .string($0) })
    add("last_login", .timestamp, time(a?.lastLogin))
    add("total_logins", .integer, int(a?.loginCount))
    add("ai_generations_total", .integer, int(a?.aiGenerations))
    add("projects_created", .integer, int(a?.projectsCreated))
    add("last_active", .timestamp, time(a?.lastEvent))
    add("primary_gateway", .string, (preferred ?? gateways.sorted().first).map { .string($0) })
    add("support_tickets", .integer, int(a?.ticketCount))
    add("satisfaction_score", .decimal, a?.avgRating.map { .number($0) })
    var tags = gateways
    if let p = preferred { tags.insert(p) }
    var tagList = tags.sorted()
    if let c = customer.country { tagList.append(c) }
    let record = AttributeRecord(customerExternalID: customer.externalID, tags: tagList, custom: custom)
    return (record, keys.count - custom.count)
  }

  /// `missing / total` as a fixed 4-decimal string (deterministic, no float formatting quirks).
  package static func rate(missing: Int, total: Int) -> String {
    guard total > 0 else { return "0.0000" }
    let scaled = (Int64(missing) * 10_000 + Int64(total) / 2) / Int64(total)
    return Money.format(scaled, exponent: 4)
  }
}

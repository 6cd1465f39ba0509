import RevenueCore

/// One `app.user` row (users + usage_stats + support_stats).
package struct AppUser: Sendable {
  package var id: String
  package var email: String?
  package var name: String?
  package var country: String?
  package var createdAt: Timestamp?
  package var isTest: Bool
  /// Not from `app.user` but from a gateway record carrying the app's user id (exports-only backfill).
  package var virtual: Bool
  /// Enrichment columns only (not the whole row: memory grows with users, keep it small).
  package var attributes: UserAttributes?
}

/// The `app.user` columns custom attributes come from (usage_stats, support_stats included).
package struct UserAttributes: Sendable {
  package var acquisitionChannel: String?
  package var referrer: String?
  package var lastLogin: Timestamp?
  package var loginCount: Int64?
  package var aiGenerations: Int64?
  package var projectsCreated: Int64?
  package var lastEvent: Timestamp?
  package var preferredGateway: String?
  package var ticketCount: Int64?
  /// `avg_rating` as its exact decimal text.
  package var avgRating: String?

  package init(row r: JSONValue) {
    acquisitionChannel = r.text("acquisition_channel")
    referrer = r.text("referrer_user_id")
    lastLogin = r.time("last_login_at")
    loginCount = r.integer("login_count")
    aiGenerations = r.integer("ai_generations")
    projectsCreated = r.integer("projects_created")
    lastEvent = r.time("last_event_at")
    preferredGateway = r.text("preferred_gateway")?.lowercased()
    ticketCount = r.integer("ticket_count")
    switch r["avg_rating"] {
    case .number(let n)?: avgRating = n
    case .string(let s)? where Double(s) != nil: avgRating = s
    default: avgRating = nil
    }
  }
}

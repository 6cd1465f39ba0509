import RevenueCore

/// A person as one record names them: an app user id, a gateway customer id and/or an e-mail.
struct Identity: Sendable {
  var gateway: String
  var customerID: String?
  var appUserID: String?
  var email: String?
  var name: String?
  var country: String?
  var createdAt: Timestamp?
}

/// One `app.user` row (users + usage_stats + support_stats).
struct AppUser: Sendable {
  var id: String
  var email: String?
  var name: String?
  var country: String?
  var createdAt: Timestamp?
  var isTest: Bool
  /// Not from `app.user` but from a gateway record carrying the app's user id (exports-only backfill).
  var virtual: Bool
  /// Enrichment columns only (not the whole row: memory grows with users, keep it small).
  var attributes: UserAttributes?
}

/// The `app.user` columns custom attributes come from (usage_stats, support_stats included).
struct UserAttributes: Sendable {
  var acquisitionChannel: String?
  var referrer: String?
  var lastLogin: Timestamp?
  var loginCount: Int64?
  var aiGenerations: Int64?
  var projectsCreated: Int64?
  var lastEvent: Timestamp?
  var preferredGateway: String?
  var ticketCount: Int64?
  /// `avg_rating` as its exact decimal text.
  var avgRating: String?

  init(row r: JSONValue) {
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

/// Resolves every record's person to one customer `external_id` (DESIGN.md §6):
/// app user id → `users.id` (merged under the oldest user sharing the e-mail when
/// `merge_customers_by_email`); else the e-mail of a known user; else `<gateway>:<customer id>`,
/// gateway-only payers sharing an e-mail grouped under the first key in sort order.
///
/// Memory grows with the number of people, never with the number of transactions.
final class CustomerIndex {
  let config: TransformConfig
  private(set) var users: [String: AppUser] = [:]
  /// (gateway, customer id) → app user id and e-mail learnt from any record naming that customer.
  private var gatewayCustomers: [String: (appUserID: String?, email: String?)] = [:]
  private var gatewayOnly: [String: Identity] = [:]  // key `<gateway>:<id>` → best info
  /// Every identity offered, in order: earlier runs' (from `CustomerHistory`) first, then this run's.
  private(set) var identities: [Identity] = []

  // Built by `finish()`.
  private var canonicalUser: [String: String] = [:]
  private var userByEmail: [String: String] = [:]
  private var gatewayKeyByEmail: [String: String] = [:]
  private var gatewayCanonical: [String: String] = [:]
  /// Merges: canonical external id → the ids merged into it.
  private(set) var merges: [String: [String]] = [:]
  private(set) var mergeEmails: [String: String] = [:]

  /// Fill-in data gathered while invoices are built (country/name from payments), by external id.
  /// Values from the most recent record win (ties: the larger value), so input order never matters.
  private(set) var fillCountry: [String: (Timestamp, String)] = [:]
  private(set) var fillName: [String: (Timestamp, String)] = [:]
  private(set) var referrerFromMetadata: [String: (Timestamp, String)] = [:]
  var gatewaysByCustomer: [String: Set<String>] = [:]
  /// Pass-2 facts of payments naming an app user, folded in by `settleSlots()`.
  var slots = CustomerSlots()

  enum Fill { case country, name, referrer }

  /// The rule for dated facts: the most recent wins, a tie goes to the larger value (so the order
  /// records arrive in never matters).
  static func supersedes(_ date: Timestamp, _ value: String, _ old: (Timestamp, String)?) -> Bool {
    guard let old else { return true }
    return (date, value) > (old.0, old.1)
  }

  func offer(_ what: Fill, _ customer: String, _ date: Timestamp, _ value: String) {
    func better(_ old: (Timestamp, String)?) -> Bool { Self.supersedes(date, value, old) }
    switch what {
    case .country: if better(fillCountry[customer]) { fillCountry[customer] = (date, value) }
    case .name: if better(fillName[customer]) { fillName[customer] = (date, value) }
    case .referrer: if better(referrerFromMetadata[customer]) { referrerFromMetadata[customer] = (date, value) }
    }
  }

  init(config: TransformConfig) { self.config = config }

  func addUser(_ u: AppUser) {
    if let old = users[u.id], !old.virtual { _ = old; return }
    users[u.id] = u
  }

  func addIdentity(_ id: Identity) {
    identities.append(id)
    if let cid = id.customerID {
      let k = id.gateway + ":" + cid
      var e = gatewayCustomers[k] ?? (nil, nil)
      if e.appUserID == nil { e.appUserID = id.appUserID }
      if e.email == nil { e.email = id.email }
      gatewayCustomers[k] = e
    }
  }

  /// Resolves all identities once every record of pass 1 was seen.
  func finish() {
    // App user ids known only from gateway records become (virtual) users.
    for id in identities {
      guard let app = id.appUserID ?? id.customerID.flatMap({ gatewayCustomers[id.gateway + ":" + $0]?.appUserID })
      else { continue }
      if users[app] == nil {
        users[app] = AppUser(
          id: app, email: id.email, name: id.name, country: id.country, createdAt: id.createdAt, isTest: false,
          virtual: true, attributes: nil)
      } else if var u = users[app], u.virtual {
        u.email = u.email ?? id.email
        u.name = u.name ?? id.name
        u.country = u.country ?? id.country
        if let c = id.createdAt, u.createdAt.map({ c < $0 }) ?? true { u.createdAt = c }
        users[app] = u
      }
    }
    // Users sharing an e-mail: merged under the oldest (created_at, then id), test users never merged.
    var byEmail: [String: [AppUser]] = [:]
    for u in users.values {
      canonicalUser[u.id] = u.id
      if let e = u.email, !u.isTest { byEmail[e, default: []].append(u) }
    }
    for (email, group) in byEmail {
      let sorted = group.sorted { a, b in
        switch (a.createdAt, b.createdAt) {
        case (let x?, let y?) where x != y: return x < y
        case (.some, nil): return true
        case (nil, .some): return false
        default: return a.id < b.id
        }
      }
      let oldest = sorted[0].id
      userByEmail[email] = oldest
      if config.mergeCustomersByEmail && sorted.count > 1 {
        for u in sorted.dropFirst() { canonicalUser[u.id] = oldest }
        merges[oldest] = sorted.dropFirst().map(\.id).sorted()
        mergeEmails[oldest] = email
      }
    }
    // Gateway-only payers: not linked to a user by id or e-mail.
    var onlyByEmail: [String: [String]] = [:]
    for id in identities {
      guard resolveToUser(id) == nil else { continue }
      guard let key = gatewayKey(id) else { continue }
      var g = gatewayOnly[key] ?? Identity(gateway: id.gateway)
      g.customerID = g.customerID ?? id.customerID
      g.email = g.email ?? id.email ?? id.customerID.flatMap { gatewayCustomers[id.gateway + ":" + $0]?.email }
      g.name = g.name ?? id.name
      g.country = g.country ?? id.country
      if let c = id.createdAt, g.createdAt.map({ c < $0 }) ?? true { g.createdAt = c }
      gatewayOnly[key] = g
    }
    for (key, g) in gatewayOnly {
      gatewayCanonical[key] = key
      if let e = g.email { onlyByEmail[e, default: []].append(key) }
    }
    for (email, keys) in onlyByEmail {
      let sorted = keys.sorted()
      gatewayKeyByEmail[email] = sorted[0]
      if sorted.count > 1 {
        for k in sorted.dropFirst() { gatewayCanonical[k] = sorted[0] }
        merges[sorted[0]] = Array(sorted.dropFirst())
        mergeEmails[sorted[0]] = email
      }
    }
  }

  private func gatewayKey(_ id: Identity) -> String? {
    if let c = id.customerID { return id.gateway + ":" + c }
    if let e = id.email { return id.gateway + ":" + e }
    return nil
  }

  private func resolveToUser(_ id: Identity) -> String? {
    if let a = id.appUserID, let c = canonicalUser[a] { return c }
    if let cid = id.customerID, let a = gatewayCustomers[id.gateway + ":" + cid]?.appUserID, let c = canonicalUser[a] {
      return c
    }
    let email = id.email ?? id.customerID.flatMap { gatewayCustomers[id.gateway + ":" + $0]?.email }
    if let e = email, let u = userByEmail[e] { return canonicalUser[u] ?? u }
    return nil
  }

  /// The customer external id for a record's identity; nil when it names nobody.
  func resolve(_ id: Identity) -> String? {
    if let u = resolveToUser(id) { return u }
    guard let key = gatewayKey(id) else { return nil }
    if let c = gatewayCanonical[key] { return c }
    let email = id.email ?? id.customerID.flatMap { gatewayCustomers[id.gateway + ":" + $0]?.email }
    if let e = email, let k = gatewayKeyByEmail[e] { return k }
    return key
  }

  /// Where an external id written by an earlier run belongs now (after `finish()`): a user id goes to
  /// its canonical user (merges), a `<gateway>:<customer id or e-mail>` key is resolved again (it may
  /// have been linked to a user since); anything else is kept as it is.
  func currentExternalID(forEarlier e: String) -> String {
    if users[e] != nil { return resolveUser(e) }
    guard let colon = e.firstIndex(of: ":") else { return e }
    let gateway = String(e[..<colon]), rest = String(e[e.index(after: colon)...])
    guard !gateway.isEmpty, !rest.isEmpty else { return e }
    let id =
      gatewayCustomers[e] != nil
      ? Identity(gateway: gateway, customerID: rest) : Identity(gateway: gateway, email: rest)
    return resolve(id) ?? e
  }

  /// The canonical customer for an app user id (the user itself unless merged).
  func resolveUser(_ id: String) -> String { canonicalUser[id] ?? id }

  func user(_ id: String) -> AppUser? { users[id] }

  /// Is the customer test data (`users.is_test` or a `test_emails` match)?
  func isTest(_ externalID: String) -> Bool {
    if let u = users[externalID] { return u.isTest || config.isTestEmail(u.email) }
    if let g = gatewayOnly[externalID] { return config.isTestEmail(g.email) }
    return false
  }

  /// Every customer to write, sorted by external id: canonical users and gateway-only payers.
  func customers() -> [CustomerRecord] {
    var out: [CustomerRecord] = []
    for u in users.values where canonicalUser[u.id] == u.id && !isTest(u.id) {
      out.append(
        CustomerRecord(
          externalID: u.id, name: u.name ?? fillName[u.id]?.1, email: u.email,
          country: u.country ?? fillCountry[u.id]?.1, leadCreatedAt: u.createdAt,
          mergedExternalIDs: merges[u.id] ?? []))
    }
    for (key, g) in gatewayOnly where gatewayCanonical[key] == key && !isTest(key) {
      out.append(
        CustomerRecord(
          externalID: key, name: g.name ?? fillName[key]?.1, email: g.email, country: g.country ?? fillCountry[key]?.1,
          leadCreatedAt: g.createdAt, mergedExternalIDs: merges[key] ?? []))
    }
    // Sorting indices moves 8-byte integers instead of whole records (external ids are unique).
    let keys = out.map(\.externalID)
    return keys.indices.sorted { utf8Less(keys[$0], keys[$1]) }.map { out[$0] }
  }

  /// Merges for the manifest: `[{into, merged, email}]`, sorted.
  func mergeDetails() -> JSONValue {
    let items = merges.keys.sorted().map { k -> JSONValue in
      [
        "into": .string(k), "merged": .array(merges[k]!.map { .string($0) }),
        "email": .string(mergeEmails[k] ?? ""),
      ]
    }
    return .array(items)
  }
}

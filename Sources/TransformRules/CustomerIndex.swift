import RevenueCore

/// Resolves every record's person to one customer `external_id` (our choice, see docs/chartmogul.md;
/// customers: https://dev.chartmogul.com/reference/create-a-customer):
/// app user id → `users.id` (merged under the oldest user sharing the e-mail when
/// `merge_customers_by_email`); else the e-mail of a known user; else `<gateway>:<customer id>`,
/// gateway-only payers sharing an e-mail grouped under the first key in sort order.
///
/// Memory grows with the number of people, never with the number of transactions.
package final class CustomerIndex {
  package let config: TransformConfig
  package private(set) var users: [String: AppUser] = [:]
  /// (gateway, customer id) → app user id and e-mail learnt from any record naming that customer.
  private var gatewayCustomers: [String: (appUserID: String?, email: String?)] = [:]
  private var gatewayOnly: [String: Identity] = [:]  // key `<gateway>:<id>` → best info
  /// Every identity offered, in order: earlier runs' (from `CustomerHistory`) first, then this run's.
  package private(set) var identities: [Identity] = []

  // Built by `finish()`.
  private var canonicalUser: [String: String] = [:]
  private var userByEmail: [String: String] = [:]
  private var gatewayKeyByEmail: [String: String] = [:]
  private var gatewayCanonical: [String: String] = [:]
  /// Merges: canonical external id → the ids merged into it.
  package private(set) var merges: [String: [String]] = [:]
  package private(set) var mergeEmails: [String: String] = [:]

  /// Fill-in data gathered while invoices are built (country/name from payments), by external id.
  /// Values from the most recent record win (ties: the larger value), so input order never matters.
  package private(set) var fillCountry: [String: (Timestamp, String)] = [:]
  package private(set) var fillName: [String: (Timestamp, String)] = [:]
  package private(set) var referrerFromMetadata: [String: (Timestamp, String)] = [:]
  package var gatewaysByCustomer: [String: Set<String>] = [:]

  package enum Fill { case country, name, referrer }

  /// The rule for dated facts: the most recent wins, a tie goes to the larger value (so the order
  /// records arrive in never matters).
  package static func supersedes(_ date: Timestamp, _ value: String, _ old: (Timestamp, String)?) -> Bool {
    guard let old else { return true }
    return (date, value) > (old.0, old.1)
  }

  package func offer(_ what: Fill, _ customer: String, _ date: Timestamp, _ value: String) {
    func better(_ old: (Timestamp, String)?) -> Bool { Self.supersedes(date, value, old) }
    switch what {
    case .country: if better(fillCountry[customer]) { fillCountry[customer] = (date, value) }
    case .name: if better(fillName[customer]) { fillName[customer] = (date, value) }
    case .referrer: if better(referrerFromMetadata[customer]) { referrerFromMetadata[customer] = (date, value) }
    }
  }

  package init(config: TransformConfig) { self.config = config }

  package func addUser(_ u: AppUser) {
    if let old = users[u.id], !old.virtual {
      _ = old
      return
    }
    users[u.id] = u
  }

  package func addIdentity(_ id: Identity) {
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
  package func finish() {
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
  package func resolve(_ id: Identity) -> String? {
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
  package func currentExternalID(forEarlier e: String) -> String {
    if users[e] != nil { return resolveUser(e) }
    guard let colon = e.firstIndex(of: ":") else { return e }
    let gateway = String(e[..<colon])
    let rest = String(e[e.index(after: colon)...])
    guard !gateway.isEmpty, !rest.isEmpty else { return e }
    let id =
      gatewayCustomers[e] != nil
      ? Identity(gateway: gateway, customerID: rest) : Identity(gateway: gateway, email: rest)
    return resolve(id) ?? e
  }

  /// The canonical customer for an app user id (the user itself unless merged).
  package func resolveUser(_ id: String) -> String { canonicalUser[id] ?? id }

  package func user(_ id: String) -> AppUser? { users[id] }

  /// Is the customer test data (`users.is_test` or a `test_emails` match)?
  package func isTest(_ externalID: String) -> Bool {
    if let u = users[externalID] { return u.isTest || config.isTestEmail(u.email) }
    if let g = gatewayOnly[externalID] { return config.isTestEmail(g.email) }
    return false
  }

  /// Who pays for a payment: its app user's canonical customer, else the customer its gateway
  /// identity resolves to; nil when it names nobody.
  package func payer(of p: RawPayment) -> Payer? {
    let customer: String?
    if let u = p.appUserID { customer = resolveUser(u) } else { customer = p.identity.flatMap(resolve) }
    return customer.map { Payer(customer: $0, isTest: isTest($0)) }
  }

  /// Applies what one payment says about its customer: the gateway joins the customer's gateways
  /// (a set union), country/name/referrer are offered as dated facts (`supersedes`).
  package func record(_ f: CustomerFacts) {
    // Most payments repeat a gateway the customer already has: look before taking the mutable path.
    if gatewaysByCustomer[f.customer]?.contains(f.gateway) != true {
      gatewaysByCustomer[f.customer, default: []].insert(f.gateway)
    }
    if let c = Normalize.country(f.country) { offer(.country, f.customer, f.date, c) }
    if let n = f.name { offer(.name, f.customer, f.date, n) }
    if let r = f.referrer { offer(.referrer, f.customer, f.date, r) }
  }

  /// Every customer to write, sorted by external id in UTF-8 byte order (`less`: that order, or a
  /// faster equivalent): canonical users and gateway-only payers.
  package func customers(by less: (String, String) -> Bool = { $0.utf8.lexicographicallyPrecedes($1.utf8) })
    -> [CustomerRecord]
  {
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
    return keys.indices.sorted { less(keys[$0], keys[$1]) }.map { out[$0] }
  }

  /// Merges for the manifest: `[{into, merged, email}]`, sorted.
  package func mergeDetails() -> JSONValue {
    let items = merges.keys.sorted().map { k -> JSONValue in
      [
        "into": .string(k), "merged": .array(merges[k]!.map { .string($0) }),
        "email": .string(mergeEmails[k] ?? ""),
      ]
    }
    return .array(items)
  }
}

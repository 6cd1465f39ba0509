import Foundation
import RevenueCore

// Customers, search, attributes, tags, merges (reference §4).
extension SandboxEngine {
  static let customerTextFields = [
    "name", "email", "company", "country", "state", "city", "zip", "owner", "website_url",
  ]
  static let customerBlankFields = ["name", "email", "company"]
  static let contactFields = ["first_name", "last_name", "email", "title", "phone", "linked_in", "twitter", "notes"]

  func customerJSON(_ c: SBCustomer) -> JSONValue {
    let summary = mrrModel().customers[c.uuid]
    let mrr = summary?.mrrNow ?? 0
    var custom = JSONObject()
    for a in c.custom { custom[a.key] = (try? JSONParser.parse(a.valueJSON)) ?? .null }
    var o = JSONObject([
      "id": .int(c.id), "uuid": .string(c.uuid), "external_id": .string(c.externalID),
      "status": .string(summary?.status ?? "New Lead"), "customer-since": sbTime(summary?.customerSince),
      "attributes": .object(
        JSONObject([
          "custom": .object(custom), "clearbit": .object(JSONObject()), "stripe": .object(JSONObject()),
          "tags": .array(c.tags.map { .string($0) }),
        ])),
      "data_source_uuid": .string(c.dataSourceUUID), "data_source_uuids": [.string(c.dataSourceUUID)],
      "external_ids": .array(c.externalIDs.map { .string($0) }),
      "lead_created_at": sbTime(c.leadCreatedAt), "free_trial_started_at": sbTime(c.freeTrialStartedAt),
      "address": .object(
        JSONObject([
          "country": sbString(c.fields["country"]), "state": sbString(c.fields["state"]),
          "city": sbString(c.fields["city"]), "address_zip": sbString(c.fields["zip"]),
        ])),
      "mrr": .int(mrr), "arr": .int(mrr * 12), "billing-system-url": .null,
      "chartmogul-url": .string("https://app.chartmogul.com/#/customers/\(c.id)"),
      "billing-system-type": "Import API", "currency": .string(options.accountCurrency),
      "currency-sign": .string(options.accountCurrency == "USD" ? "$" : options.accountCurrency),
    ])
    for k in Self.customerTextFields { o[k] = sbString(c.fields[k]) }
    // ChartMogul answers "" for a name, email or company never given (its client declares them
    // non-nullable and raises on null).
    for k in Self.customerBlankFields { o[k] = .string(c.fields[k] ?? "") }
    o["primary_contact"] = c.primaryContactJSON.flatMap { try? JSONParser.parse($0) } ?? .null
    return .object(o)
  }

  /// Validates customer fields; `allowed` differs between the create endpoint and bulk imports.
  func parseCustomer(_ c: inout Checker, dataSourceUUID: String) -> SBCustomer? {
    let ext = c.string("external_id", required: true)
    var fields: [String: String] = [:]
    for k in Self.customerTextFields where c.object[k] != nil { fields[k] = c.string(k) }
    if let country = fields["country"], country.count != 2 || country != country.uppercased() {
      c.fail("country", "must be an ISO 3166-1 alpha-2 code such as DE, got '\(country)'")
    }
    if let email = fields["email"], !email.contains("@") { c.fail("email", "is not an email address: '\(email)'") }
    let lead = c.timestamp("lead_created_at")
    let trial = c.timestamp("free_trial_started_at")
    for (k, t) in [("lead_created_at", lead), ("free_trial_started_at", trial)] {
      if let t, t > now() { c.fail(k, "must be in the past") }
    }
    var contact: String?
    if let pc = c.objectField("primary_contact") {
      var pcc = Checker(pc, allowed: Self.contactFields, prefix: c.name("primary_contact"))
      for k in Self.contactFields { _ = pcc.string(k) }
      c.absorb(pcc.errors)
      contact = JSONWriter.string(.object(pc))
    }
    var tags: [String] = []
    var custom: [SBCustomAttribute] = []
    if let attrs = c.objectField("attributes") {
      var ac = Checker(attrs, allowed: ["tags", "custom"], prefix: c.name("attributes"))
      tags = ac.stringArray("tags") ?? []
      if let list = ac.array("custom") {
        custom = parseCustomAttributes(list, prefix: ac.name("custom"), existing: [], errors: &c)
      } else if attrs["custom"] != nil && attrs["custom"] != .null {
        // reported by array(): custom must be an array on create (reference §4 pitfall)
      }
      c.absorb(ac.errors)
    }
    guard c.ok, let ext else { return nil }
    return SBCustomer(
      id: 0, uuid: SBID.make("cus_"), dataSourceUUID: dataSourceUUID, externalID: ext, externalIDs: [ext],
      fields: fields, leadCreatedAt: lead, freeTrialStartedAt: trial, primaryContactJSON: contact,
      tags: Self.dedupe(tags), custom: custom)
  }

  static func dedupe(_ tags: [String]) -> [String] {
    var seen: Set<String> = []
    return tags.filter { seen.insert($0).inserted }
  }

  /// `[{type,key,value,source?}]` → attributes; a key keeps the type it was first defined with.
  func parseCustomAttributes(
    _ list: [JSONValue], prefix: String, existing: [SBCustomAttribute], errors c: inout Checker
  ) -> [SBCustomAttribute] {
    var out: [SBCustomAttribute] = []
    for (i, v) in list.enumerated() {
      var errs: [(String, String)] = []
      guard
        var ac = Checker.object(
          v, allowed: ["type", "key", "value", "source"], prefix: "\(prefix)[\(i)]", errors: &errs)
      else {
        c.absorb(errs)
        continue
      }
      let type = ac.choice("type", CustomAttributeRules.types, required: true)
      let key = ac.string("key", required: true)
      let source = ac.string("source") ?? "API"
      if let k = key, !CustomAttributeRules.validKey(k) { ac.fail("key", "may contain only letters, digits and _") }
      if let k = key, let t = type, let old = (existing + out).first(where: { $0.key == k }), old.type != t {
        ac.fail("type", "custom attribute '\(k)' is already defined as \(old.type)")
      }
      if let t = type, let value = ac.object["value"] {
        switch CustomAttributeRules.normalise(value, type: t) {
        case .success(let norm):
          if let k = key, ac.ok {
            out.removeAll { $0.key == k }
            out.append(SBCustomAttribute(key: k, type: t, valueJSON: JSONWriter.string(norm), source: source))
          }
        case .failure(let e): ac.fail("value", e.message)
        }
      } else if ac.object["value"] == nil {
        ac.fail("value", "is required")
      }
      c.absorb(ac.errors)
    }
    return out
  }

  func insertCustomer(_ cust: SBCustomer) -> SBCustomer {
    var c = cust
    c.id = state.nextCustomerID
    state.nextCustomerID += 1
    state.customers.append(c)
    let i = state.customers.count - 1
    index.customer[c.uuid] = i
    index.customerByExt[SBIndex.key(c.dataSourceUUID, c.externalID)] = i
    return c
  }

  func createCustomer(_ req: WireRequest) throws(ResponseError) -> WireResponse {
    let o = try requireBody(req)
    var c = Checker(
      o,
      allowed: [
        "data_source_uuid", "external_id", "lead_created_at", "free_trial_started_at", "primary_contact",
        "attributes",
      ] + Self.customerTextFields)
    let ds = c.string("data_source_uuid", required: true)
    if let ds, index.dataSource[ds] == nil { c.fail("data_source_uuid", "Data source not found") }
    guard let cust = parseCustomer(&c, dataSourceUUID: ds ?? ""), c.ok else { return Self.errors(c.errors) }
    if index.customerByExt[SBIndex.key(cust.dataSourceUUID, cust.externalID)] != nil {
      return Self.errors([("external_id", DuplicateMessage.customer)])
    }
    let stored = insertCustomer(cust)
    markChanged()
    return Self.json(201, customerJSON(stored))
  }

  func listCustomers(_ req: WireRequest) throws(ResponseError) -> WireResponse {
    let ds = req.queryValue("data_source_uuid")
    let ext = req.queryValue("external_id")
    let status = req.queryValue("status")
    var list: [SBCustomer]
    if let ds, let ext {
      list = index.customerByExt[SBIndex.key(ds, ext)].map { [state.customers[$0]] } ?? []
    } else {
      list = state.customers.filter {
        (ds == nil || $0.dataSourceUUID == ds) && (ext == nil || $0.externalIDs.contains(ext!))
      }
    }
    if let status {
      let model = mrrModel()
      list = list.filter { (model.customers[$0.uuid]?.status ?? "New Lead") == status }
    }
    let page = try paginate(list, req)
    return Self.json(200, .object(page.envelope("entries", page.items.map(customerJSON))))
  }

  func searchCustomers(_ req: WireRequest) throws(ResponseError) -> WireResponse {
    guard let email = req.queryValue("email"), !email.isEmpty else {
      return Self.code(400, "The email parameter is required", param: "email")
    }
    let list = state.customers.filter { $0.fields["email"]?.lowercased() == email.lowercased() }
    if list.isEmpty { return Self.code(404, "Can't find any customers with email: \"\(email)\"", param: "email") }
    let page = try paginate(list, req)
    return Self.json(200, .object(page.envelope("entries", page.items.map(customerJSON))))
  }

  func getCustomer(_ uuid: String) -> WireResponse {
    guard let i = index.customer[uuid] else { return Self.notFound("Customer") }
    return Self.json(200, customerJSON(state.customers[i]))
  }

  func customJSON(_ c: SBCustomer) -> JSONValue {
    var o = JSONObject()
    for a in c.custom { o[a.key] = (try? JSONParser.parse(a.valueJSON)) ?? .null }
    return .object(o)
  }

  /// `GET /v1/customers/{uuid}/attributes` → `{"tags":[…],"stripe":{},"clearbit":{},"custom":{…}}`
  /// (not wrapped; the shape ChartMogul's recorded responses and its Python client use).
  func getAttributes(_ uuid: String) -> WireResponse {
    guard let i = index.customer[uuid] else { return Self.notFound("Customer") }
    let c = state.customers[i]
    return Self.json(
      200,
      .object(
        JSONObject([
          "tags": .array(c.tags.map { .string($0) }), "stripe": .object(JSONObject()),
          "clearbit": .object(JSONObject()), "custom": customJSON(c),
        ])))
  }

  func addTags(_ uuid: String, _ req: WireRequest) throws(ResponseError) -> WireResponse {
    let i = try customerIndex(uuid)
    var c = Checker(try requireBody(req), allowed: ["tags"])
    guard let tags = c.stringArray("tags"), c.ok else {
      return Self.errors(c.ok ? [("tags", "is required")] : c.errors)
    }
    state.customers[i].tags = Self.dedupe(state.customers[i].tags + tags)
    markChanged()
    return Self.json(200, .object(JSONObject(["tags": .array(state.customers[i].tags.map { .string($0) })])))
  }

  /// POST: define/set attributes `{"custom":[{type,key,value,source?}]}`.
  func addCustom(_ uuid: String, _ req: WireRequest) throws(ResponseError) -> WireResponse {
    let i = try customerIndex(uuid)
    var c = Checker(try requireBody(req), allowed: ["custom"])
    guard let list = c.array("custom", required: true) else { return Self.errors(c.errors) }
    let attrs = parseCustomAttributes(list, prefix: "custom", existing: state.customers[i].custom, errors: &c)
    guard c.ok else { return Self.errors(c.errors) }
    for a in attrs {
      state.customers[i].custom.removeAll { $0.key == a.key }
      state.customers[i].custom.append(a)
    }
    markChanged()
    return Self.json(200, .object(JSONObject(["custom": customJSON(state.customers[i])])))
  }

  /// PUT: change values of attributes already defined `{"custom":{"key":value}}`.
  func updateCustom(_ uuid: String, _ req: WireRequest) throws(ResponseError) -> WireResponse {
    let i = try customerIndex(uuid)
    var c = Checker(try requireBody(req), allowed: ["custom"])
    guard let map = c.objectField("custom") else {
      return Self.errors(c.ok ? [("custom", "is required (an object of key: value)")] : c.errors)
    }
    var updated = state.customers[i].custom
    for f in map.fields {
      guard let k = updated.firstIndex(where: { $0.key == f.key }) else {
        c.fail("custom.\(f.key)", "is not defined for this customer; define it with POST …/attributes/custom first")
        continue
      }
      switch CustomAttributeRules.normalise(f.value, type: updated[k].type) {
      case .success(let v): updated[k].valueJSON = JSONWriter.string(v)
      case .failure(let e): c.fail("custom.\(f.key)", e.message)
      }
    }
    guard c.ok else { return Self.errors(c.errors) }
    state.customers[i].custom = updated
    markChanged()
    return Self.json(200, .object(JSONObject(["custom": customJSON(state.customers[i])])))
  }

  /// `POST /v1/customers/merges`: moves invoices and subscriptions of `from` into `into` → 202 `{}`.
  func mergeCustomers(_ req: WireRequest) throws(ResponseError) -> WireResponse {
    var c = Checker(try requireBody(req), allowed: ["from", "into"])
    func resolve(_ key: String) -> Int? {
      guard let o = c.objectField(key) else {
        c.missing(key, required: true)
        return nil
      }
      var r = Checker(o, allowed: ["customer_uuid", "external_id", "data_source_uuid"], prefix: key)
      var found: Int?
      if let u = r.string("customer_uuid") {
        found = index.customer[u]
      } else if let e = r.string("external_id", required: true), let d = r.string("data_source_uuid", required: true) {
        found = index.customerByExt[SBIndex.key(d, e)]
      }
      if found == nil && r.ok { r.fail("customer_uuid", "Customer not found") }
      c.absorb(r.errors)
      return found
    }
    let from = resolve("from")
    let into = resolve("into")
    guard c.ok, let from, let into else { return Self.errors(c.errors) }
    if from == into { return Self.errors([("into", "must be a different customer than from")]) }
    let src = state.customers[from]
    let dstUUID = state.customers[into].uuid
    for k in state.invoices.indices where state.invoices[k].customerUUID == src.uuid {
      state.invoices[k].customerUUID = dstUUID
    }
    for k in state.subscriptions.indices where state.subscriptions[k].customerUUID == src.uuid {
      state.subscriptions[k].customerUUID = dstUUID
    }
    state.customers[into].externalIDs += src.externalIDs
    state.customers[into].tags = Self.dedupe(state.customers[into].tags + src.tags + ["merged-customer"])
    for a in src.custom where !state.customers[into].custom.contains(where: { $0.key == a.key }) {
      state.customers[into].custom.append(a)
    }
    state.customers.remove(at: from)
    index = SBIndex(state)
    markChanged()
    return Self.json(202, .object(JSONObject()))
  }
}

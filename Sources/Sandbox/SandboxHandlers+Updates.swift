import Foundation
import RevenueCore

// Updates and removals on customers, plans and attributes, as ChartMogul documents them
// (dev.chartmogul.com/reference: "Update a Customer", "Update a Plan", "Remove Tags from a
// Customer", "Remove Custom Attributes from a Customer"); response codes from recorded traffic.
extension SandboxEngine {
  static let customerUpdateFields =
    ["lead_created_at", "free_trial_started_at", "primary_contact", "attributes"] + customerTextFields

  /// `PATCH /v1/customers/{uuid}` → 200 with the whole customer. `attributes.tags` replaces the
  /// tags; `attributes.custom` (`{key: value}`) changes values of attributes already defined.
  func updateCustomer(_ uuid: String, _ req: WireRequest) throws(ResponseError) -> WireResponse {
    let i = try customerIndex(uuid)
    var c = Checker(try requireBody(req), allowed: Self.customerUpdateFields)
    var updated = state.customers[i]
    for k in Self.customerTextFields where c.object[k] != nil {
      if c.object[k]?.isNull == true { updated.fields[k] = nil } else if let v = c.string(k) { updated.fields[k] = v }
    }
    if let country = updated.fields["country"], country.count != 2 || country != country.uppercased() {
      c.fail("country", "must be an ISO 3166-1 alpha-2 code such as DE, got '\(country)'")
    }
    if let email = updated.fields["email"], !email.isEmpty, !email.contains("@") {
      c.fail("email", "is not an email address: '\(email)'")
    }
    for key in ["lead_created_at", "free_trial_started_at"] where c.object[key] != nil {
      let t = c.timestamp(key)
      if let t, t > now() { c.fail(key, "must be in the past") }
      if key == "lead_created_at" { updated.leadCreatedAt = t } else { updated.freeTrialStartedAt = t }
    }
    if let pc = c.objectField("primary_contact") {
      var pcc = Checker(pc, allowed: Self.contactFields, prefix: "primary_contact")
      for k in Self.contactFields { _ = pcc.string(k) }
      c.absorb(pcc.errors)
      updated.primaryContactJSON = JSONWriter.string(.object(pc))
    }
    if let attrs = c.objectField("attributes") {
      var ac = Checker(attrs, allowed: ["tags", "custom"], prefix: "attributes")
      if let tags = ac.stringArray("tags") { updated.tags = Self.dedupe(tags) }
      if let custom = ac.objectField("custom") {
        for f in custom.fields {
          guard let k = updated.custom.firstIndex(where: { $0.key == f.key }) else {
            ac.fail(
              "custom.\(f.key)", "is not defined for this customer; define it with POST …/attributes/custom first")
            continue
          }
          switch CustomAttributeRules.normalise(f.value, type: updated.custom[k].type) {
          case .success(let v): updated.custom[k].valueJSON = JSONWriter.string(v)
          case .failure(let e): ac.fail("custom.\(f.key)", e.message)
          }
        }
      }
      c.absorb(ac.errors)
    }
    guard c.ok else { return Self.errors(c.errors) }
    state.customers[i] = updated
    markChanged()
    return Self.json(200, customerJSON(updated))
  }

  /// `PATCH /v1/plans/{uuid}` with any of `name`, `interval_count`, `interval_unit` → 202 with the
  /// updated plan (status as recorded from ChartMogul: chartmogul-go integration fixture plans.yaml).
  func updatePlan(_ uuid: String, _ req: WireRequest) throws(ResponseError) -> WireResponse {
    guard let i = index.plan[uuid] else { return Self.notFound("Plan") }
    var c = Checker(try requireBody(req), allowed: ["name", "interval_count", "interval_unit"])
    var plan = state.plans[i]
    if let n = c.string("name", required: c.object["name"] != nil) { plan.name = n }
    if let n = c.int("interval_count") {
      if n <= 0 { c.fail("interval_count", "must be a positive integer") } else { plan.intervalCount = Int(n) }
    }
    if let u = c.choice("interval_unit", ["day", "month", "year"]) { plan.intervalUnit = IntervalUnit(rawValue: u)! }
    guard c.ok else { return Self.errors(c.errors) }
    state.plans[i] = plan
    markChanged()
    return Self.json(202, planJSON(plan))
  }

  /// `DELETE /v1/customers/{uuid}/attributes/tags` `{"tags":[…]}` → 200 `{"tags":[remaining]}`.
  func removeTags(_ uuid: String, _ req: WireRequest) throws(ResponseError) -> WireResponse {
    let i = try customerIndex(uuid)
    var c = Checker(try requireBody(req), allowed: ["tags"])
    guard let tags = c.stringArray("tags"), c.ok else {
      return Self.errors(c.ok ? [("tags", "is required")] : c.errors)
    }
    state.customers[i].tags.removeAll { tags.contains($0) }
    markChanged()
    return Self.json(200, .object(JSONObject(["tags": .array(state.customers[i].tags.map { .string($0) })])))
  }

  /// `DELETE /v1/customers/{uuid}/attributes/custom` `{"custom":["key",…]}` → 200 with the custom
  /// attributes left (`{"custom":{…}}`). Unknown keys are ignored, as removing is idempotent.
  func removeCustom(_ uuid: String, _ req: WireRequest) throws(ResponseError) -> WireResponse {
    let i = try customerIndex(uuid)
    var c = Checker(try requireBody(req), allowed: ["custom"])
    guard let keys = c.stringArray("custom"), c.ok else {
      return Self.errors(c.ok ? [("custom", "is required (an array of attribute keys)")] : c.errors)
    }
    state.customers[i].custom.removeAll { keys.contains($0.key) }
    markChanged()
    return Self.json(200, .object(JSONObject(["custom": customJSON(state.customers[i])])))
  }
}

import Foundation
import RevenueCore
import Staging
import TransformRules

/// The customer-identity index one transform hands to the next run: `transform/customer-index.ndjson`.
///
/// Why: an incremental run only extracts what changed since the cursor. A Stripe
/// subscription is re-listed every night but its customer (unchanged) is not, so without memory of
/// earlier runs `cus_…` could not be linked to the app user it was linked to before and became a
/// `stripe:cus_…` duplicate; and custom attributes (gateway list, country, name, referrer, lead date)
/// would regress to what this run's few records say.
///
/// Rule — every stage can be rerun on its own from what was staged: the transform of run N reads
/// exactly (1) `extract/` of run N and (2) the index published by the transform of the latest
/// earlier run (run ids sort by time) whose `transform/manifest.json` lists one. Its output, this
/// run's index included (earlier ∪ this run), is a pure function of those staged files, so rerunning
/// transform of run N — on its own, or after later runs — is byte-identical as long as that earlier
/// index is unchanged. The manifest names the index used (`details.prior_customer_index`). The
/// index is cumulative: a run folder is only needed as the latest one holding it.
///
/// Precedence: earlier runs' facts come first (a gateway customer once linked to an app user keeps
/// that external id — ChartMogul holds its invoices under it); this run fills in what was unknown.
/// Enrichment facts are joins (gateway set union; the most recent name/country/referrer wins), so the
/// order of runs never matters for them. The customer list then covers everyone known so far; load
/// sends only what ChartMogul does not hold yet (customers by external id, attributes by digest).
///
/// Lines (JSONWriter, sorted keys), all identities first, each group sorted:
/// `{"type":"identity","gateway","customer_id"?,"email"?,"app_user_id"?,"name"?,"country"?,"created_at"?}`
/// — one per person a gateway named (by customer id, else e-mail, else app user id);
/// `{"type":"customer","external_id","gateways":[…],"country"?,"name"?,"referrer"?}` with the dated
/// values as `{"at": ISO 8601, "value"}` — payment-derived enrichment by customer external id.
enum CustomerHistory {
  static let fileName = "customer-index.ndjson"

  /// The index an earlier run published.
  struct Prior {
    var run: String
    var path: String
    var entry: FileEntry

    var json: JSONValue {
      ["run": .string(run), "lines": .int(Int64(entry.lines)), "sha256": .string(entry.sha256)]
    }
  }

  /// The index of the latest run before `run` whose published transform holds one; nil on a first run.
  static func locate(before run: RunFolder) throws -> Prior? {
    for id in run.area.runIDs(createdBefore: run.id).reversed() {
      let earlier = try RunFolder(area: run.area, id: id)
      guard let m = try earlier.manifest("transform"), let e = m.file(fileName) else { continue }
      return Prior(run: id, path: earlier.file("transform", fileName), entry: e)
    }
    return nil
  }

  struct DamagedIndex: Error, CustomStringConvertible {
    var prior: Prior
    var line: Int
    var reason: String
    var description: String {
      "\(prior.path):\(line): \(reason); the customer index of run \(prior.run) is damaged — rerun `transform --run-id \(prior.run)` and then this transform"
    }
  }

  /// Offers the earlier runs' identities to `customers` (call before this run's records).
  static func readIdentities(_ prior: Prior, into customers: CustomerIndex) throws {
    var count = 0
    try each(prior) { v, line in
      count = line
      guard v["type"]?.stringValue == "identity" else { return }
      guard let gateway = v.text("gateway") else {
        throw DamagedIndex(prior: prior, line: line, reason: "identity without gateway")
      }
      customers.addIdentity(
        Identity(
          gateway: gateway, customerID: v.text("customer_id"), appUserID: v.text("app_user_id"), email: v.text("email"),
          name: v.text("name"), country: v.text("country"), createdAt: v.time("created_at")))
    }
    guard count == prior.entry.lines else {
      throw DamagedIndex(prior: prior, line: count, reason: "\(count) lines, its manifest says \(prior.entry.lines)")
    }
  }

  /// Joins the earlier runs' enrichment facts into `customers`, each moved to where its customer
  /// resolves now (call after `finish()`).
  static func readCustomerFacts(_ prior: Prior, into customers: CustomerIndex) throws {
    try each(prior) { v, line in
      guard v["type"]?.stringValue == "customer" else { return }
      guard let earlier = v.text("external_id") else {
        throw DamagedIndex(prior: prior, line: line, reason: "customer without external_id")
      }
      let target = customers.currentExternalID(forEarlier: earlier)
      let gateways = (v["gateways"]?.arrayValue ?? []).compactMap(\.stringValue)
      if !gateways.isEmpty { customers.gatewaysByCustomer[target, default: []].formUnion(gateways) }
      for (key, fill) in [("country", CustomerIndex.Fill.country), ("name", .name), ("referrer", .referrer)] {
        guard let d = v[key] else { continue }
        guard let at = d.time("at"), let value = d.text("value") else {
          throw DamagedIndex(prior: prior, line: line, reason: "'\(key)' needs 'at' (a timestamp) and 'value'")
        }
        customers.offer(fill, target, at, value)
      }
    }
  }

  static func each(_ prior: Prior, _ body: (JSONValue, Int) throws -> Void) throws {
    guard FileSystem.exists(prior.path) else {
      throw StagingError(
        "\(prior.path) is listed in run \(prior.run)'s transform manifest but missing; rerun `transform --run-id \(prior.run)`"
      )
    }
    try NDJSONReader(path: prior.path).forEachValue { result, line in
      switch result {
      case .failure(let e): throw DamagedIndex(prior: prior, line: line, reason: "not JSON (\(e))")
      case .success(let v): try body(v, line)
      }
    }
  }

  /// Writes the index of this run: every identity seen (earlier runs' and this run's) compacted to one
  /// line per person, then the enrichment facts of every customer.
  static func write(_ customers: CustomerIndex, to out: NDJSONWriter) throws {
    var merged: [String: Identity] = [:]
    for id in customers.identities {
      let key: String
      if let c = id.customerID {
        key = id.gateway + "\u{1}c\u{1}" + c
      } else if let e = id.email {
        key = id.gateway + "\u{1}e\u{1}" + e
      } else if let a = id.appUserID {
        key = id.gateway + "\u{1}u\u{1}" + a
      } else {
        continue
      }
      guard var m = merged[key] else {
        merged[key] = id
        continue
      }
      m.appUserID = m.appUserID ?? id.appUserID
      m.email = m.email ?? id.email
      m.name = m.name ?? id.name
      m.country = m.country ?? id.country
      if let c = id.createdAt, m.createdAt.map({ c < $0 }) ?? true { m.createdAt = c }
      merged[key] = m
    }
    for key in merged.keys.sorted(by: utf8Less) {
      let i = merged[key]!
      var o: JSONObject = ["type": "identity", "gateway": .string(i.gateway)]
      o.set("customer_id", .optional(i.customerID))
      o.set("email", .optional(i.email))
      o.set("app_user_id", .optional(i.appUserID))
      o.set("name", .optional(i.name))
      o.set("country", .optional(i.country))
      o.set("created_at", .optional(i.createdAt?.iso8601))
      try out.write(.object(o))
    }
    var ids = Set(customers.gatewaysByCustomer.keys)
    ids.formUnion(customers.fillCountry.keys)
    ids.formUnion(customers.fillName.keys)
    ids.formUnion(customers.referrerFromMetadata.keys)
    for e in ids.sorted(by: utf8Less) {
      var o: JSONObject = ["type": "customer", "external_id": .string(e)]
      o["gateways"] = .array((customers.gatewaysByCustomer[e] ?? []).sorted().map { .string($0) })
      func dated(_ v: (Timestamp, String)?) -> JSONValue? {
        v.map { ["at": .string($0.0.iso8601), "value": .string($0.1)] }
      }
      o.set("country", dated(customers.fillCountry[e]))
      o.set("name", dated(customers.fillName[e]))
      o.set("referrer", dated(customers.referrerFromMetadata[e]))
      try out.write(.object(o))
    }
  }
}

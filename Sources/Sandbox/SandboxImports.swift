import Foundation
import RevenueCore

/// Bulk `json_imports` (reference §8): accepted synchronously after a structural check, then
/// `queued` → `processing` → `completed` after `processingDelay`. Records are grouped per customer
/// (invoices by `customer_external_id`, line items and transactions through their invoice); each
/// customer's group is imported all-or-nothing, so one invalid record fails its customer
/// (`status_details[<customer external id>].status = "failed"` with `errors`) while other customers
/// import. Customers and plans that already exist are updated (upsert); invoices, line items and
/// transactions must be new. Records that link to no known invoice are reported under `"unlinked"`.
extension SandboxEngine {
  static let importSections = ["customers", "plans", "invoices", "line_items", "transactions", "subscription_events"]

  func importJSON(_ imp: SBJSONImport) -> JSONValue {
    .object(
      JSONObject([
        "id": .string(imp.id), "data_source_uuid": .string(imp.dataSourceUUID), "status": .string(imp.status),
        "external_id": sbString(imp.externalID),
        "status_details": (try? JSONParser.parse(imp.statusDetailsJSON)) ?? .object(JSONObject()),
        "created_at": .string(Timestamp(seconds: imp.createdAt).iso8601),
        "updated_at": .string(Timestamp(seconds: imp.updatedAt).iso8601),
      ]))
  }

  func createImport(_ ds: String, _ req: WireRequest) throws(ResponseError) -> WireResponse {
    guard index.dataSource[ds] != nil else { return Self.json(404, ["error": "Data source not found"]) }
    var c = Checker(try requireBody(req), allowed: ["external_id"] + Self.importSections)
    let ext = c.string("external_id")
    var total = 0
    for s in Self.importSections {
      guard let list = c.array(s) else { continue }
      total += list.count
      for (i, v) in list.enumerated() where v.objectValue == nil { c.fail("\(s)[\(i)]", "must be a JSON object") }
    }
    if let ev = c.object["subscription_events"]?.arrayValue, !ev.isEmpty {
      c.fail("subscription_events", "are not supported by the sandbox (the ETL imports invoices); send []")
    }
    if c.ok && total == 0 { c.fail("customers", "the import contains no records") }
    if let e = ext, state.imports.contains(where: { $0.dataSourceUUID == ds && $0.externalID == e }) {
      c.fail("external_id", DuplicateMessage.transaction)
    }
    guard c.ok else { return Self.errors(c.errors) }
    let t = now()
    let imp = SBJSONImport(
      id: UUID().uuidString.lowercased(), dataSourceUUID: ds, externalID: ext, status: "queued",
      statusDetailsJSON: "{}",
      createdAt: t, updatedAt: t, pendingPayload: String(decoding: req.body, as: UTF8.self))
    state.imports.append(imp)
    index.importByID[imp.id] = state.imports.count - 1
    markChanged()
    scheduleImport(imp.id)
    return Self.json(200, importJSON(imp))
  }

  /// The import by returned `id` or by the request's `external_id` (both appear in the docs).
  func getImport(_ ds: String, _ id: String) -> WireResponse {
    guard index.dataSource[ds] != nil else { return Self.json(404, ["error": "Data source not found"]) }
    let i = index.importByID[id] ?? state.imports.firstIndex { $0.dataSourceUUID == ds && $0.externalID == id }
    guard let i, state.imports[i].dataSourceUUID == ds else { return Self.notFound("Import") }
    return Self.json(200, importJSON(state.imports[i]))
  }

  func scheduleImport(_ id: String) {
    let half = UInt64(max(0, options.processingDelay) / 2 * 1e9)
    importTasks[id] = Task {
      try? await Task.sleep(nanoseconds: half)
      guard !Task.isCancelled else { return }
      self.setImportStatus(id, "processing")
      try? await Task.sleep(nanoseconds: half)
      guard !Task.isCancelled else { return }
      self.processImport(id)
    }
  }

  func setImportStatus(_ id: String, _ status: String) {
    guard let i = index.importByID[id] else { return }
    state.imports[i].status = status
    state.imports[i].updatedAt = now()
    markChanged()
  }

  struct Group {
    var customer: JSONObject?
    var invoices: [JSONObject] = []
    var lines: [JSONObject] = []
    var transactions: [JSONObject] = []
  }

  func processImport(_ id: String) {
    importTasks[id] = nil
    guard let i = index.importByID[id], let text = state.imports[i].pendingPayload,
      case .object(let body)? = try? JSONParser.parse(text)
    else { return }
    let ds = state.imports[i].dataSourceUUID
    var details = JSONObject()
    // Plans first: customers' line items refer to them.
    var planErrors: [JSONValue] = []
    for v in body["plans"]?.arrayValue ?? [] {
      var c = Checker(
        v.objectValue ?? JSONObject(), allowed: ["external_id", "name", "interval_count", "interval_unit"])
      let ext = c.string("external_id", required: true)
      guard let plan = parsePlan(&c, dataSourceUUID: ds), let ext else {
        planErrors += Self.errorList("plans", ext, c.errors)
        continue
      }
      if let pi = index.planByExt[SBIndex.key(ds, ext)] {
        state.plans[pi].name = plan.name
        state.plans[pi].intervalCount = plan.intervalCount
        state.plans[pi].intervalUnit = plan.intervalUnit
      } else {
        insertPlan(plan)
      }
    }
    if body["plans"] != nil {
      details["plans"] =
        planErrors.isEmpty ? ["status": "imported"] : ["status": "failed", "errors": .array(planErrors)]
    }
    // Group records per customer external id.
    var order: [String] = []
    var groups: [String: Group] = [:]
    func group(_ key: String, _ f: (inout Group) -> Void) {
      if groups[key] == nil {
        order.append(key)
        groups[key] = Group()
      }
      f(&groups[key]!)
    }
    var invoiceOwner: [String: String] = [:]
    for v in body["customers"]?.arrayValue ?? [] {
      let o = v.objectValue ?? JSONObject()
      group(o["external_id"]?.stringValue ?? "unlinked") { $0.customer = o }
    }
    for v in body["invoices"]?.arrayValue ?? [] {
      let o = v.objectValue ?? JSONObject()
      let key = o["customer_external_id"]?.stringValue ?? "unlinked"
      if let e = o["external_id"]?.stringValue { invoiceOwner[e] = key }
      group(key) { $0.invoices.append(o) }
    }
    func owner(_ o: JSONObject) -> String {
      guard let e = o["invoice_external_id"]?.stringValue else { return "unlinked" }
      if let k = invoiceOwner[e] { return k }
      if let ii = index.invoiceByExt[SBIndex.key(ds, e)], let ci = index.customer[state.invoices[ii].customerUUID] {
        return state.customers[ci].externalID
      }
      return "unlinked"
    }
    for v in body["line_items"]?.arrayValue ?? [] {
      let o = v.objectValue ?? JSONObject()
      group(owner(o)) { $0.lines.append(o) }
    }
    for v in body["transactions"]?.arrayValue ?? [] {
      let o = v.objectValue ?? JSONObject()
      group(owner(o)) { $0.transactions.append(o) }
    }
    for key in order {
      details[key] = importGroup(key, groups[key]!, ds: ds)
    }
    state.imports[i].status = "completed"
    state.imports[i].statusDetailsJSON = JSONWriter.string(.object(details))
    state.imports[i].pendingPayload = nil
    state.imports[i].updatedAt = now()
    markChanged()
  }

  static func errorList(_ object: String, _ ext: String?, _ errs: [(String, String)]) -> [JSONValue] {
    errs.map {
      ["object": .string(object), "external_id": sbString(ext), "field": .string($0.0), "message": .string($0.1)]
    }
  }
}

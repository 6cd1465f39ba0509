import Foundation
import RevenueCore

// Data sources and plans (reference §2, §3).
extension SandboxEngine {
  func dataSourceJSON(_ d: SBDataSource) -> JSONValue {
    .object(
      JSONObject([
        "uuid": .string(d.uuid), "name": .string(d.name), "system": .string(d.system),
        "created_at": sbTime(d.createdAt),
        "status": "idle",
      ]))
  }

  func createDataSource(_ req: WireRequest) throws(ResponseError) -> WireResponse {
    let o = try requireBody(req)
    var c = Checker(o, allowed: ["name", "system"])
    let raw = o["name"]
    if raw == nil || raw == .null || raw?.stringValue?.trimmingCharacters(in: .whitespaces) == "" {
      return Self.errors(c.errors + [("name", "A name is required for each data source.")])
    }
    let name = c.string("name", required: true)
    let system = c.string("system") ?? "Import API"
    guard c.ok, let name else { return Self.errors(c.errors) }
    if state.dataSources.contains(where: { $0.name == name }) {
      return Self.errors([("name", DuplicateMessage.dataSourceName)])
    }
    let d = SBDataSource(uuid: SBID.make("ds_"), name: name, system: system, createdAt: now())
    state.dataSources.append(d)
    index.dataSource[d.uuid] = state.dataSources.count - 1
    markChanged()
    return Self.json(201, dataSourceJSON(d))
  }

  func listDataSources(_ req: WireRequest) -> WireResponse {
    let name = req.queryValue("name")
    let system = req.queryValue("system")
    let list = state.dataSources.filter { (name == nil || $0.name == name) && (system == nil || $0.system == system) }
    return Self.json(200, .object(JSONObject(["data_sources": .array(list.map(dataSourceJSON))])))
  }

  func getDataSource(_ uuid: String) -> WireResponse {
    guard let i = index.dataSource[uuid] else { return Self.json(404, ["error": "Data source not found"]) }
    return Self.json(200, dataSourceJSON(state.dataSources[i]))
  }

  // MARK: - Plans

  func planJSON(_ p: SBPlan) -> JSONValue {
    .object(
      JSONObject([
        "uuid": .string(p.uuid), "data_source_uuid": .string(p.dataSourceUUID), "name": .string(p.name),
        "interval_count": .int(p.intervalCount), "interval_unit": .string(p.intervalUnit.rawValue),
        "external_id": .string(p.externalID),
      ]))
  }

  /// Validates a plan object (create endpoint or bulk `plans[]`); the data source is given.
  func parsePlan(_ c: inout Checker, dataSourceUUID: String) -> SBPlan? {
    let name = c.string("name", required: true)
    let count = c.int("interval_count", required: true)
    let unit = c.choice("interval_unit", ["day", "month", "year"], required: true)
    let ext = c.string("external_id")
    if let n = count, n <= 0 { c.fail("interval_count", "must be a positive integer") }
    guard c.ok, let name, let count, let unit else { return nil }
    return SBPlan(
      uuid: SBID.make("pl_"), dataSourceUUID: dataSourceUUID, name: name, intervalCount: Int(count),
      intervalUnit: IntervalUnit(rawValue: unit)!, externalID: ext ?? UUID().uuidString.lowercased())
  }

  func insertPlan(_ p: SBPlan) {
    state.plans.append(p)
    index.plan[p.uuid] = state.plans.count - 1
    index.planByExt[SBIndex.key(p.dataSourceUUID, p.externalID)] = state.plans.count - 1
  }

  func createPlan(_ req: WireRequest) throws(ResponseError) -> WireResponse {
    let o = try requireBody(req)
    var c = Checker(o, allowed: ["data_source_uuid", "name", "interval_count", "interval_unit", "external_id"])
    let ds = c.string("data_source_uuid", required: true)
    if let ds, index.dataSource[ds] == nil { c.fail("data_source_uuid", "Data source not found") }
    guard let plan = parsePlan(&c, dataSourceUUID: ds ?? ""), c.ok else { return Self.errors(c.errors) }
    if index.planByExt[SBIndex.key(plan.dataSourceUUID, plan.externalID)] != nil {
      return Self.errors([("external_id", DuplicateMessage.plan)])
    }
    insertPlan(plan)
    markChanged()
    return Self.json(201, planJSON(plan))
  }

  func listPlans(_ req: WireRequest) throws(ResponseError) -> WireResponse {
    let ds = req.queryValue("data_source_uuid")
    let ext = req.queryValue("external_id")
    let list: [SBPlan]
    if let ds, let ext {
      list = index.planByExt[SBIndex.key(ds, ext)].map { [state.plans[$0]] } ?? []
    } else {
      list = state.plans.filter { (ds == nil || $0.dataSourceUUID == ds) && (ext == nil || $0.externalID == ext) }
    }
    let page = try paginate(list, req)
    return Self.json(200, .object(page.envelope("plans", page.items.map(planJSON))))
  }

  func getPlan(_ uuid: String) -> WireResponse {
    guard let i = index.plan[uuid] else { return Self.notFound("Plan") }
    return Self.json(200, planJSON(state.plans[i]))
  }
}

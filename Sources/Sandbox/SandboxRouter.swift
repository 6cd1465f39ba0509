import Foundation
import RevenueCore

/// One page of a list (reference §10: `per_page` ≤ 200, default 200, opaque `cursor`, `has_more`).
struct Page<T> {
  var items: ArraySlice<T>
  var cursor: String?
  var hasMore: Bool
  var perPage: Int
  var currentPage: Int
  var totalPages: Int

  /// The usual envelope keys; the caller adds the list under its own key.
  func envelope(_ key: String, _ values: [JSONValue]) -> JSONObject {
    JSONObject([
      key: .array(values), "cursor": sbString(cursor), "has_more": .bool(hasMore), "per_page": .int(perPage),
      "page": .int(currentPage), "current_page": .int(currentPage), "total_pages": .int(totalPages),
    ])
  }
}

extension SandboxEngine {
  /// Cuts `items` at the request's cursor. Cursors are opaque to clients (base64 of an offset);
  /// the offset-based `page` parameter is refused as ChartMogul deprecated it.
  func paginate<T>(_ items: [T], _ req: WireRequest) throws(ResponseError) -> Page<T> {
    var perPage = 200
    if let p = req.queryValue("per_page") {
      guard let n = Int(p), n > 0 else {
        throw ResponseError(Self.code(400, "per_page must be a positive integer, got '\(p)'", param: "per_page"))
      }
      perPage = min(n, 200)
    }
    if req.queryValue("page") != nil {
      throw ResponseError(
        Self.code(400, "The page parameter is deprecated; use cursor and has_more", param: "page"))
    }
    var offset = 0
    if let c = req.queryValue("cursor"), !c.isEmpty {
      guard let d = Data(base64Encoded: c), let text = String(data: d, encoding: .utf8), text.hasPrefix("o:"),
        let n = Int(text.dropFirst(2)), n >= 0
      else { throw ResponseError(Self.code(400, "Invalid cursor", param: "cursor")) }
      offset = n
    }
    let start = min(offset, items.count)
    let end = min(start + perPage, items.count)
    let more = end < items.count
    let cursor = more ? Data("o:\(end)".utf8).base64EncodedString() : nil
    return Page(
      items: items[start..<end], cursor: cursor, hasMore: more, perPage: perPage, currentPage: start / perPage + 1,
      totalPages: max(1, (items.count + perPage - 1) / perPage))
  }

  /// Dispatches one authenticated request.
  func route(_ req: WireRequest) -> WireResponse {
    let s = req.path.split(separator: "/").map(String.init)
    guard s.first == "v1" else { return Self.code(404, "No such endpoint: \(req.path)", param: nil) }
    let m = req.method
    do {
      switch (m, Array(s.dropFirst())) {
      case ("GET", ["ping"]):
        return Self.json(200, ["data": "pong!"])
      case ("POST", ["data_sources"]): return try createDataSource(req)
      case ("GET", ["data_sources"]): return listDataSources(req)
      case ("GET", ["data_sources", let ds]): return getDataSource(ds)
      case ("POST", ["data_sources", let ds, "json_imports"]): return try createImport(ds, req)
      case ("GET", ["data_sources", let ds, "json_imports", let id]): return getImport(ds, id)
      case ("POST", ["plans"]): return try createPlan(req)
      case ("GET", ["plans"]): return try listPlans(req)
      case ("GET", ["plans", let id]): return getPlan(id)
      case ("POST", ["customers"]): return try createCustomer(req)
      case ("GET", ["customers"]): return try listCustomers(req)
      case ("GET", ["customers", "search"]): return try searchCustomers(req)
      case ("POST", ["customers", "merges"]): return try mergeCustomers(req)
      case ("GET", ["customers", let id]): return getCustomer(id)
      case ("GET", ["customers", let id, "subscriptions"]): return try metricsSubscriptions(id, req)
      case ("GET", ["customers", let id, "attributes"]): return getAttributes(id)
      case ("POST", ["customers", let id, "attributes", "tags"]): return try addTags(id, req)
      case ("POST", ["customers", let id, "attributes", "custom"]): return try addCustom(id, req)
      case ("PUT", ["customers", let id, "attributes", "custom"]): return try updateCustom(id, req)
      case ("POST", ["import", "customers", let id, "invoices"]): return try importInvoices(id, req)
      case ("GET", ["import", "customers", let id, "invoices"]): return try listCustomerInvoices(id, req)
      case ("GET", ["import", "customers", let id, "subscriptions"]): return try importSubscriptions(id, req)
      case ("PATCH", ["import", "subscriptions", let id]): return try cancelSubscription(id, req)
      case ("POST", ["import", "invoices", let id, "transactions"]): return try addTransaction(id, req)
      case ("GET", ["invoices"]): return try listInvoices(req)
      case ("GET", ["invoices", let id]): return getInvoice(id)
      case ("GET", ["metrics", let metric]): return try metrics(metric, req)
      default:
        return Self.code(404, "No such endpoint: \(m) \(req.path) (not implemented by the sandbox)", param: nil)
      }
    } catch {
      return error.response
    }
  }

  func requireBody(_ req: WireRequest) throws(ResponseError) -> JSONObject {
    switch body(req) {
    case .success(let o): return o
    case .failure(let e): throw e
    }
  }

  /// Unknown query parameters are ignored like the real API; known ones are checked by handlers.
  func customerIndex(_ uuid: String) throws(ResponseError) -> Int {
    guard let i = index.customer[uuid] else { throw ResponseError(Self.notFound("Customer")) }
    return i
  }
}

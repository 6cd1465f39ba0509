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
  /// Cuts `items` at the request's cursor. Cursors are opaque to clients (base64url of an offset);
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
      var b64 = c.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
      while b64.count % 4 != 0 { b64 += "=" }
      guard let d = Data(base64Encoded: b64), let text = String(data: d, encoding: .utf8), text.hasPrefix("o:"),
        let n = Int(text.dropFirst(2)), n >= 0
      else { throw ResponseError(Self.code(400, "Invalid cursor", param: "cursor")) }
      offset = n
    }
    let start = min(offset, items.count)
    let end = min(start + perPage, items.count)
    let more = end < items.count
    // base64url without padding: survives query strings that are not percent-encoded.
    let cursor =
      more
      ? Data("o:\(end)".utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-")
        .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "") : nil
    return Page(
      items: items[start..<end], cursor: cursor, hasMore: more, perPage: perPage, currentPage: start / perPage + 1,
      totalPages: max(1, (items.count + perPage - 1) / perPage))
  }

  /// Dispatches one authenticated request.
  func route(_ req: WireRequest) -> WireResponse {
    let s = req.path.split(separator: "/").map(String.init)
    guard s.first == "v1" else { return Self.code(404, "No such endpoint: \(req.path)", param: nil) }
    let m = req.method
    let p = Array(s.dropFirst())
    func at(_ method: String, _ pattern: String) -> [String]? {
      guard method == m else { return nil }
      let parts = pattern.split(separator: "/").map(String.init)
      guard parts.count == p.count else { return nil }
      var ids: [String] = []
      for (a, b) in zip(parts, p) {
        if a == "*" { ids.append(b) } else if a != b { return nil }
      }
      return ids
    }
    do {
      if at("GET", "ping") != nil { return Self.json(200, ["data": "pong!"]) }
      if at("POST", "data_sources") != nil { return try createDataSource(req) }
      if at("GET", "data_sources") != nil { return listDataSources(req) }
      if let ids = at("GET", "data_sources/*") {
        let ds = ids[0]
        return getDataSource(ds)
      }
      if let ids = at("POST", "data_sources/*/json_imports") {
        let ds = ids[0]
        return try createImport(ds, req)
      }
      if let ids = at("GET", "data_sources/*/json_imports/*") {
        let ds = ids[0]
        let id = ids[1]
        return getImport(ds, id)
      }
      if at("POST", "plans") != nil { return try createPlan(req) }
      if at("GET", "plans") != nil { return try listPlans(req) }
      if let ids = at("GET", "plans/*") {
        let id = ids[0]
        return getPlan(id)
      }
      if let ids = at("PATCH", "plans/*") { return try updatePlan(ids[0], req) }
      if at("POST", "customers") != nil { return try createCustomer(req) }
      if at("GET", "customers") != nil { return try listCustomers(req) }
      if at("GET", "customers/search") != nil { return try searchCustomers(req) }
      if at("POST", "customers/merges") != nil { return try mergeCustomers(req) }
      if let ids = at("GET", "customers/*") {
        let id = ids[0]
        return getCustomer(id)
      }
      if let ids = at("PATCH", "customers/*") { return try updateCustomer(ids[0], req) }
      if let ids = at("DELETE", "customers/*/attributes/tags") { return try removeTags(ids[0], req) }
      if let ids = at("DELETE", "customers/*/attributes/custom") { return try removeCustom(ids[0], req) }
      if at("POST", "subscription_events") != nil { return try createEvent(req) }
      if at("GET", "subscription_events") != nil { return try listEvents(req) }
      if at("PATCH", "subscription_events") != nil { return try updateEvent(req) }
      if at("DELETE", "subscription_events") != nil { return try deleteEvent(req) }
      if let ids = at("GET", "customers/*/subscriptions") {
        let id = ids[0]
        return try metricsSubscriptions(id, req)
      }
      if let ids = at("GET", "customers/*/attributes") {
        let id = ids[0]
        return getAttributes(id)
      }
      if let ids = at("POST", "customers/*/attributes/tags") {
        let id = ids[0]
        return try addTags(id, req)
      }
      if let ids = at("POST", "customers/*/attributes/custom") {
        let id = ids[0]
        return try addCustom(id, req)
      }
      if let ids = at("PUT", "customers/*/attributes/custom") {
        let id = ids[0]
        return try updateCustom(id, req)
      }
      if let ids = at("POST", "import/customers/*/invoices") {
        let id = ids[0]
        return try importInvoices(id, req)
      }
      if let ids = at("GET", "import/customers/*/invoices") {
        let id = ids[0]
        return try listCustomerInvoices(id, req)
      }
      if let ids = at("GET", "import/customers/*/subscriptions") {
        let id = ids[0]
        return try importSubscriptions(id, req)
      }
      if let ids = at("PATCH", "import/subscriptions/*") {
        let id = ids[0]
        return try cancelSubscription(id, req)
      }
      if let ids = at("POST", "import/invoices/*/transactions") {
        let id = ids[0]
        return try addTransaction(id, req)
      }
      if at("GET", "invoices") != nil { return try listInvoices(req) }
      if let ids = at("GET", "invoices/*") {
        let id = ids[0]
        return getInvoice(id)
      }
      if let ids = at("GET", "metrics/*") {
        let metric = ids[0]
        return try metrics(metric, req)
      }
      return Self.code(404, "No such endpoint: \(m) \(req.path) (not implemented by the sandbox)", param: nil)
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

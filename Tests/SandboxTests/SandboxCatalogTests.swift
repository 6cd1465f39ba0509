import ETLTestSupport
import Foundation
import RevenueCore
import Sandbox
import Testing

/// Ping, auth, data sources, plans and pagination over real loopback HTTP.
@Suite struct SandboxCatalogTests {
  @Test func pingAndAuth() async throws {
    try await withSandbox { sb in
      let ok = try await sb.client.get("/v1/ping")
      #expect(ok.status == 200)
      #expect(ok.json == ["data": "pong!"])
      let wrong = try await sb.client.send("GET", "/v1/ping", key: "not-the-key")
      #expect(wrong.status == 401)
      #expect(sameJSON(wrong.json, ["code": 401, "message": "No valid API key provided", "param": nil]))
      let none = try await sb.client.send("GET", "/v1/ping", key: .some(nil))
      #expect(none.status == 401)
      // password equal to the key is accepted too (reference §1)
      let both = "Basic " + Data("\(sb.apiKey):\(sb.apiKey)".utf8).base64EncodedString()
      #expect(try await sb.client.send("GET", "/v1/ping", authorization: both).status == 200)
      let other = "Basic " + Data("\(sb.apiKey):other".utf8).base64EncodedString()
      #expect(try await sb.client.send("GET", "/v1/ping", authorization: other).status == 401)
      #expect(try await sb.client.send("GET", "/v1/ping", authorization: "Bearer \(sb.apiKey)").status == 401)
    }
  }

  @Test func dataSources() async throws {
    try await withSandbox { sb in
      let created = try await sb.client.post("/v1/data_sources", ["name": "Second"])
      #expect(created.status == 201)
      let uuid = try #require(created.json?["uuid"]?.stringValue)
      #expect(uuid.hasPrefix("ds_"))
      #expect(created.json?["system"] == "Import API")
      let dup = try await sb.client.post("/v1/data_sources", ["name": "Second"])
      #expect(dup.status == 422)
      #expect(dup.json == ["errors": ["name": "Has already been taken."]])
      let missing = try await sb.client.post("/v1/data_sources", ["system": "x"])
      #expect(missing.json == ["errors": ["name": "A name is required for each data source."]])
      let list = try await sb.client.get("/v1/data_sources")
      #expect(list.json?["data_sources"]?.arrayValue?.count == 2)
      let byName = try await sb.client.get("/v1/data_sources?name=Second")
      #expect(byName.json?["data_sources"]?.arrayValue?.first?["uuid"]?.stringValue == uuid)
      #expect(try await sb.client.get("/v1/data_sources/\(uuid)").json?["name"] == "Second")
      let unknown = try await sb.client.get("/v1/data_sources/ds_nope")
      #expect(unknown.status == 404)
      #expect(unknown.json == ["error": "Data source not found"])
    }
  }

  @Test func plansCreateFilterGetAndErrors() async throws {
    try await withSandbox { sb in
      let uuid = try await sb.plan("starter_usd_1month", name: "Starter")
      #expect(uuid.hasPrefix("pl_"))
      let dup = try await sb.client.post(
        "/v1/plans",
        [
          "data_source_uuid": .string(sb.dataSourceUUID), "name": "Starter", "interval_count": 1,
          "interval_unit": "month", "external_id": "starter_usd_1month",
        ])
      #expect(dup.status == 422)
      #expect(dup.json?["errors"]?["external_id"] == "A plan with this identifier already exists in our system.")
      let filtered = try await sb.client.get(
        "/v1/plans?data_source_uuid=\(sb.dataSourceUUID)&external_id=starter_usd_1month")
      #expect(filtered.json?["plans"]?.arrayValue?.map { $0["uuid"] } == [.string(uuid)])
      #expect(filtered.json?["has_more"] == false)
      let none = try await sb.client.get("/v1/plans?external_id=nope")
      #expect(none.json?["plans"] == [])
      #expect(try await sb.client.get("/v1/plans/\(uuid)").json?["interval_unit"] == "month")
      #expect(try await sb.client.get("/v1/plans/pl_missing").status == 404)

      let bad = try await sb.client.post(
        "/v1/plans",
        [
          "data_source_uuid": .string(sb.dataSourceUUID), "name": "Weekly", "interval_count": "1",
          "interval_unit": "week", "colour": "red",
        ])
      #expect(bad.status == 422)
      let errors = try #require(bad.json?["errors"]?.objectValue)
      #expect(errors["colour"]?.stringValue?.contains("not a known field") == true)
      #expect(errors["interval_count"]?.stringValue?.contains("integer") == true)
      #expect(errors["interval_unit"]?.stringValue?.contains("day, month, year") == true)
      let noSource = try await sb.client.post(
        "/v1/plans", ["data_source_uuid": "ds_x", "name": "A", "interval_count": 1, "interval_unit": "day"])
      #expect(noSource.json?["errors"]?["data_source_uuid"] == "Data source not found")
    }
  }

  @Test func cursorPagination() async throws {
    try await withSandbox { sb in
      for i in 0..<5 { _ = try await sb.plan("p\(i)") }
      var seen: [String] = []
      var cursor: String?
      var pages = 0
      repeat {
        let q = cursor.map { "&cursor=\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)" } ?? ""
        let r = try await sb.client.get("/v1/plans?per_page=2\(q)")
        #expect(r.status == 200)
        seen += (r.json?["plans"]?.arrayValue ?? []).compactMap { $0["external_id"]?.stringValue }
        cursor = r.json?["has_more"] == true ? r.json?["cursor"]?.stringValue : nil
        pages += 1
      } while cursor != nil && pages < 10
      #expect(seen == ["p0", "p1", "p2", "p3", "p4"])
      #expect(pages == 3)
      #expect(try await sb.client.get("/v1/plans?per_page=0").status == 400)
      #expect(try await sb.client.get("/v1/plans?cursor=garbage").status == 400)
      let big = try await sb.client.get("/v1/plans?per_page=5000")
      #expect(big.json?["per_page"] == 200)
    }
  }

  @Test func malformedBodiesAndUnknownRoutes() async throws {
    try await withSandbox { sb in
      let broken = try await sb.client.send("POST", "/v1/plans", rawBody: Array("{\"name\":".utf8))
      #expect(broken.status == 400)
      #expect(broken.json?["message"]?.stringValue?.contains("JSON") == true)
      let array = try await sb.client.send("POST", "/v1/plans", rawBody: Array("[1]".utf8))
      #expect(array.status == 400)
      #expect(try await sb.client.get("/v1/nothing_here").status == 404)
    }
  }
}

import ETLTestSupport
import Foundation
import RevenueCore
import Sandbox
import Testing

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// Rate limit, connection limit, fault injection, keep-alive, persistence.
@Suite struct SandboxFaultTests {
  @Test func rateLimitAnswers429AboveTheLimit() async throws {
    try await withSandbox(SandboxOptions(rateLimitPerSecond: 3)) { sb in
      // 10 requests at once: at most 3 fit in one second.
      let replies = try await withThrowingTaskGroup(of: SandboxTestClient.Reply.self) { group in
        for _ in 0..<10 { group.addTask { try await sb.client.get("/v1/ping") } }
        var out: [SandboxTestClient.Reply] = []
        for try await r in group { out.append(r) }
        return out
      }
      let ok = replies.filter { $0.status == 200 }.count
      #expect(ok >= 1 && ok <= 3)
      let limited = replies.filter { $0.status == 429 }
      #expect(limited.count == 10 - ok)
      #expect(limited.first?.json?["message"] == "Your request rate has exceeded our rate limit.")
      try await Task.sleep(nanoseconds: 1_100_000_000)
      let later = try await sb.client.get("/v1/ping")
      #expect(later.status == 200)
    }
  }

  @Test func concurrentRequestLimitAnswers503() async throws {
    let faults = SandboxFaults(latency: 0.3)
    try await withSandbox(SandboxOptions(maxConcurrentConnections: 2, faults: faults)) { sb in
      let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
        for _ in 0..<6 { group.addTask { try await sb.client.get("/v1/ping").status } }
        var out: [Int] = []
        for try await s in group { out.append(s) }
        return out
      }
      #expect(statuses.filter { $0 == 200 }.count >= 1)
      #expect(statuses.contains(503))
    }
  }

  @Test func injected429And5xxAreDeterministicPerSeed() async throws {
    func run(_ seed: UInt64) async throws -> [Int] {
      var out: [Int] = []
      try await withSandbox(SandboxOptions(faults: SandboxFaults(probability429: 0.3, probability5xx: 0.3, seed: seed)))
      { sb in
        for _ in 0..<30 { out.append(try await sb.client.get("/v1/ping").status) }
      }
      return out
    }
    let a = try await run(42)
    let b = try await run(42)
    #expect(a == b)
    #expect(a.contains(429))
    #expect(a.contains { [500, 502, 503, 504].contains($0) })
    #expect(a.contains(200))
  }

  @Test func resetClosesTheConnectionWithoutAResponse() async throws {
    try await withSandbox(SandboxOptions(faults: SandboxFaults(probabilityReset: 1))) { sb in
      await #expect(throws: (any Error).self) { _ = try await sb.client.get("/v1/ping") }
      await sb.server.setFaults(.none)
      let after = try await sb.client.get("/v1/ping")
      #expect(after.status == 200)
    }
  }

  @Test func commitThenFailAppliesTheWrite() async throws {
    try await withSandbox(SandboxOptions(faults: SandboxFaults(probabilityCommitThenFail: 1, seed: 3))) { sb in
      var failures = 0
      for i in 0..<6 {
        do {
          let r = try await sb.client.post(
            "/v1/plans",
            [
              "data_source_uuid": .string(sb.dataSourceUUID), "name": "P", "interval_count": 1,
              "interval_unit": "month", "external_id": .string("cf\(i)"),
            ])
          #expect(r.status == 500)
          failures += 1
        } catch {
          failures += 1  // connection reset after the commit
        }
      }
      #expect(failures == 6)
      await sb.server.setFaults(.none)
      let plans = try await sb.client.get("/v1/plans?data_source_uuid=\(sb.dataSourceUUID)")
      #expect(plans.json?["plans"]?.arrayValue?.count == 6)
      // Reads are never failed after the fact.
      await sb.server.setFaults(SandboxFaults(probabilityCommitThenFail: 1))
      #expect(try await sb.client.get("/v1/ping").status == 200)
    }
  }

  @Test func latencyIsAdded() async throws {
    try await withSandbox(SandboxOptions(faults: SandboxFaults(latency: 0.2))) { sb in
      let t0 = Date()
      let r = try await sb.client.get("/v1/ping")
      #expect(r.status == 200)
      #expect(Date().timeIntervalSince(t0) >= 0.2)
    }
  }

  @Test func requestCountsPerPath() async throws {
    try await withSandbox { sb in
      _ = try await sb.customer("a")
      _ = try await sb.customer("b")
      _ = try await sb.client.get("/v1/ping")
      #expect(await sb.server.requestCount() == 3)
      let counts = await sb.server.requestCounts()
      #expect(counts["POST /v1/customers"] == 2)
      #expect(counts["GET /v1/ping"] == 1)
      _ = try await sb.client.get("/v1/customers/cus_123")
      #expect(await sb.server.requestCounts()["GET /v1/customers/{id}"] == 1)
      await sb.server.resetRequestCounts()
      #expect(await sb.server.requestCount() == 0)
    }
  }

  @Test func keepAliveServesManyRequestsOnOneConnection() async throws {
    try await withSandbox { sb in
      let client = SandboxTestClient(baseURL: sb.baseURL, apiKey: sb.apiKey, maxConnections: 1)
      defer { client.invalidate() }
      for i in 0..<50 {
        let r = try await client.post(
          "/v1/customers", ["data_source_uuid": .string(sb.dataSourceUUID), "external_id": .string("k\(i)")])
        #expect(r.status == 201)
      }
      #expect(try await client.get("/v1/customers?per_page=200").json?["entries"]?.arrayValue?.count == 50)
    }
  }

  @Test func stateFilePersistsAcrossRestarts() async throws {
    let dir = try TempDirectory(prefix: "sandbox-state")
    let file = dir.file("state.json")
    let options = SandboxOptions(
      apiKey: "persist_key", dataSources: [(name: "Persisted", uuid: "ds_persisted")], stateFile: file)
    let first = try await SandboxServer.start(options)
    let client = SandboxTestClient(baseURL: first.baseURL, apiKey: first.apiKey)
    let r = try await client.post(
      "/v1/customers", ["data_source_uuid": "ds_persisted", "external_id": "p1", "email": "p1@example.com"])
    #expect(r.status == 201)
    let snapshot = await first.stateSnapshot()
    client.invalidate()
    await first.stop()
    let attrs = try FileManager.default.attributesOfItem(atPath: file)
    #expect((attrs[.posixPermissions] as? NSNumber)?.intValue == 0o600)

    let second = try await SandboxServer.start(options)
    #expect(await second.stateSnapshot() == snapshot)
    let c2 = SandboxTestClient(baseURL: second.baseURL, apiKey: second.apiKey)
    let found = try await c2.get("/v1/customers?data_source_uuid=ds_persisted&external_id=p1")
    #expect(found.json?["entries"]?.arrayValue?.first?["uuid"] == r.json?["uuid"])
    c2.invalidate()
    await second.stop()

    try "not json".write(toFile: file, atomically: true, encoding: .utf8)
    await #expect(throws: SandboxError.self) { _ = try await SandboxServer.start(options) }
  }
}

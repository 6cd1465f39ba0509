import ETLTestSupport
import Foundation
import RevenueCore
import Testing

@testable import Transport

/// Records waits instead of sleeping, so retry tests are fast and can check what was waited.
actor RecordingSleeper: Sleeper {
  var waits: [Double] = []
  nonisolated func sleep(seconds: Double) async throws { await add(seconds) }
  func add(_ s: Double) { waits.append(s) }
}

@Suite("HTTP client retries over a real loopback server")
struct HTTPClientTests {
  func client(_ sleeper: RecordingSleeper, attempts: Int = 4) -> HTTPClient {
    HTTPClient(
      policy: RetryPolicy(maxAttempts: attempts, baseDelay: 0.01, maxDelay: 0.05, maxTotalSeconds: 30),
      maxConcurrent: 4, sleeper: sleeper)
  }

  @Test("a 429 with Retry-After is waited out, then the request succeeds")
  func retryAfter() async throws {
    let server = try await FixtureServer.start { _ in .json(["ok": true]) }
    defer { Task { await server.stop() } }
    await server.inject(
      InjectedFault(path: "/v1/thing", status: 429, headers: [("Retry-After", "2")], body: "{}", times: 1))
    let sleeper = RecordingSleeper()
    let http = client(sleeper)
    let r = try await http.send(HTTPRequest(method: "GET", url: URL(string: server.baseURL + "/v1/thing")!))
    #expect(r.status == 200)
    #expect(r.json?["ok"]?.boolValue == true)
    let waits = await sleeper.waits
    #expect(waits == [0.05])  // Retry-After 2 s, capped by maxDelay in this test policy
    let s = await http.stats.snapshot()
    #expect(s.requests == 2)
    #expect(s.rateLimited == 1)
    #expect(s.retries == 1)
  }

  @Test("5xx responses are retried until success")
  func serverErrors() async throws {
    let server = try await FixtureServer.start { _ in .json(["ok": true]) }
    defer { Task { await server.stop() } }
    await server.inject(InjectedFault(path: "/v1/x", status: 503, body: "down", times: 2))
    let http = client(RecordingSleeper())
    let r = try await http.send(
      HTTPRequest(method: "POST", url: URL(string: server.baseURL + "/v1/x")!, body: Array("{}".utf8)))
    #expect(r.status == 200)
    let seen = await server.requests(path: "/v1/x").count
    #expect(seen == 3)
  }

  @Test("retries are bounded: a server that never recovers gives a clear error")
  func exhausted() async throws {
    let server = try await FixtureServer.start { _ in FixtureResponse(status: 500, body: Array("boom".utf8)) }
    defer { Task { await server.stop() } }
    let http = client(RecordingSleeper(), attempts: 3)
    let error = await #expect(throws: HTTPRetryExhausted.self) {
      try await http.send(HTTPRequest(method: "GET", url: URL(string: server.baseURL + "/v1/never")!))
    }
    #expect(error?.attempts == 3)
    #expect(error?.lastStatus == 500)
    #expect("\(error!)".contains("GET /v1/never"))
    let count = await server.requests().count
    #expect(count == 3)
  }

  @Test("other 4xx are returned at once, never retried")
  func noRetryOn4xx() async throws {
    let server = try await FixtureServer.start { _ in FixtureResponse(status: 422, body: Array("{\"errors\":{}}".utf8))
    }
    defer { Task { await server.stop() } }
    let http = client(RecordingSleeper())
    let r = try await http.send(HTTPRequest(method: "POST", url: URL(string: server.baseURL + "/v1/customers")!))
    #expect(r.status == 422)
    let count = await server.requests().count
    #expect(count == 1)
  }

  @Test("connection refused is a retryable network error and ends in a clear error")
  func refused() async throws {
    // Find a port nobody listens on.
    let server = try await FixtureServer.start { _ in .json([:]) }
    let port = server.port
    await server.stop()
    let http = client(RecordingSleeper(), attempts: 2)
    let error = await #expect(throws: HTTPRetryExhausted.self) {
      try await http.send(HTTPRequest(method: "GET", url: URL(string: "http://127.0.0.1:\(port)/v1/ping")!, timeout: 5))
    }
    #expect(error?.lastStatus == nil)
    #expect("\(error!)".contains("reachable"))
  }

  @Test("Retry-After accepts seconds and HTTP dates")
  func parseRetryAfter() {
    #expect(RetryPolicy.parseRetryAfter("7") == 7)
    let now = Date(timeIntervalSince1970: 1_700_000_000)
    let later = RetryPolicy.parseRetryAfter("Tue, 14 Nov 2023 22:13:40 GMT", now: now)
    #expect(later == 20)
    #expect(RetryPolicy.parseRetryAfter("soon") == nil)
  }

  @Test("full jitter never waits longer than the cap")
  func jitter() {
    let p = RetryPolicy(baseDelay: 0.5, maxDelay: 4)
    for attempt in 1...10 {
      let d = p.delay(afterAttempt: attempt, retryAfter: nil)
      #expect(d >= 0 && d <= min(4, 0.5 * pow(2, Double(attempt - 1))))
    }
  }
}

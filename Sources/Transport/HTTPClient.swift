import Foundation
import Logging
import RevenueCore

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// An HTTP request as the clients build it.
public struct HTTPRequest: Sendable {
  public var method: String
  public var url: URL
  public var headers: [(String, String)]
  public var body: [UInt8]?
  /// Per-attempt timeout in seconds.
  public var timeout: Double

  public init(method: String, url: URL, headers: [(String, String)] = [], body: [UInt8]? = nil, timeout: Double = 60) {
    self.method = method
    self.url = url
    self.headers = headers
    self.body = body
    self.timeout = timeout
  }

  /// `GET /v1/customers` — path only: query strings may hold secrets and are never logged.
  public var logLabel: String { "\(method) \(url.path)" }
}

/// An HTTP response: status, headers (names lower-cased) and body.
public struct HTTPResponse: Sendable {
  public var status: Int
  public var headers: [String: String]
  public var body: [UInt8]
  /// Wall time of the attempt that produced this response.
  public var seconds: Double

  public init(status: Int, headers: [String: String] = [:], body: [UInt8] = [], seconds: Double = 0) {
    self.status = status
    self.headers = headers
    self.body = body
    self.seconds = seconds
  }

  public func header(_ name: String) -> String? { headers[name.lowercased()] }
  public var bodyText: String { String(decoding: body, as: UTF8.self) }
  public var isSuccess: Bool { (200..<300).contains(status) }

  /// The body as JSON; nil when it is empty or not JSON.
  public var json: JSONValue? { body.isEmpty ? nil : try? JSONParser.parse(body) }
}

/// The one side effect every API client needs: send a request, get a response.
public protocol HTTPTransport: Sendable {
  func send(_ request: HTTPRequest) async throws -> HTTPResponse
}

/// `HTTPTransport` over URLSession (FoundationNetworking/libcurl on Linux): zero build cost and well
/// above any remote API's rate limit (perf-baseline.md §4).
public final class URLSessionTransport: HTTPTransport {
  let session: URLSession

  public init(maxConnectionsPerHost: Int = 8) {
    let config = URLSessionConfiguration.ephemeral
    config.httpMaximumConnectionsPerHost = maxConnectionsPerHost
    config.requestCachePolicy = .reloadIgnoringLocalCacheData
    config.urlCache = nil
    config.httpCookieStorage = nil
    session = URLSession(configuration: config)
  }

  deinit { session.finishTasksAndInvalidate() }

  public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
    var r = URLRequest(url: request.url, timeoutInterval: request.timeout)
    r.httpMethod = request.method
    for (k, v) in request.headers { r.addValue(v, forHTTPHeaderField: k) }
    if let body = request.body { r.httpBody = Data(body) }
    let start = DispatchTime.now().uptimeNanoseconds
    let (data, response): (Data, URLResponse) = try await withCheckedThrowingContinuation { cont in
      let task = session.dataTask(with: r) { data, response, error in
        if let error {
          cont.resume(throwing: error)
        } else if let response {
          cont.resume(returning: (data ?? Data(), response))
        } else {
          cont.resume(throwing: URLError(.badServerResponse))
        }
      }
      task.resume()
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    guard let http = response as? HTTPURLResponse else { throw URLError(.badServerResponse) }
    var headers: [String: String] = [:]
    for (k, v) in http.allHeaderFields {
      if let k = k as? String, let v = v as? String { headers[k.lowercased()] = v }
    }
    return HTTPResponse(status: http.statusCode, headers: headers, body: [UInt8](data), seconds: seconds)
  }
}

/// Waiting, behind a protocol so retry tests do not have to sleep for real.
public protocol Sleeper: Sendable {
  func sleep(seconds: Double) async throws
}

public struct TaskSleeper: Sleeper {
  public init() {}
  public func sleep(seconds: Double) async throws {
    guard seconds > 0 else { return }
    try await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
  }
}

/// When and how often to retry (docs/chartmogul.md "Rate limits, parallel connections and retries": bounded, full jitter, honour `Retry-After`).
public struct RetryPolicy: Sendable {
  public var maxAttempts: Int
  public var baseDelay: Double
  public var maxDelay: Double
  /// Give up when the next wait would pass this many seconds since the first attempt.
  public var maxTotalSeconds: Double
  public var retryStatuses: Set<Int>

  public init(
    maxAttempts: Int = 8, baseDelay: Double = 0.5, maxDelay: Double = 60, maxTotalSeconds: Double = 300,
    retryStatuses: Set<Int> = [429, 500, 502, 503, 504]
  ) {
    self.maxAttempts = maxAttempts
    self.baseDelay = baseDelay
    self.maxDelay = maxDelay
    self.maxTotalSeconds = maxTotalSeconds
    self.retryStatuses = retryStatuses
  }

  /// Full-jitter exponential backoff: uniform in [0, min(maxDelay, base × 2^(attempt-1))].
  public func delay(afterAttempt attempt: Int, retryAfter: Double?) -> Double {
    if let retryAfter { return min(max(retryAfter, 0), maxDelay) }
    let cap = min(maxDelay, baseDelay * pow(2, Double(attempt - 1)))
    return Double.random(in: 0...cap)
  }

  /// `Retry-After` as seconds (delta-seconds or an HTTP date).
  public static func parseRetryAfter(_ value: String?, now: Date = Date()) -> Double? {
    guard let v = value?.trimmingASCIIWhitespace(), !v.isEmpty else { return nil }
    if let s = Double(v) { return s }
    let f = DateFormatter()
    f.locale = Locale(identifier: "en_US_POSIX")
    f.timeZone = TimeZone(identifier: "GMT")
    f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
    if let d = f.date(from: v) { return max(0, d.timeIntervalSince(now)) }
    return nil
  }
}

/// A token bucket: at most `rate` requests per second on average, bursts up to `burst`.
public actor TokenBucket {
  let rate: Double
  let burst: Double
  var tokens: Double
  var last: UInt64

  public init(ratePerSecond: Double, burst: Double? = nil) {
    rate = max(ratePerSecond, 0.001)
    self.burst = burst ?? max(1, ratePerSecond)
    tokens = self.burst
    last = DispatchTime.now().uptimeNanoseconds
  }

  /// Waits until a token is available and takes it.
  public func acquire() async throws {
    while true {
      let now = DispatchTime.now().uptimeNanoseconds
      tokens = min(burst, tokens + Double(now - last) / 1e9 * rate)
      last = now
      if tokens >= 1 {
        tokens -= 1
        return
      }
      let wait = (1 - tokens) / rate
      try await Task.sleep(nanoseconds: UInt64(wait * 1e9) + 1000)
    }
  }
}

/// Caps the number of requests in flight (ChartMogul allows 20 parallel connections; 503 above).
public actor ConcurrencyLimiter {
  let limit: Int
  var inFlight = 0
  var waiters: [CheckedContinuation<Void, Never>] = []

  public init(limit: Int) { self.limit = max(1, limit) }

  public func acquire() async {
    if inFlight < limit {
      inFlight += 1
      return
    }
    await withCheckedContinuation { waiters.append($0) }
  }

  public func release() {
    if !waiters.isEmpty {
      waiters.removeFirst().resume()
    } else {
      inFlight -= 1
    }
  }
}

/// Figures about the requests a client sent (load summary, monitoring).
public actor HTTPStats {
  public private(set) var requests = 0
  public private(set) var retries = 0
  public private(set) var statusCounts: [Int: Int] = [:]
  public private(set) var networkErrors = 0
  public private(set) var latencies: [Double] = []

  public init() {}

  func record(status: Int, seconds: Double) {
    requests += 1
    statusCounts[status, default: 0] += 1
    latencies.append(seconds)
  }
  func recordNetworkError() {
    requests += 1
    networkErrors += 1
  }
  func recordRetry() { retries += 1 }

  public struct Snapshot: Sendable {
    public var requests: Int
    public var retries: Int
    public var rateLimited: Int
    public var errors: Int
    public var networkErrors: Int
    public var medianSeconds: Double
    public var p95Seconds: Double
    public var statusCounts: [Int: Int]

    public var json: JSONValue {
      var counts = JSONObject()
      for (k, v) in statusCounts.sorted(by: { $0.key < $1.key }) { counts[String(k)] = .int(v) }
      return [
        "requests": .int(requests), "retries": .int(retries), "rate_limited": .int(rateLimited),
        "errors": .int(errors), "network_errors": .int(networkErrors),
        "median_ms": .int(Int((medianSeconds * 1000).rounded())), "p95_ms": .int(Int((p95Seconds * 1000).rounded())),
        "status_counts": .object(counts),
      ]
    }
  }

  public func snapshot() -> Snapshot {
    let sorted = latencies.sorted()
    func pct(_ p: Double) -> Double {
      guard !sorted.isEmpty else { return 0 }
      return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
    }
    let errors = statusCounts.filter { $0.key >= 400 }.reduce(0) { $0 + $1.value } + networkErrors
    return Snapshot(
      requests: requests, retries: retries, rateLimited: statusCounts[429] ?? 0, errors: errors,
      networkErrors: networkErrors, medianSeconds: pct(0.5), p95Seconds: pct(0.95), statusCounts: statusCounts)
  }
}

/// Retries ran out (or the total time budget did) on a retryable failure.
public struct HTTPRetryExhausted: Error, Sendable, CustomStringConvertible {
  public var request: String
  public var attempts: Int
  public var lastStatus: Int?
  public var lastError: String?
  public var lastBody: String?
  /// `host[:port]` of the request, for "cannot reach …" messages.
  public var host: String? = nil
  public var description: String {
    if let lastStatus {
      return "\(request) still failed after \(attempts) attempts (last status \(lastStatus)); try again later"
    }
    return
      "\(request) still failed after \(attempts) attempts (\(lastError ?? "network error")); check that the server is reachable"
  }
}

/// An API client's HTTP core: rate limit, concurrency cap, bounded retries with full jitter.
///
/// Non-retryable responses (any 4xx except 429) are returned to the caller, never retried; the caller
/// decides what a 404 or 422 means.
public final class HTTPClient: Sendable {
  public let transport: any HTTPTransport
  public let policy: RetryPolicy
  public let bucket: TokenBucket?
  public let limiter: ConcurrencyLimiter
  public let sleeper: any Sleeper
  public let stats = HTTPStats()
  let logger: Logger

  public init(
    transport: any HTTPTransport = URLSessionTransport(), policy: RetryPolicy = RetryPolicy(),
    requestsPerSecond: Double? = nil, maxConcurrent: Int = 8, sleeper: any Sleeper = TaskSleeper(),
    logger: Logger = Logger(label: "chartmogul-etl.http")
  ) {
    self.transport = transport
    self.policy = policy
    self.bucket = requestsPerSecond.map { TokenBucket(ratePerSecond: $0) }
    self.limiter = ConcurrencyLimiter(limit: maxConcurrent)
    self.sleeper = sleeper
    self.logger = logger
  }

  public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
    let started = Date()
    var attempt = 0
    while true {
      attempt += 1
      try Task.checkCancellation()
      if let bucket { try await bucket.acquire() }
      await limiter.acquire()
      let outcome: Result<HTTPResponse, Error>
      do {
        outcome = .success(try await transport.send(request))
      } catch {
        outcome = .failure(error)
      }
      await limiter.release()

      var retryAfter: Double? = nil
      var lastStatus: Int? = nil
      var lastError: String? = nil
      var lastBody: String? = nil
      switch outcome {
      case .success(let response):
        await stats.record(status: response.status, seconds: response.seconds)
        guard policy.retryStatuses.contains(response.status) else { return response }
        retryAfter = RetryPolicy.parseRetryAfter(response.header("retry-after"))
        lastStatus = response.status
        lastBody = Redactor.shared.redact(String(response.bodyText.prefix(500)))
      case .failure(let error):
        if error is CancellationError { throw error }
        await stats.recordNetworkError()
        lastError = Redactor.shared.redact(HTTPClient.describe(error))
      }
      let delay = policy.delay(afterAttempt: attempt, retryAfter: retryAfter)
      let elapsed = Date().timeIntervalSince(started)
      if attempt >= policy.maxAttempts || elapsed + delay > policy.maxTotalSeconds {
        var exhausted = HTTPRetryExhausted(
          request: request.logLabel, attempts: attempt, lastStatus: lastStatus, lastError: lastError, lastBody: lastBody
        )
        exhausted.host = request.url.host.map { h in request.url.port.map { "\(h):\($0)" } ?? h }
        throw exhausted
      }
      await stats.recordRetry()
      logger.debug(
        "retrying \(request.logLabel)",
        metadata: [
          "retry.attempt": "\(attempt)", "http.status": "\(lastStatus.map(String.init) ?? "network")",
          "retry.after_ms": "\(Int(delay * 1000))",
        ])
      try await sleeper.sleep(seconds: delay)
    }
  }
}

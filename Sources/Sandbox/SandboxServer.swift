import Foundation
import Logging
import RevenueCore

/// A local, ChartMogul-compatible API server for the demo and the tests.
///
/// Build cost: FlyingFox 0.27.1 adds about 36 s of compiler CPU time to a clean debug build
/// (FlyingSocks, the socket layer this server uses, ≈19 s; the FlyingFox HTTP module, which test
/// helpers use, ≈18 s; measured with `time swift build --target …` on the 2-core build box) and
/// nothing to incremental builds.
///
/// Serves the endpoints the loader and validator use (see docs in each `SandboxHandlers+*.swift`)
/// on `127.0.0.1` only, with ChartMogul's paths, status codes, envelopes, cursor pagination,
/// error shapes and duplicate messages; strict validation (unknown fields, types, integer
/// amounts, ISO currencies, plan existence, service period order, refunds ≤ invoiced amount,
/// 5,000,000-byte payloads → 413); Basic auth; a rate limit (429) and an in-flight request limit
/// (503); fault injection; MRR metrics computed from the imported data (SandboxMetrics.swift).
/// State lives in memory and optionally in a JSON file (`SandboxOptions.stateFile`).
public final class SandboxServer: Sendable {
  /// `http://127.0.0.1:PORT` (no trailing slash).
  public let baseURL: String
  public let port: Int
  /// The API key clients must send as the Basic-auth user name.
  public let apiKey: String
  let engine: SandboxEngine
  let wire: WireServer

  private init(baseURL: String, port: Int, apiKey: String, engine: SandboxEngine, wire: WireServer) {
    self.baseURL = baseURL
    self.port = port
    self.apiKey = apiKey
    self.engine = engine
    self.wire = wire
  }

  /// Loads the state file (if any), creates the configured data sources and starts listening.
  public static func start(_ options: SandboxOptions) async throws -> SandboxServer {
    guard (0...65535).contains(options.port) else { throw SandboxError.options("port \(options.port) is out of range") }
    guard options.maxConcurrentConnections > 0 else {
      throw SandboxError.options("maxConcurrentConnections must be > 0")
    }
    if let r = options.rateLimitPerSecond, r <= 0 { throw SandboxError.options("rateLimitPerSecond must be > 0") }
    if let d = options.autoChurnDays, !(1...90).contains(d) {
      throw SandboxError.options("autoChurnDays \(d) is out of range: ChartMogul allows 1…90 days")
    }
    guard Currency(options.accountCurrency) != nil else {
      throw SandboxError.options("accountCurrency '\(options.accountCurrency)' is not an ISO 4217 code")
    }
    let key = options.apiKey ?? "sandbox_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
    let engine = SandboxEngine(options: options, apiKey: key)
    try await engine.load()
    let logger = options.logger
    let wire = try await WireServer.start(host: "127.0.0.1", port: UInt16(options.port)) { req in
      await Self.handle(req, engine: engine, logger: logger)
    }
    let base = "http://127.0.0.1:\(wire.port)"
    logger.info("ChartMogul sandbox listening on \(base)")
    return SandboxServer(baseURL: base, port: Int(wire.port), apiKey: key, engine: engine, wire: wire)
  }

  static func handle(_ req: WireRequest, engine: SandboxEngine, logger: Logger) async -> WireAction {
    // Only the path template is logged: query strings may carry emails (personal data).
    let label = SandboxEngine.template(req.method, req.path)
    switch await engine.admit(req) {
    case .reject(let r):
      logger.debug("\(label) → \(r.status)")
      return .respond(r)
    case .proceed(let plan):
      if plan.latency > 0 { try? await Task.sleep(nanoseconds: UInt64(plan.latency * 1e9)) }
      if plan.reset {
        await engine.release()
        logger.debug("\(label) → reset (injected)")
        return .drop
      }
      if let s = plan.forcedStatus {
        await engine.release()
        logger.debug("\(label) → \(s) (injected)")
        return .respond(
          s == 429
            ? SandboxEngine.code(429, "Your request rate has exceeded our rate limit.", param: nil)
            : WireResponse(
              status: s, headers: [("Content-Type", "text/plain")], body: Array("\(s) Injected fault".utf8)))
      }
      let response = await engine.route(req)
      await engine.release()
      if let drop = plan.commitThenFail, (200..<300).contains(response.status) {
        logger.debug("\(label) → \(response.status) committed, then \(drop ? "reset" : "500") (injected)")
        return drop ? .drop : .respond(SandboxEngine.code(500, "Internal Server Error", param: nil))
      }
      logger.debug("\(label) → \(response.status)")
      return .respond(response)
    }
  }

  /// Replaces the fault switches (and reseeds the fault PRNG).
  public func setFaults(_ f: SandboxFaults) async { await engine.setFaults(f) }

  /// Stops listening, aborts open connections, cancels queued imports and writes the state file.
  public func stop() async {
    await wire.stop()
    await engine.shutdown()
  }

  /// Deterministic dump of the stored data (no generated uuids or timestamps; sorted by external
  /// ids): data_sources, plans, customers, attributes, invoices (with line items and
  /// transactions), cancellations.
  public func stateSnapshot() async -> JSONValue { await engine.snapshot() }

  /// Requests received since start (or the last `resetRequestCounts`), rejected ones included.
  public func requestCount() async -> Int { await engine.counts().0 }

  /// Requests per `METHOD /path/template` (ids replaced by `{id}`), e.g. `POST /v1/customers`.
  public func requestCounts() async -> [String: Int] { await engine.counts().1 }

  /// Faults injected so far by `SandboxFaults`, by kind: `429`, `5xx`, `reset`, `spike`, `commit_then_fail`.
  public func injectedFaults() async -> [String: Int] { await engine.injectedFaults() }

  public func resetRequestCounts() async { await engine.resetCounts() }

  /// The uuid of the data source called `name`, if any.
  public func dataSourceUUID(named name: String) async -> String? { await engine.dataSourceUUID(named: name) }

  /// Number of json_imports not yet completed.
  public func pendingImports() async -> Int { await engine.pendingImports() }

  /// Writes the state file now (it is otherwise written ~100 ms after a change and on stop).
  public func flushState() async throws { try await engine.save() }
}

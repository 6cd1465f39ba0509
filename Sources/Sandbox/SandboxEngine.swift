import Foundation
import Logging
import RevenueCore

/// What happens to a request before it reaches the API handlers.
struct FaultPlan: Sendable {
  var latency: Double = 0
  var reset = false
  var forcedStatus: Int?
  /// After a successful write: 500 (`false`) or reset (`true`).
  var commitThenFail: Bool?
}

enum Admission: Sendable {
  case reject(WireResponse)
  case proceed(FaultPlan)
}

/// All sandbox state and request handling, serialised by the actor (one request mutates at a time,
/// like a single ChartMogul account). Latency and faults are applied outside the actor.
actor SandboxEngine {
  let options: SandboxOptions
  let apiKey: String
  var faults: SandboxFaults
  var rng: SplitMix64
  var state = SBState()
  var index = SBIndex()
  var metricsCache: SandboxMRRModel?
  var active = 0
  var recent: [Double] = []
  var recentHead = 0
  var totalRequests = 0
  var pathCounts: [String: Int] = [:]
  /// Faults injected so far, by kind (`429`, `5xx`, `reset`, `spike`, `commit_then_fail`).
  var injected: [String: Int] = [:]
  var dirty = false
  var saveTask: Task<Void, Never>?
  var importTasks: [String: Task<Void, Never>] = [:]
  var logger: Logger

  init(options: SandboxOptions, apiKey: String) {
    self.options = options
    self.apiKey = apiKey
    self.faults = options.faults
    self.rng = SplitMix64(seed: options.faults.seed)
    self.logger = options.logger
  }

  // MARK: - Start / stop

  func load() throws {
    if let path = options.stateFile, FileManager.default.fileExists(atPath: path) {
      let data = try Data(contentsOf: URL(fileURLWithPath: path))
      do {
        state = try JSONDecoder().decode(SBState.self, from: data)
      } catch {
        throw SandboxError.stateFile(path, "is not a sandbox state file (\(error)); move it away or pick another path")
      }
      index = SBIndex(state)
    }
    for ds in options.dataSources where index.dataSource[ds.uuid] == nil {
      if state.dataSources.contains(where: { $0.name == ds.name }) {
        throw SandboxError.options("data source name '\(ds.name)' already exists with another uuid")
      }
      state.dataSources.append(
        SBDataSource(uuid: ds.uuid, name: ds.name, system: "Import API", createdAt: now()))
      index.dataSource[ds.uuid] = state.dataSources.count - 1
      dirty = true
    }
    for imp in state.imports where imp.pendingPayload != nil { scheduleImport(imp.id) }
    if dirty { try save() }
  }

  func shutdown() {
    for t in importTasks.values { t.cancel() }
    importTasks.removeAll()
    saveTask?.cancel()
    if dirty { try? save() }
  }

  func setFaults(_ f: SandboxFaults) {
    faults = f
    rng = SplitMix64(seed: f.seed)
  }

  // MARK: - Admission: connection limit, rate limit, auth, faults

  func admit(_ req: WireRequest) -> Admission {
    totalRequests += 1
    pathCounts[Self.template(req.method, req.path), default: 0] += 1
    if active >= options.maxConcurrentConnections {
      return .reject(Self.code(503, "Too Many Parallel Connections", param: nil))
    }
    if let limit = options.rateLimitPerSecond {
      let t = ProcessInfo.processInfo.systemUptime
      while recentHead < recent.count && recent[recentHead] <= t - 1 { recentHead += 1 }
      if recentHead > 4096 {
        recent.removeFirst(recentHead)
        recentHead = 0
      }
      if recent.count - recentHead >= limit {
        return .reject(Self.code(429, "Your request rate has exceeded our rate limit.", param: nil))
      }
      recent.append(t)
    }
    guard authorized(req.headers["authorization"]) else {
      return .reject(Self.code(401, "No valid API key provided", param: nil))
    }
    active += 1
    var plan = FaultPlan()
    plan.latency = faults.latency
    if faults.latencySpikeProbability > 0 && rng.unit() < faults.latencySpikeProbability {
      plan.latency += faults.spikeSeconds
      injected["spike", default: 0] += 1
    }
    if faults.probabilityReset > 0 && rng.unit() < faults.probabilityReset {
      plan.reset = true
      injected["reset", default: 0] += 1
    } else if faults.probability429 > 0 && rng.unit() < faults.probability429 {
      plan.forcedStatus = 429
      injected["429", default: 0] += 1
    } else if faults.probability5xx > 0 && rng.unit() < faults.probability5xx {
      plan.forcedStatus = [500, 502, 503, 504][Int(rng.next() % 4)]
      injected["5xx", default: 0] += 1
    } else if faults.probabilityCommitThenFail > 0, ["POST", "PUT", "PATCH", "DELETE"].contains(req.method),
      rng.unit() < faults.probabilityCommitThenFail
    {
      plan.commitThenFail = rng.next() % 2 == 1
      injected["commit_then_fail", default: 0] += 1
    }
    return .proceed(plan)
  }

  func release() { active -= 1 }

  /// Basic auth: API key as user name, password empty or equal to the key (reference §1).
  private func authorized(_ header: String?) -> Bool {
    guard let h = header, h.count > 6, h.prefix(6).lowercased() == "basic " else { return false }
    guard let data = Data(base64Encoded: String(h.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
      let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":")
    else { return false }
    let user = String(text[..<colon])
    let password = String(text[text.index(after: colon)...])
    return user == apiKey && (password.isEmpty || password == apiKey)
  }

  /// `POST /v1/customers/{id}/attributes/tags`: literal segments kept, ids replaced.
  static func template(_ method: String, _ path: String) -> String {
    let literals: Set<String> = [
      "v1", "ping", "data_sources", "plans", "customers", "search", "attributes", "custom", "tags", "merges",
      "unmerges", "import", "invoices", "transactions", "subscriptions", "json_imports", "metrics", "mrr", "all",
      "arr", "arpa", "asp", "customer-count", "customer-churn-rate", "mrr-churn-rate", "ltv", "subscription_events",
    ]
    let segs = path.split(separator: "/").map { literals.contains(String($0)) ? String($0) : "{id}" }
    return method + " /" + segs.joined(separator: "/")
  }

  func counts() -> (Int, [String: Int]) { (totalRequests, pathCounts) }

  func injectedFaults() -> [String: Int] { injected }

  // MARK: - Helpers shared by handlers

  nonisolated func now() -> Int64 { Int64(Date().timeIntervalSince1970) }

  /// Rate from `currency` to the account currency (1 for the account currency itself).
  func fxRate(_ currency: String) -> Double? {
    if currency == options.accountCurrency { return 1 }
    return options.fx[currency]
  }

  func markChanged() {
    metricsCache = nil
    dirty = true
    guard options.stateFile != nil, saveTask == nil else { return }
    saveTask = Task {
      try? await Task.sleep(nanoseconds: 100_000_000)
      self.flushScheduled()
    }
  }

  private func flushScheduled() {
    saveTask = nil
    do { try save() } catch { logger.error("sandbox state file not written: \(error)") }
  }

  /// Writes the state file atomically (temporary file + rename), mode 0600.
  func save() throws {
    dirty = false
    guard let path = options.stateFile else { return }
    let enc = JSONEncoder()
    enc.outputFormatting = [.sortedKeys, .prettyPrinted]
    let data = try enc.encode(state)
    let tmp = path + ".tmp"
    guard FileManager.default.createFile(atPath: tmp, contents: data, attributes: [.posixPermissions: 0o600]) else {
      throw SandboxError.stateFile(path, "cannot be written (check the folder exists and is writable)")
    }
    guard rename(tmp, path) == 0 else { throw SandboxError.stateFile(path, "cannot be replaced (errno \(errno))") }
  }

  // MARK: - Responses

  static func json(_ status: Int, _ v: JSONValue) -> WireResponse {
    WireResponse(status: status, body: JSONWriter.bytes(v))
  }

  /// `{"code":…,"message":…,"param":…}` (401, 404 search, 429, 503 …).
  static func code(_ status: Int, _ message: String, param: String?) -> WireResponse {
    json(status, .object(JSONObject(["code": .int(status), "message": .string(message), "param": sbString(param)])))
  }

  /// Merges (field, message) pairs into an errors object; repeated fields join their messages.
  static func errorObject(_ pairs: [(String, String)]) -> JSONObject {
    var o = JSONObject()
    for (k, m) in pairs {
      if let old = o[k]?.stringValue {
        if !old.components(separatedBy: "; ").contains(m) { o[k] = .string(old + "; " + m) }
      } else {
        o[k] = .string(m)
      }
    }
    return o
  }

  /// `{"errors":{"field":"message"}}` with 422.
  static func errors(_ pairs: [(String, String)], status: Int = 422) -> WireResponse {
    json(status, .object(JSONObject(["errors": .object(errorObject(pairs))])))
  }

  static func notFound(_ what: String) -> WireResponse { code(404, "\(what) not found", param: nil) }

  /// The request's JSON object body, or the 400/413 response to send.
  func body(_ req: WireRequest) -> Result<JSONObject, ResponseError> {
    if req.body.count > options.maxPayloadBytes {
      return .failure(
        ResponseError(
          Self.code(
            413, "Payload too large: \(req.body.count) bytes exceed the \(options.maxPayloadBytes)-byte limit",
            param: nil)))
    }
    guard !req.body.isEmpty else {
      return .failure(ResponseError(Self.code(400, "A JSON object body is required", param: nil)))
    }
    do {
      guard case .object(let o) = try JSONParser.parse(req.body) else {
        return .failure(ResponseError(Self.code(400, "The request body must be a JSON object", param: nil)))
      }
      return .success(o)
    } catch {
      return .failure(
        ResponseError(Self.code(400, "JSON schema validation hasn't passed: \(error.description)", param: nil)))
    }
  }
}

struct ResponseError: Error {
  var response: WireResponse
  init(_ r: WireResponse) { response = r }
}

/// Start-up problems (bad options or state file).
public enum SandboxError: Error, CustomStringConvertible {
  case options(String)
  case stateFile(String, String)

  public var description: String {
    switch self {
    case .options(let m): return "sandbox options: \(m)"
    case .stateFile(let p, let m): return "sandbox state file \(p) \(m)"
    }
  }
}

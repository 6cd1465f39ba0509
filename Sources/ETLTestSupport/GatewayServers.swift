import FlyingFox
import FlyingSocks
import Foundation
import RevenueCore

#if canImport(Glibc)
  import Glibc
#endif

/// One request a fixture server received (query decoded, header names lower-cased).
public struct RecordedRequest: Sendable {
  public var method: String
  public var path: String
  public var query: [(String, String)]
  public var headers: [String: String]
  public var body: [UInt8]

  public func value(_ name: String) -> String? { query.first { $0.0 == name }?.1 }
  public func values(_ name: String) -> [String] { query.filter { $0.0 == name }.map(\.1) }
  public var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// A response a fixture route returns.
public struct FixtureResponse: Sendable {
  public var status: Int
  public var headers: [(String, String)]
  public var body: [UInt8]

  public init(status: Int, headers: [(String, String)] = [], body: [UInt8] = []) {
    self.status = status
    self.headers = headers
    self.body = body
  }

  public static func json(_ value: RevenueCore.JSONValue, status: Int = 200, headers: [(String, String)] = [])
    -> FixtureResponse
  {
    FixtureResponse(
      status: status, headers: [("Content-Type", "application/json")] + headers, body: JSONWriter.bytes(value))
  }
}

/// A scripted failure: answers matching requests with `status` instead of the real route, `times`
/// times (nil: forever). Matches on method/path and a subset of query values.
public struct InjectedFault: Sendable {
  public var path: String
  public var query: [String: String]
  public var status: Int
  public var headers: [(String, String)]
  public var body: String
  public var times: Int?
  /// Raw response bytes (e.g. invalid UTF-8) sent instead of `body` when set.
  public var rawBody: [UInt8]? = nil
  /// Matching requests answered normally before the fault starts (1: the fault hits the 2nd page).
  public var after = 0

  public init(
    path: String, query: [String: String] = [:], status: Int, headers: [(String, String)] = [], body: String = "{}",
    times: Int? = 1
  ) {
    self.path = path
    self.query = query
    self.status = status
    self.headers = headers
    self.body = body
    self.times = times
  }

  /// A fault answering with raw bytes (`headers` after the default JSON Content-Type, so they can
  /// replace it), after letting `after` matching requests through.
  public init(
    path: String, query: [String: String] = [:], status: Int = 200, headers: [(String, String)] = [], rawBody: [UInt8],
    times: Int? = 1, after: Int = 0
  ) {
    self.init(path: path, query: query, status: status, headers: headers, times: times)
    self.rawBody = rawBody
    self.after = after
  }

  func matches(_ r: RecordedRequest) -> Bool {
    r.path == path && query.allSatisfy { r.value($0.key) == $0.value }
  }
}

/// Requests seen and faults pending, shared by a server's handlers.
public actor FixtureServerState {
  public private(set) var requests: [RecordedRequest] = []
  var faults: [InjectedFault] = []

  func record(_ r: RecordedRequest) -> FixtureResponse? {
    requests.append(r)
    guard let i = faults.firstIndex(where: { $0.matches(r) }) else { return nil }
    if faults[i].after > 0 {
      faults[i].after -= 1
      return nil
    }
    let f = faults[i]
    if let t = f.times {
      if t <= 1 { faults.remove(at: i) } else { faults[i].times = t - 1 }
    }
    return FixtureResponse(
      status: f.status, headers: [("Content-Type", "application/json")] + f.headers,
      body: f.rawBody ?? Array(f.body.utf8))
  }

  func add(_ f: InjectedFault) { faults.append(f) }
  func clear() { requests.removeAll() }
}

/// A FlyingFox HTTP server on 127.0.0.1 (a free port) that answers every request through `route`,
/// records it, and lets tests inject faults (429 with Retry-After, 500, a page that always fails).
///
/// FlyingFox writes a response's head and body in two sends; on loopback that meets Nagle plus
/// delayed ACK (~40 ms per keep-alive response), so `TCP_NODELAY` is set on the listening socket
/// (Linux copies it to every accepted connection).
public final class FixtureServer: Sendable {
  public typealias Route = @Sendable (RecordedRequest) async -> FixtureResponse
  public let port: UInt16
  /// Requests seen and faults pending.
  public let log: FixtureServerState
  let server: HTTPServer
  let task: Task<Void, Error>

  public var baseURL: String { "http://127.0.0.1:\(port)" }

  private init(port: UInt16, log: FixtureServerState, server: HTTPServer, task: Task<Void, Error>) {
    self.port = port
    self.log = log
    self.server = server
    self.task = task
  }

  public static func start(_ route: @escaping Route) async throws -> FixtureServer {
    let state = FixtureServerState()
    let server = HTTPServer(address: try sockaddr_in.inet(ip4: "127.0.0.1", port: 0), timeout: 30, logger: .disabled)
    await server.appendRoute("*") { request in
      let recorded = RecordedRequest(
        method: request.method.rawValue, path: request.path,
        query: request.query.map { ($0.name, $0.value) },
        headers: Dictionary(
          request.headers.map { ($0.key.rawValue.lowercased(), $0.value) }, uniquingKeysWith: { a, _ in a }),
        body: [UInt8](try await request.bodyData))
      let injected = await state.record(recorded)
      let response: FixtureResponse
      if let injected { response = injected } else { response = await route(recorded) }
      var headers = HTTPHeaders()
      for (k, v) in response.headers { headers[HTTPHeader(k)] = v }
      return HTTPResponse(
        statusCode: HTTPStatusCode(response.status, phrase: FixtureServer.phrase(response.status)), headers: headers,
        body: Data(response.body))
    }
    let task = Task { try await server.run() }
    try await server.waitUntilListening(timeout: 10)
    guard case .ip4(_, let port)? = await server.listeningAddress else {
      task.cancel()
      throw CocoaError(.fileReadUnknown)
    }
    FixtureServer.setNoDelayOnListener(port: port)
    return FixtureServer(port: port, log: state, server: server, task: task)
  }

  public func inject(_ fault: InjectedFault) async { await log.add(fault) }
  public func requests() async -> [RecordedRequest] { await log.requests }
  public func requests(path: String) async -> [RecordedRequest] { await log.requests.filter { $0.path == path } }

  public func stop() async {
    await server.stop(timeout: 1)
    task.cancel()
  }

  static func phrase(_ status: Int) -> String {
    switch status {
    case 200: return "OK"
    case 400: return "Bad Request"
    case 401: return "Unauthorized"
    case 403: return "Forbidden"
    case 404: return "Not Found"
    case 429: return "Too Many Requests"
    case 500: return "Internal Server Error"
    case 503: return "Service Unavailable"
    default: return "Status"
    }
  }

  /// Finds this process's listening TCP socket on `port` and sets TCP_NODELAY on it.
  static func setNoDelayOnListener(port: UInt16) {
    for fd in Int32(3)..<Int32(4096) {
      var addr = sockaddr_in()
      var len = socklen_t(MemoryLayout<sockaddr_in>.size)
      let ok = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
      }
      guard ok == 0, addr.sin_family == sa_family_t(AF_INET), UInt16(bigEndian: addr.sin_port) == port else { continue }
      var listening: Int32 = 0
      var l2 = socklen_t(MemoryLayout<Int32>.size)
      guard getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &l2) == 0, listening != 0 else { continue }
      var one: Int32 = 1
      setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
      return
    }
  }
}

/// Helpers for fixture data.
public enum FixtureData {
  /// Parses a JSON fixture file under `fixtures/`.
  public static func json(_ relative: String) throws -> RevenueCore.JSONValue {
    let path = RepositoryPaths.fixture(relative)
    guard let data = FileManager.default.contents(atPath: path) else {
      throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: path])
    }
    return try JSONParser.parse([UInt8](data))
  }

  /// The `data` array of a list-shaped fixture (`{"data":[…]}`), or the array itself.
  public static func list(_ relative: String) throws -> [RevenueCore.JSONValue] {
    let v = try json(relative)
    return v["data"]?.arrayValue ?? v["transaction_details"]?.arrayValue ?? v.arrayValue ?? []
  }
}

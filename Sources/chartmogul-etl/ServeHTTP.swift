import FlyingFox
import FlyingSocks
import Foundation
import Pipeline
import RevenueCore
import Staging

/// The HTTP side of `serve` (FlyingFox): routes, the bearer check and the answers.
struct ServeHTTP: Sendable {
  let server: HTTPServer
  let port: UInt16
  let task: Task<Void, Error>

  static func start(host: String, port: UInt16, area: StagingArea, runner: ServeRunner, secret: Secret?) async throws
    -> ServeHTTP
  {
    let address: any SocketAddress =
      host.contains(":")
      ? try sockaddr_in6.inet6(ip6: host, port: port) : try sockaddr_in.inet(ip4: host, port: port)
    let server = HTTPServer(address: address, timeout: 3600, logger: .disabled)
    await server.appendRoute("GET /healthz") { _ in text(200, "ok\n") }
    await server.appendRoute("GET /metrics") { _ in
      var headers = HTTPHeaders()
      headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
      return HTTPResponse(statusCode: .ok, headers: headers, body: Data(PrometheusText.render(area: area).utf8))
    }
    let trigger: @Sendable (HTTPRequest) async throws -> HTTPResponse = { request in
      guard authorized(request.headers[.authorization], secret: secret) else {
        var headers = HTTPHeaders()
        headers[HTTPHeader("WWW-Authenticate")] = "Bearer"
        headers[.contentType] = "application/json"
        return HTTPResponse(
          statusCode: .unauthorized, headers: headers,
          body: Data(JSONWriter.bytes(["error": "missing or wrong Authorization: Bearer <CRON_SECRET>"])))
      }
      let (status, body) = await runner.trigger("\(request.method.rawValue) \(request.path)")
      var headers = HTTPHeaders()
      headers[.contentType] = "application/json"
      var bytes = JSONWriter.bytes(body)
      bytes.append(0x0A)
      return HTTPResponse(
        statusCode: HTTPStatusCode(status, phrase: phrase(status)), headers: headers, body: Data(bytes))
    }
    await server.appendRoute("POST /runs", handler: trigger)
    await server.appendRoute("GET /api/cron/chartmogul-sync", handler: trigger)
    await server.appendRoute("*") { _ in text(404, "not found: try /healthz, /metrics, POST /runs\n") }
    let task = Task { try await server.run() }
    try await server.waitUntilListening(timeout: 10)
    var bound = port
    if case .ip4(_, let p)? = await server.listeningAddress { bound = p }
    if case .ip6(_, let p)? = await server.listeningAddress { bound = p }
    return ServeHTTP(server: server, port: bound, task: task)
  }

  func stop() async {
    await server.stop(timeout: 5)
    task.cancel()
  }

  /// `Bearer <secret>`, compared in constant time (no early exit on the first differing byte).
  static func authorized(_ header: String?, secret: Secret?) -> Bool {
    guard let secret, let header, header.hasPrefix("Bearer ") else { return false }
    let given = Array(header.dropFirst("Bearer ".count).utf8)
    let expected = Array(secret.value.utf8)
    var diff = UInt8(given.count == expected.count ? 0 : 1)
    for i in 0..<max(given.count, expected.count) {
      let a = i < given.count ? given[i] : 0
      let b = i < expected.count ? expected[i] : 0
      diff |= a ^ b
    }
    return diff == 0
  }

  static func text(_ status: Int, _ body: String) -> HTTPResponse {
    var headers = HTTPHeaders()
    headers[.contentType] = "text/plain; charset=utf-8"
    return HTTPResponse(
      statusCode: HTTPStatusCode(status, phrase: phrase(status)), headers: headers, body: Data(body.utf8))
  }

  static func phrase(_ status: Int) -> String {
    switch status {
    case 200: return "OK"
    case 401: return "Unauthorized"
    case 404: return "Not Found"
    case 409: return "Conflict"
    case 503: return "Service Unavailable"
    default: return "Internal Server Error"
    }
  }
}

import FlyingSocks
import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

// Request-head parsing and socket helpers of the HTTP/1.1 layer.
extension WireServer {
  struct Head {
    var method: String
    var target: String
    var version: String
    var headers: [String: String]
    var body: [UInt8] = []

    var request: WireRequest {
      let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
      let rawPath = parts.first.map(String.init) ?? "/"
      var query: [(String, String)] = []
      if parts.count > 1 {
        for item in parts[1].split(separator: "&") where !item.isEmpty {
          let kv = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
          let k = WireServer.percentDecode(String(kv[0]))
          let v = kv.count > 1 ? WireServer.percentDecode(String(kv[1])) : ""
          query.append((k, v))
        }
      }
      return WireRequest(
        method: method, path: WireServer.percentDecode(rawPath, plusIsSpace: false), query: query, headers: headers,
        body: body)
    }
  }

  static func percentDecode(_ s: String, plusIsSpace: Bool = true) -> String {
    let t = plusIsSpace ? s.replacingOccurrences(of: "+", with: " ") : s
    return t.removingPercentEncoding ?? t
  }

  static func keepAlive(_ head: Head) -> Bool {
    let conn = head.headers["connection"]?.lowercased() ?? ""
    if head.version == "HTTP/1.0" { return conn.contains("keep-alive") }
    return !conn.contains("close")
  }

  static func findHeadEnd(_ buf: [UInt8], from: Int) -> Int? {
    guard buf.count - from >= 4 else { return nil }
    var i = from
    while i + 3 < buf.count {
      if buf[i] == 13 && buf[i + 1] == 10 && buf[i + 2] == 13 && buf[i + 3] == 10 { return i }
      i += 1
    }
    return nil
  }

  static func findCRLF(_ buf: [UInt8], from: Int) -> Int? {
    var i = from
    while i + 1 < buf.count {
      if buf[i] == 13 && buf[i + 1] == 10 { return i }
      i += 1
    }
    return nil
  }

  static func parseHead(_ bytes: ArraySlice<UInt8>) -> Head? {
    let text = String(decoding: bytes, as: UTF8.self)
    var lines = text.components(separatedBy: "\r\n")
    guard !lines.isEmpty else { return nil }
    let requestLine = lines.removeFirst().split(separator: " ")
    guard requestLine.count == 3 else { return nil }
    var headers: [String: String] = [:]
    for line in lines where !line.isEmpty {
      guard let colon = line.firstIndex(of: ":") else { return nil }
      let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
      let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
      headers[name] = headers[name].map { "\($0), \(value)" } ?? value
    }
    return Head(
      method: String(requestLine[0]), target: String(requestLine[1]), version: String(requestLine[2]),
      headers: headers)
  }

  static func plain(_ status: Int, _ message: String) -> WireResponse {
    WireResponse(
      status: status, body: Array("{\"code\":\(status),\"message\":\"\(message)\",\"param\":null}".utf8))
  }

  /// Disables Nagle so a response is never held back waiting for the peer's delayed ACK.
  func setNoDelay(_ socket: Socket) {
    try? socket.setValue(true, for: BoolSocketOption(level: Int32(IPPROTO_TCP), name: Int32(TCP_NODELAY)))
  }

  /// Closes with SO_LINGER 0: the peer sees a connection reset, not a response.
  static func abort(_ socket: Socket) {
    var l = linger(l_onoff: 1, l_linger: 0)
    _ = setsockopt(socket.file.rawValue, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
    try? socket.close()
  }

  static func reason(_ status: Int) -> String {
    switch status {
    case 200: return "OK"
    case 201: return "Created"
    case 202: return "Accepted"
    case 204: return "No Content"
    case 400: return "Bad Request"
    case 401: return "Unauthorized"
    case 404: return "Not Found"
    case 405: return "Method Not Allowed"
    case 413: return "Payload Too Large"
    case 422: return "Unprocessable Entity"
    case 429: return "Too Many Requests"
    case 431: return "Request Header Fields Too Large"
    case 500: return "Internal Server Error"
    case 502: return "Bad Gateway"
    case 503: return "Service Unavailable"
    case 504: return "Gateway Timeout"
    default: return "Status"
    }
  }
}

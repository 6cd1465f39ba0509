import FlyingSocks
import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// One parsed HTTP/1.1 request.
struct WireRequest: Sendable {
  var method: String
  /// Decoded path without the query (`/v1/customers`).
  var path: String
  /// Decoded query items in order (`per_page=200` → ("per_page", "200")).
  var query: [(String, String)]
  /// Header names lower-cased.
  var headers: [String: String]
  var body: [UInt8]

  func queryValue(_ name: String) -> String? { query.first { $0.0 == name }?.1 }
}

/// A complete response: status, extra headers, body. Written with a single `send` (head + body).
struct WireResponse: Sendable {
  var status: Int
  var headers: [(String, String)]
  var body: [UInt8]

  init(status: Int, headers: [(String, String)] = [], body: [UInt8] = []) {
    self.status = status
    self.headers = headers
    self.body = body
  }
}

/// What the connection does with a request.
enum WireAction: Sendable {
  case respond(WireResponse)
  /// Close the connection abruptly (RST) without sending anything.
  case drop
}

/// A minimal HTTP/1.1 server on FlyingSocks (FlyingFox's socket layer), bound to one address.
///
/// Why not `FlyingFox.HTTPServer`: it writes the response head and body in two `send`s without
/// `TCP_NODELAY` (a 40 ms Nagle/delayed-ACK stall per keep-alive response), cannot close a
/// connection without answering (needed for reset fault injection), cannot count connections and
/// ignores `Expect: 100-continue` (curl-based URLSession then waits 1 s before large bodies).
/// This layer sets `TCP_NODELAY`, writes head + body together, keeps connections alive, answers
/// `100 Continue`, and reads bodies up to `maxBodyBytes` (chunked or Content-Length).
final class WireServer: @unchecked Sendable {
  typealias Handler = @Sendable (WireRequest) async -> WireAction

  /// Hard cap on a request body; larger requests get 413 and the connection is closed unread.
  static let maxBodyBytes = 32 * 1024 * 1024
  static let maxHeadBytes = 64 * 1024

  let port: UInt16
  private let listener: Socket
  private let pool: any AsyncSocketPool
  private let handler: Handler
  private let lock = NSLock()
  private var tasks: [Int: Task<Void, Never>] = [:]
  private var sockets: [Int: Socket] = [:]
  private var nextID = 0
  private var poolTask: Task<Void, Never>?
  private var acceptTask: Task<Void, Never>?
  private var stopped = false

  private init(listener: Socket, port: UInt16, pool: any AsyncSocketPool, handler: @escaping Handler) {
    self.listener = listener
    self.port = port
    self.pool = pool
    self.handler = handler
  }

  /// Binds `host:port` (port 0 = a free port), starts accepting and returns once listening.
  static func start(host: String, port: UInt16, handler: @escaping Handler) async throws -> WireServer {
    let socket = try Socket(domain: Int32(sockaddr_in.family), type: .stream)
    try socket.setValue(true, for: .localAddressReuse)
    try socket.bind(to: sockaddr_in.inet(ip4: host, port: port))
    try socket.listen()
    guard case .ip4(_, let bound) = try socket.sockname() else { throw SocketError.unsupportedAddress }
    let pool: any AsyncSocketPool = SocketPool.make(maxEvents: 64)
    try await pool.prepare()
    let server = WireServer(listener: socket, port: bound, pool: pool, handler: handler)
    server.poolTask = Task { try? await pool.run() }
    let asyncListener = try AsyncSocket(socket: socket, pool: pool)
    server.acceptTask = Task { await server.acceptLoop(asyncListener) }
    return server
  }

  private func acceptLoop(_ listener: AsyncSocket) async {
    while !Task.isCancelled {
      guard let conn = try? await listener.accept() else {
        if Task.isCancelled { return }
        try? await Task.sleep(nanoseconds: 5_000_000)
        continue
      }
      setNoDelay(conn.socket)
      let accepted = lock.withLock { () -> Bool in
        if stopped { return false }
        let id = nextID
        nextID += 1
        sockets[id] = conn.socket
        tasks[id] = Task { [self] in
          let abortive = await serve(conn)
          lock.withLock {
            tasks[id] = nil
            sockets[id] = nil
          }
          // The only place a connection's descriptor is closed (never twice, never while in use).
          if abortive { Self.abort(conn.socket) } else { try? conn.close() }
        }
        return true
      }
      if !accepted {
        try? conn.close()
        return
      }
    }
  }

  /// Stops accepting, aborts open connections and the socket pool.
  func stop() async {
    let (running, open) = lock.withLock { () -> ([Task<Void, Never>], [Socket]) in
      stopped = true
      return (Array(tasks.values), Array(sockets.values))
    }
    acceptTask?.cancel()
    for t in running { t.cancel() }
    // Wake blocked reads/writes; each connection task then closes its own descriptor.
    for s in open { _ = shutdown(s.file.rawValue, Int32(SHUT_RDWR)) }
    for t in running { await t.value }
    await acceptTask?.value
    try? listener.close()
    poolTask?.cancel()
    await poolTask?.value
  }

  // MARK: - Connection

  /// Serves requests until the peer closes or an error; true when the connection must be reset.
  private func serve(_ conn: AsyncSocket) async -> Bool {
    var buf: [UInt8] = []
    var start = 0
    do {
      while !Task.isCancelled {
        // Head: up to CRLFCRLF.
        var headEnd: Int?
        while true {
          if let e = Self.findHeadEnd(buf, from: start) {
            headEnd = e
            break
          }
          if buf.count - start > Self.maxHeadBytes {
            try await write(conn, Self.plain(431, "request head too large"), close: true)
            return false
          }
          guard let more = try await readSome(conn) else { return false }
          if start > 0 && start == buf.count {
            buf.removeAll(keepingCapacity: true)
            start = 0
          }
          buf.append(contentsOf: more)
        }
        guard let end = headEnd, var head = Self.parseHead(buf[start..<end]) else {
          try await write(conn, Self.plain(400, "malformed request head"), close: true)
          return false
        }
        var pos = end + 4
        let chunked = head.headers["transfer-encoding"]?.lowercased().contains("chunked") ?? false
        let expectContinue = head.headers["expect"]?.lowercased() == "100-continue"
        var sentContinue = false
        if chunked {
          var body: [UInt8] = []
          while true {
            // chunk-size line
            var lineEnd = Self.findCRLF(buf, from: pos)
            while lineEnd == nil {
              if expectContinue && !sentContinue {
                try await conn.write(Data("HTTP/1.1 100 Continue\r\n\r\n".utf8))
                sentContinue = true
              }
              guard let more = try await readSome(conn) else { return false }
              buf.append(contentsOf: more)
              lineEnd = Self.findCRLF(buf, from: pos)
            }
            let sizeText = String(decoding: buf[pos..<lineEnd!], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16), size >= 0 else {
              try await write(conn, Self.plain(400, "bad chunk size"), close: true)
              return false
            }
            pos = lineEnd! + 2
            if size == 0 {
              // trailers end with an empty line
              while true {
                var tEnd = Self.findCRLF(buf, from: pos)
                while tEnd == nil {
                  guard let more = try await readSome(conn) else { return false }
                  buf.append(contentsOf: more)
                  tEnd = Self.findCRLF(buf, from: pos)
                }
                let empty = tEnd! == pos
                pos = tEnd! + 2
                if empty { break }
              }
              break
            }
            if body.count + size > Self.maxBodyBytes {
              try await write(conn, Self.plain(413, "request body too large"), close: true)
              return false
            }
            while buf.count < pos + size + 2 {
              guard let more = try await readSome(conn, inBody: true) else { return false }
              buf.append(contentsOf: more)
            }
            body.append(contentsOf: buf[pos..<(pos + size)])
            pos += size + 2
          }
          head.body = body
        } else {
          let length = Int(head.headers["content-length"] ?? "0") ?? -1
          guard length >= 0 else {
            try await write(conn, Self.plain(400, "bad Content-Length"), close: true)
            return false
          }
          if length > Self.maxBodyBytes {
            try await write(conn, Self.plain(413, "request body too large"), close: true)
            return false
          }
          if expectContinue && length > 0 && buf.count < pos + length {
            try await conn.write(Data("HTTP/1.1 100 Continue\r\n\r\n".utf8))
          }
          if length > 0 { buf.reserveCapacity(pos + length) }
          while buf.count < pos + length {
            guard let more = try await readSome(conn, want: pos + length - buf.count, inBody: true) else {
              return false
            }
            buf.append(contentsOf: more)
          }
          head.body = Array(buf[pos..<(pos + length)])
          pos += length
        }
        start = pos
        if start == buf.count {
          buf.removeAll(keepingCapacity: buf.capacity <= 1 << 20)
          start = 0
        }
        let keepAlive = Self.keepAlive(head)
        switch await handler(head.request) {
        case .drop:
          return true
        case .respond(let response):
          try await write(conn, response, close: !keepAlive)
          if !keepAlive { return false }
        }
      }
    } catch is BodyStall {
      return true
    } catch {
      return false
    }
    return false
  }

  /// Seconds a request body may stall before the connection is reset. A client that announced a
  /// body and never sends it (curl-based URLSession does this when it retries a POST after a reset)
  /// then gets a network error quickly instead of waiting for its own timeout.
  static let bodyStallSeconds = 3.0

  struct BodyStall: Error {}

  /// Reads what is available (at most 256 KiB); nil at end of stream. `inBody` bounds each wait.
  private func readSome(_ conn: AsyncSocket, want: Int = 65536, inBody: Bool = false) async throws -> [UInt8]? {
    let n = max(4096, min(want, 256 * 1024))
    while true {
      try Task.checkCancellation()
      do {
        return try conn.socket.read(atMost: n)
      } catch SocketError.blocked {
        if !inBody {
          try await pool.suspendSocket(conn.socket, untilReadyFor: .read)
          continue
        }
        let pool = self.pool
        let ready = try await withThrowingTaskGroup(of: Bool.self) { group in
          group.addTask {
            try await pool.suspendSocket(conn.socket, untilReadyFor: .read)
            return true
          }
          group.addTask {
            try await Task.sleep(nanoseconds: UInt64(Self.bodyStallSeconds * 1e9))
            return false
          }
          let first = try await group.next() ?? false
          group.cancelAll()
          return first
        }
        if !ready { throw BodyStall() }
      } catch SocketError.disconnected {
        return nil
      }
    }
  }

  private func write(_ conn: AsyncSocket, _ response: WireResponse, close: Bool) async throws {
    var out = Array("HTTP/1.1 \(response.status) \(Self.reason(response.status))\r\n".utf8)
    var hasType = false
    for (k, v) in response.headers {
      if k.lowercased() == "content-type" { hasType = true }
      out.append(contentsOf: "\(k): \(v)\r\n".utf8)
    }
    if !hasType && !response.body.isEmpty { out.append(contentsOf: "Content-Type: application/json\r\n".utf8) }
    out.append(contentsOf: "Content-Length: \(response.body.count)\r\n".utf8)
    out.append(contentsOf: (close ? "Connection: close\r\n\r\n" : "Connection: keep-alive\r\n\r\n").utf8)
    out.append(contentsOf: response.body)
    try await conn.write(Data(out))
  }
}

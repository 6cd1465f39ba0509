import Foundation
import PostgresClient

#if canImport(Glibc)
  import Glibc
#endif

/// A PostgreSQL server of its own (initdb + pg_ctl from `ETL_TEST_PG_BIN`), so a test can restart it
/// without disturbing the shared server other tests are using at the same time. As root the server
/// runs as the `postgres` user (initdb refuses root), exactly like `scripts/with-postgres`.
///
/// With `tls: true` the server also speaks TLS with a certificate for `localhost` signed by a CA made
/// for it (`caCertificate`), so clients can be tested with `sslmode=verify-full`.
public final class PrivatePostgres: @unchecked Sendable {
  // Immutable after `start`.
  public let folder: String
  public let port: Int
  let bin: String
  let tls: Bool

  var data: String { folder + "/data" }
  /// The CA that signed the server certificate (with `tls: true`).
  public var caCertificate: String { folder + "/ca.crt" }
  public func url(_ database: String) -> String { "postgresql://postgres@127.0.0.1:\(port)/\(database)" }

  private init(folder: String, port: Int, bin: String, tls: Bool) {
    self.folder = folder
    self.port = port
    self.bin = bin
    self.tls = tls
  }

  public static func start(tls: Bool = false) throws -> PrivatePostgres {
    guard let bin = ProcessInfo.processInfo.environment["ETL_TEST_PG_BIN"], !bin.isEmpty else {
      throw TestDatabaseError("ETL_TEST_PG_BIN is not set: run the tests through scripts/with-postgres")
    }
    var template = Array("/tmp/etl-rel-pg.XXXXXX".utf8CString)
    guard let p = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
      throw TestDatabaseError("mkdtemp failed")
    }
    let folder = String(cString: p)
    chmod(folder, 0o755)
    if getuid() == 0 { try shell(["chown", "postgres", folder]) }
    let server = PrivatePostgres(folder: folder, port: try freePort(), bin: bin, tls: tls)
    try server.pg(["\(bin)/initdb", "-D", server.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C"])
    if tls { try server.makeCertificates() }
    try server.pgCtl("start")
    return server
  }

  /// A CA and a `localhost` server certificate it signs, in the data folder (owned by the server user).
  func makeCertificates() throws {
    let d = data
    try Self.shell([
      "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=etl-test-ca",
      "-keyout", folder + "/ca.key", "-out", caCertificate,
    ])
    try Self.shell([
      "openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
      "-keyout", d + "/server.key", "-out", folder + "/server.csr",
    ])
    guard
      FileManager.default.createFile(atPath: folder + "/san.ext", contents: Data("subjectAltName=DNS:localhost\n".utf8))
    else { throw TestDatabaseError("cannot write \(folder)/san.ext") }
    try Self.shell([
      "openssl", "x509", "-req", "-in", folder + "/server.csr", "-CA", caCertificate, "-CAkey", folder + "/ca.key",
      "-CAcreateserial", "-days", "2", "-extfile", folder + "/san.ext", "-out", d + "/server.crt",
    ])
    chmod(d + "/server.key", 0o600)
    chmod(caCertificate, 0o644)
    if getuid() == 0 { try Self.shell(["chown", "postgres", d + "/server.key", d + "/server.crt"]) }
  }

  /// `pg_ctl <action>` (`start`, `stop`, `restart`), waiting for it to finish.
  public func pgCtl(_ action: String) throws {
    var args = ["\(bin)/pg_ctl", "-D", data, "-w", "-t", "60", "-m", "fast", "-l", folder + "/server.log"]
    if action != "stop" {
      var options = "-p \(port) -k \(folder) -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50"
      if tls { options += " -c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key" }
      args += ["-o", options]
    }
    try pg(args + [action])
  }

  public func stop() {
    try? pg(["\(bin)/pg_ctl", "-D", data, "-m", "immediate", "stop"])
    try? FileManager.default.removeItem(atPath: folder)
  }

  /// Creates a database seeded from `fixtures/app/seed.sql`.
  public func createSeeded(_ name: String) throws -> String {
    let admin = try PostgresConnection(url: url("postgres"))
    try admin.execute("CREATE DATABASE \(name)", name: "create")
    let conn = try PostgresConnection(url: url(name))
    try conn.execute(try TestDatabase.seedSQL(), name: "seed")
    return url(name)
  }

  private func pg(_ args: [String]) throws {
    try Self.shell(getuid() == 0 ? ["runuser", "-u", "postgres", "--"] + args : args)
  }

  /// Runs a command and waits for it with posix_spawn + waitpid. (Foundation's `Process` waits for
  /// the end of a pipe the child inherits; `pg_ctl start` hands that pipe on to the postmaster it
  /// daemonizes, so `waitUntilExit` would never return.)
  public static func shell(_ args: [String]) throws {
    let argv: [UnsafeMutablePointer<CChar>?] = (["/usr/bin/env"] + args).map { strdup($0) } + [nil]
    defer { for a in argv { free(a) } }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, "/usr/bin/env", &actions, nil, argv, environ)
    guard spawned == 0 else {
      throw TestDatabaseError("cannot start \(args[0]): \(String(cString: strerror(spawned)))")
    }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let exited = (status & 0x7f) == 0
    let code = (status >> 8) & 0xff
    guard exited && code == 0 else {
      throw TestDatabaseError(
        "\(args.joined(separator: " ")) exited \(exited ? "with \(code)" : "on signal \(status & 0x7f)")")
    }
  }

  public static func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
    }
    guard bound else { throw TestDatabaseError("no free port") }
    return Int(UInt16(bigEndian: addr.sin_port))
  }
}

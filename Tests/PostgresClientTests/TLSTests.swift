import ETLTestSupport
import Foundation
import PostgresClient
import Testing

/// TLS settings in the database URL reach libpq unchanged: a server of its own with a certificate
/// for `localhost` signed by a CA made for the test.
@Suite("libpq connection over TLS", .serialized)
struct TLSTests {
  @Test(
    "sslmode=verify-full with the right CA connects encrypted; a wrong CA, a wrong host name and sslmode=require against a plain server are clear errors"
  )
  func tlsParametersArePassedThrough() throws {
    let pg = try PrivatePostgres.start(tls: true)
    defer { pg.stop() }
    let base = "postgresql://postgres:pw-not-needed-9@localhost:\(pg.port)/postgres"

    let verified = try PostgresConnection(url: base + "?sslmode=verify-full&sslrootcert=\(pg.caCertificate)")
    let ssl = try verified.query(
      "SELECT ssl::text, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()", name: "ssl state")
    #expect(ssl.rows.first?.first == "true", "the session is encrypted")
    #expect(ssl.rows.first?.last??.hasPrefix("TLS") == true)
    let plain = try PostgresConnection(url: base + "?sslmode=disable")
    #expect(
      try plain.query("SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()", name: "ssl state").rows.first?
        .first == "false")

    // A CA that did not sign the server's certificate.
    let other = try TempDirectory(prefix: "tls")
    try PrivatePostgres.shell([
      "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=other-ca",
      "-keyout", other.file("other.key"), "-out", other.file("other.crt"),
    ])
    let wrongCA = #expect(throws: PostgresError.self) {
      try PostgresConnection(url: base + "?sslmode=verify-full&sslrootcert=\(other.file("other.crt"))")
    }
    #expect(wrongCA?.kind == .connection)
    #expect(wrongCA?.description.contains("certificate") == true, "\(wrongCA?.description ?? "")")
    #expect(wrongCA?.description.contains("pw-not-needed-9") == false)

    // The certificate names localhost, not 127.0.0.1.
    let wrongHost = #expect(throws: PostgresError.self) {
      try PostgresConnection(
        url: "postgresql://postgres@127.0.0.1:\(pg.port)/postgres?sslmode=verify-full&sslrootcert=\(pg.caCertificate)")
    }
    #expect(wrongHost?.description.contains("127.0.0.1") == true, "\(wrongHost?.description ?? "")")

    // The shared test server has no TLS: require is refused, not silently downgraded.
    let port = try #require(ProcessInfo.processInfo.environment["ETL_TEST_PG_PORT"])
    let noTLS = #expect(throws: PostgresError.self) {
      try PostgresConnection(url: "postgresql://postgres@127.0.0.1:\(port)/postgres?sslmode=require")
    }
    #expect(noTLS?.description.contains("SSL") == true, "\(noTLS?.description ?? "")")
  }
}

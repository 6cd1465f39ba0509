import Foundation
import RevenueCore

/// Helpers for libpq connection URLs (`postgres://` and `postgresql://`, e.g.
/// `postgresql://etl:pw@db.internal:5432/app?sslmode=verify-full` or
/// `postgresql://postgres@/app?host=/var/run/postgresql`). libpq parses the URL itself; these helpers
/// only check the scheme, hide the password and change the database name.
public enum ConnectionURL {
  static let schemes = ["postgresql://", "postgres://"]
  static let unreserved = CharacterSet(
    charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")

  /// True when `url` starts with a scheme libpq accepts as a URL.
  public static func hasValidScheme(_ url: String) -> Bool {
    schemes.contains { url.lowercased().hasPrefix($0) }
  }

  /// Splits `scheme://authority/path?query` (authority = `[user[:password]@]host[:port]`).
  static func split(_ url: String) -> (scheme: String, authority: String, path: String, query: String)? {
    guard let scheme = schemes.first(where: { url.lowercased().hasPrefix($0) }) else { return nil }
    let rest = url.dropFirst(scheme.count)
    let queryStart = rest.firstIndex(of: "?") ?? rest.endIndex
    let beforeQuery = rest[..<queryStart]
    let query = queryStart < rest.endIndex ? String(rest[rest.index(after: queryStart)...]) : ""
    // The password may contain '/', so the authority ends at the first '/' after the last '@'.
    let hostStart = beforeQuery.lastIndex(of: "@").map { beforeQuery.index(after: $0) } ?? beforeQuery.startIndex
    let slash = beforeQuery[hostStart...].firstIndex(of: "/") ?? beforeQuery.endIndex
    return (
      String(url.prefix(scheme.count)), String(beforeQuery[..<slash]), String(beforeQuery[slash...]), query
    )
  }

  /// The password written in the URL (user-info part or `password=` parameter), percent-decoded.
  public static func passwords(in url: String) -> [String] {
    guard let parts = split(url) else { return [] }
    var out: [String] = []
    if let at = parts.authority.lastIndex(of: "@") {
      let userInfo = parts.authority[..<at]
      if let colon = userInfo.firstIndex(of: ":") {
        let raw = String(userInfo[userInfo.index(after: colon)...])
        out.append(raw)
        if let decoded = raw.removingPercentEncoding, decoded != raw { out.append(decoded) }
      }
    }
    for item in parts.query.split(separator: "&") where item.lowercased().hasPrefix("password=") {
      let raw = String(item.dropFirst("password=".count))
      out.append(raw)
      if let decoded = raw.removingPercentEncoding, decoded != raw { out.append(decoded) }
    }
    return out.filter { !$0.isEmpty }
  }

  /// Registers the URL and its password with `Redactor.shared`, so neither can reach a log or an error.
  public static func registerSecrets(_ url: String) {
    Redactor.shared.register(url)
    for p in passwords(in: url) { Redactor.shared.register(p) }
  }

  /// The URL without its password, for messages: `postgresql://etl@db:5432/app?sslmode=require`.
  public static func display(_ url: String) -> String {
    guard let parts = split(url) else { return "(not a postgres:// URL)" }
    var authority = parts.authority
    if let at = authority.lastIndex(of: "@") {
      let userInfo = authority[..<at]
      if let colon = userInfo.firstIndex(of: ":") {
        authority = String(userInfo[..<colon]) + String(authority[at...])
      }
    }
    let query = parts.query.split(separator: "&").filter { !$0.lowercased().hasPrefix("password=") }
      .joined(separator: "&")
    return parts.scheme + authority + parts.path + (query.isEmpty ? "" : "?" + query)
  }

  /// The same URL pointing at another database (the path is replaced; host, port, user, query kept).
  public static func withDatabase(_ url: String, _ database: String) -> String? {
    guard let parts = split(url) else { return nil }
    let encoded = database.addingPercentEncoding(withAllowedCharacters: unreserved) ?? database
    return parts.scheme + parts.authority + "/" + encoded + (parts.query.isEmpty ? "" : "?" + parts.query)
  }
}

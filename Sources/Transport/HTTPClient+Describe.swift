import Foundation
import RevenueCore

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

extension HTTPClient {
  /// One line for a transport error: Foundation's localized text ("Failed to connect to
  /// 127.0.0.1 port 1 after 0 ms: Couldn't connect to server") instead of the NSError dump.
  public static func describe(_ error: Error) -> String {
    if let u = error as? URLError {
      let text = (u as NSError).localizedDescription
      return text.isEmpty || text == "(null)" ? "network error \(u.code.rawValue)" : text
    }
    let ns = error as NSError
    if ns.domain == NSURLErrorDomain || ns.domain == "NSURLErrorDomain" {
      if let text = ns.userInfo[NSLocalizedDescriptionKey] as? String, !text.isEmpty { return text }
      return "network error \(ns.code)"
    }
    return "\(error)"
  }
}

extension HTTPRetryExhausted: ServiceUnavailableProblem {
  /// Retries only run out on network errors, 429 and 5xx: always "try again later".
  public var isServiceUnavailable: Bool { true }
  public var unavailableSummary: String {
    var s = "cannot reach \(host ?? "the server"): \(request) failed \(attempts) times"
    if let lastStatus { s += " (last HTTP \(lastStatus))" } else if let lastError { s += " (\(lastError))" }
    return s + "; check the URL, the network and the service's status, then rerun"
  }
}

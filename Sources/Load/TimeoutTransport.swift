import Foundation
import Transport

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// Bounds every attempt by `request_timeout_seconds`, whatever the underlying transport does (on
/// Linux, URLSession may wait for its session-wide 60 s timeout on a connection that was reset or
/// went silent). The abandoned attempt finishes in the background; `HTTPClient` retries it as a
/// network error, and a POST that did commit is recognised by its external id.
struct TimeoutTransport: HTTPTransport {
  let base: any HTTPTransport
  let seconds: Double

  func send(_ request: HTTPRequest) async throws -> HTTPResponse {
    let once = ResumeOnce()
    return try await withCheckedThrowingContinuation { (cont: CheckedContinuation<HTTPResponse, Error>) in
      once.set(cont)
      let base = self.base
      let seconds = self.seconds
      Task {
        do { once.resume(.success(try await base.send(request))) } catch { once.resume(.failure(error)) }
      }
      Task {
        try? await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
        once.resume(.failure(URLError(.timedOut)))
      }
    }
  }
}

/// Resumes a continuation exactly once (the first of the request and the timer wins).
final class ResumeOnce: @unchecked Sendable {
  // Guarded by `lock`.
  private let lock = NSLock()
  private var cont: CheckedContinuation<HTTPResponse, Error>?
  private var pending: Result<HTTPResponse, Error>?

  func set(_ c: CheckedContinuation<HTTPResponse, Error>) {
    lock.lock()
    if let p = pending {
      pending = nil
      lock.unlock()
      c.resume(with: p)
      return
    }
    cont = c
    lock.unlock()
  }

  func resume(_ r: Result<HTTPResponse, Error>) {
    lock.lock()
    guard let c = cont else {
      if pending == nil { pending = r }
      lock.unlock()
      return
    }
    cont = nil
    lock.unlock()
    c.resume(with: r)
  }
}

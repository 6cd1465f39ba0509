import Foundation

/// A stop request from SIGINT/SIGTERM, visible to every stage: work already in flight finishes, no
/// new work starts, and the run is recorded as `interrupted` (README "Exit codes": 130/143).
///
/// The CLI's signal handler sets it and cancels the command's task; stages see the cancellation at
/// their next batch or request boundary (`HTTPClient` checks it before each attempt).
public final class Interruption: @unchecked Sendable {
  // `signal` is guarded by `lock`.
  private let lock = NSLock()
  private var signal: Int32?

  public static let shared = Interruption()

  public init() {}

  /// Records the first signal received (later ones do not replace it).
  public func request(signal number: Int32) {
    lock.lock()
    defer { lock.unlock() }
    if signal == nil { signal = number }
  }

  /// The signal that asked the process to stop, if any.
  public var requestedSignal: Int32? {
    lock.lock()
    defer { lock.unlock() }
    return signal
  }

  public var isRequested: Bool { requestedSignal != nil }

  /// Clears the request (the `serve` loop after a drained run, tests).
  public func reset() {
    lock.lock()
    defer { lock.unlock() }
    signal = nil
  }

  /// `SIGINT`, `SIGTERM` or `signal N`.
  public static func name(_ number: Int32) -> String {
    switch number {
    case SIGINT: return "SIGINT"
    case SIGTERM: return "SIGTERM"
    case SIGHUP: return "SIGHUP"
    default: return "signal \(number)"
    }
  }
}

/// The command stopped because of a signal. The CLI exits 128 + signal (130 SIGINT, 143 SIGTERM).
public struct InterruptedError: Error, Sendable, CustomStringConvertible {
  public var signal: Int32
  /// What to run to resume (e.g. `chartmogul-etl load --pipeline p.yaml --run-id X`).
  public var resume: String?
  public init(signal: Int32, resume: String? = nil) {
    self.signal = signal
    self.resume = resume
  }
  public var description: String {
    "interrupted by \(Interruption.name(signal)): work in flight finished and was recorded; rerun to resume"
      + (resume.map { " (\($0))" } ?? "")
  }
}

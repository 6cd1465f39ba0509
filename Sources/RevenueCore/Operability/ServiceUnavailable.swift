/// A source or ChartMogul could not be reached or kept failing (network error, 5xx, 429 after every
/// retry): nothing is wrong with the data or the configuration, so the same command should be
/// retried later. The CLI exits 75 (`EX_TEMPFAIL`) with `unavailableSummary`, one line naming the
/// service, what was tried and what to check.
public protocol ServiceUnavailableProblem: Error {
  /// False when the same error type describes a non-transient failure (e.g. a 422).
  var isServiceUnavailable: Bool { get }
  var unavailableSummary: String { get }
}

/// A plain "could not reach X" problem (preflight checks).
public struct ServiceUnavailableError: ServiceUnavailableProblem, CustomStringConvertible {
  public var message: String
  public init(_ message: String) { self.message = Redactor.shared.redact(message) }
  public var isServiceUnavailable: Bool { true }
  public var unavailableSummary: String { message }
  public var description: String { message }
}

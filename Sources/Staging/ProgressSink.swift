/// Receives progress of a long stage. The CLI renders it as a bar on a terminal and as periodic log
/// lines otherwise; tests and library callers can pass `NoProgress()`.
public protocol ProgressSink: Sendable {
  /// A new phase starts (`"transform invoices"`); `total` is the expected count when known.
  func begin(_ label: String, total: Int?)
  /// `count` more items are done.
  func advance(by count: Int)
  /// The phase is over.
  func end()
}

public struct NoProgress: ProgressSink {
  public init() {}
  public func begin(_ label: String, total: Int?) {}
  public func advance(by count: Int) {}
  public func end() {}
}

import Foundation
import Logging

/// Collects log lines (message + metadata) so tests can check that no secret reaches a log.
final class CapturedLines: @unchecked Sendable {
  private let lock = NSLock()
  private var items: [String] = []
  func append(_ s: String) {
    lock.lock()
    items.append(s)
    lock.unlock()
  }
  var lines: [String] {
    lock.lock()
    defer { lock.unlock() }
    return items
  }

  func logger(_ label: String = "test") -> Logger {
    Logger(label: label) { _ in CapturingHandler(sink: self) }
  }
}

struct CapturingHandler: LogHandler {
  let sink: CapturedLines
  var metadata: Logger.Metadata = [:]
  var logLevel: Logger.Level = .trace
  subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }
  func log(event: LogEvent) {
    let meta = (event.metadata ?? [:]).merging(metadata) { a, _ in a }
    sink.append("\(event.level) \(event.message) \(meta)")
  }
}

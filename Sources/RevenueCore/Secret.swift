import Foundation

/// A credential read from the pipeline file or the environment. Its `description` is redacted, and
/// creating one registers the value with `Redactor.shared` so that any text passing through
/// `Redactor.shared.redact(_:)` (log lines, error messages, ledger bodies, reports) loses it.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
  /// The real value: use only to build an outgoing request.
  public let value: String

  public init(_ value: String) {
    self.value = value
    Redactor.shared.register(value)
  }

  public var description: String { "[redacted]" }
  public var debugDescription: String { "[redacted]" }
}

/// Replaces every registered secret (and its Basic-auth base64 forms) with `[redacted]`.
public final class Redactor: @unchecked Sendable {
  public static let shared = Redactor()
  private let lock = NSLock()
  private var secrets: Set<String> = []

  public init() {}

  /// Registers a value; values shorter than 4 characters are ignored (they would redact ordinary text).
  public func register(_ value: String) {
    guard value.count >= 4 else { return }
    lock.lock()
    defer { lock.unlock() }
    secrets.insert(value)
    // Basic auth carries "key:" or "user:password" base64-encoded; redact the encoded key too.
    secrets.insert(Data("\(value):".utf8).base64EncodedString())
  }

  public var isEmpty: Bool {
    lock.lock()
    defer { lock.unlock() }
    return secrets.isEmpty
  }

  public func redact(_ text: String) -> String {
    lock.lock()
    let list = secrets.sorted { $0.count > $1.count }
    lock.unlock()
    var out = text
    for s in list where out.contains(s) { out = out.replacingOccurrences(of: s, with: "[redacted]") }
    return out
  }
}

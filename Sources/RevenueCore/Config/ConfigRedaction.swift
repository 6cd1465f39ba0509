import Foundation

/// Keeps values expanded from the environment out of configuration error messages.
///
/// A message may quote the value it found wrong ("'…' is not a URL"), and that value may have come
/// from `${CHARTMOGUL_API_KEY}` before the setting that marks it as a secret was ever read (a key put
/// into `name:` by mistake). Every `${VAR}` expansion is remembered here, and every configuration
/// error's text shows `${VAR}` in place of the value, then goes through `Redactor.shared`.
public final class ConfigRedaction: @unchecked Sendable {
  public static let shared = ConfigRedaction()
  /// Shorter values (`true`, `1000`) are left alone: they would rewrite ordinary words and are
  /// never credentials.
  public static let minimumLength = 6
  private let lock = NSLock()
  private var values: [String: String] = [:]

  public init() {}

  /// Remembers that `value` was expanded from the environment variable `name`.
  public func remember(_ value: String, from name: String) {
    guard value.count >= Self.minimumLength else { return }
    lock.lock()
    defer { lock.unlock() }
    if values[value] == nil { values[value] = name }
  }

  /// `text` with every remembered value replaced by `${NAME}` and every registered secret redacted.
  public func redact(_ text: String) -> String {
    lock.lock()
    let list = values.sorted { $0.key.count > $1.key.count }
    lock.unlock()
    var out = text
    for (value, name) in list where out.contains(value) {
      out = out.replacingOccurrences(of: value, with: "${\(name)}")
    }
    return Redactor.shared.redact(out)
  }

  /// `ConfigRedaction.shared.redact(_:)`.
  public static func redact(_ text: String) -> String { shared.redact(text) }
}

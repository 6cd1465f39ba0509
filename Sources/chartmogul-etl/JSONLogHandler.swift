import Foundation
import Logging
import RevenueCore

/// `--log-format json`: one JSON object per line on stderr, `{"time","level","label","message",
/// "metadata":{…}}`, every string passed through `Redactor` (secrets never reach the log).
struct JSONLogHandler: LogHandler {
  var logLevel: Logger.Level
  var metadata: Logger.Metadata = [:]
  let label: String

  subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }

  func log(event: LogEvent) {
    var all = metadata
    if let extra = event.metadata { all.merge(extra) { $1 } }
    var meta = JSONObject()
    for (k, v) in all.sorted(by: { $0.key < $1.key }) { meta[k] = Self.value(v) }
    var o = JSONObject()
    o["time"] = .string(Timestamp(seconds: Int64(Date().timeIntervalSince1970)).iso8601)
    o["level"] = .string(event.level.rawValue)
    o["label"] = .string(label)
    o["message"] = .string(Redactor.shared.redact("\(event.message)"))
    if !meta.fields.isEmpty { o["metadata"] = .object(meta) }
    var bytes = JSONWriter.bytes(.object(o))
    bytes.append(0x0A)
    FileHandle.standardError.write(Data(bytes))
  }

  static func value(_ v: Logger.MetadataValue) -> JSONValue {
    switch v {
    case .string(let s): return .string(Redactor.shared.redact(s))
    case .stringConvertible(let c): return .string(Redactor.shared.redact(c.description))
    case .array(let a): return .array(a.map(value))
    case .dictionary(let d):
      var o = JSONObject()
      for (k, x) in d.sorted(by: { $0.key < $1.key }) { o[k] = value(x) }
      return .object(o)
    }
  }
}

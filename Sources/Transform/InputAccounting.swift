import RevenueCore
import Staging
import TransformRules

/// Counts every input record exactly once per source and writes rejects/skipped diagnostics.
final class InputAccounting {
  let sourceNames: [String]
  private(set) var accounting: [Accounting]
  let rejects: NDJSONWriter
  let skipped: NDJSONWriter
  private(set) var rejectCodes: [String: Int] = [:]
  private(set) var skipCodes: [String: Int] = [:]

  init(sourceNames: [String], rejects: NDJSONWriter, skipped: NDJSONWriter) {
    self.sourceNames = sourceNames
    self.accounting = Array(repeating: Accounting(), count: sourceNames.count)
    self.rejects = rejects
    self.skipped = skipped
  }

  func input(_ s: Int, count: Int = 1) { accounting[s].input += count }
  func out(_ s: Int) { accounting[s].output += 1 }

  func reject(
    _ s: Int, _ line: Int, _ code: String, _ reason: String, externalID: String? = nil, record: JSONValue? = nil
  )
    throws
  {
    accounting[s].rejected += 1
    rejectCodes[code, default: 0] += 1
    try rejects.write(diag(s, line, code, reason, externalID, record).json)
  }

  func skip(
    _ s: Int, _ line: Int, _ code: String, _ reason: String, externalID: String? = nil, record: JSONValue? = nil
  )
    throws
  {
    accounting[s].skipped += 1
    skipCodes[code, default: 0] += 1
    try skipped.write(diag(s, line, code, reason, externalID, record).json)
  }

  private func diag(_ s: Int, _ line: Int, _ code: String, _ reason: String, _ ext: String?, _ rec: JSONValue?)
    -> DiagnosticRecord
  {
    DiagnosticRecord(
      source: sourceNames[s], file: "extract/\(sourceNames[s]).ndjson", line: line, code: code,
      reason: Redactor.shared.redact(reason), externalID: ext, record: rec)
  }

  /// `file:line` of an input record, for messages.
  func place(_ s: Int, _ line: Int) -> String { "extract/\(sourceNames[s]).ndjson:\(line)" }
}

import Foundation
import Logging
import RevenueCore
import Transport

/// A message for the team: a failed run, an MRR variance, or a monitoring threshold crossed.
///
/// Sent as Slack-compatible JSON (`text` is what Slack shows; the other fields are for other receivers).
/// All text passes through `Redactor` before it leaves the process.
public struct Alert: Sendable {
  public enum Kind: String, Sendable {
    case runFailed = "run_failed"
    case mrrVariance = "mrr_variance"
    case threshold
  }
  public var kind: Kind
  public var pipeline: String
  public var runID: String
  public var title: String
  public var lines: [String]
  public var details: JSONObject

  public init(
    kind: Kind, pipeline: String, runID: String, title: String, lines: [String] = [], details: JSONObject = JSONObject()
  ) {
    self.kind = kind
    self.pipeline = pipeline
    self.runID = runID
    self.title = title
    self.lines = lines
    self.details = details
  }

  public var text: String {
    Redactor.shared.redact(
      ([":rotating_light: *\(title)* — pipeline `\(pipeline)`, run `\(runID)`"] + lines).joined(separator: "\n"))
  }

  /// The webhook body: `{"text", "kind", "pipeline", "run_id", "details"}`.
  public var json: JSONValue {
    let d = Redactor.shared.redact(JSONWriter.string(.object(details)))
    let safeDetails = (try? JSONParser.parse(d)) ?? .object(JSONObject())
    return [
      "text": .string(text), "kind": .string(kind.rawValue), "pipeline": .string(pipeline),
      "run_id": .string(runID), "details": safeDetails,
    ]
  }

  /// The run ended with a failure (a stage error, or records failed/rejected).
  public static func runFailed(pipeline: String, runID: String, reason: String) -> Alert {
    Alert(
      kind: .runFailed, pipeline: pipeline, runID: runID, title: "Run failed", lines: [reason],
      details: JSONObject(["reason": .string(reason)]))
  }

  static func mrrVariance(pipeline: String, result: ValidationResult) -> Alert {
    var lines: [String] = []
    for m in result.months where m.variance > result.threshold {
      lines.append(
        "\(m.local.month): local \(m.local.mrr) vs ChartMogul \(m.remoteMRR.map(String.init) ?? "none") (\(ValidateStage.percent(m.variance)))"
      )
    }
    if !result.drillDown.isEmpty {
      lines.append(
        "differs most: "
          + result.drillDown.prefix(5).map { "\($0.externalID) (\($0.difference))" }.joined(separator: ", "))
    }
    lines.append("details: \(result.path)")
    return Alert(
      kind: .mrrVariance, pipeline: pipeline, runID: result.runID,
      title:
        "MRR differs from ChartMogul by \(ValidateStage.percent(result.maxVariance)) (threshold \(ValidateStage.percent(result.threshold)))",
      lines: lines,
      details: JSONObject([
        "max_variance": JSONNumber.value(result.maxVariance), "threshold": JSONNumber.value(result.threshold),
      ]))
  }

  /// Monitoring thresholds crossed (from `Monitoring.breaches`); nil when none is.
  public static func thresholds(pipeline: String, runID: String, breaches: [Monitoring.Breach]) -> Alert? {
    guard !breaches.isEmpty else { return nil }
    return Alert(
      kind: .threshold, pipeline: pipeline, runID: runID,
      title: "\(breaches.count) monitoring threshold\(breaches.count == 1 ? "" : "s") crossed",
      lines: breaches.map(\.sentence), details: JSONObject(["breaches": .array(breaches.map(\.json))]))
  }
}

/// Posts alerts to a webhook. Never throws: a failing webhook is logged (URL redacted) and the run
/// goes on. With no webhook configured, alerts are only logged.
public struct AlertSender: Sendable {
  let webhook: Secret?
  let http: HTTPClient
  let logger: Logger

  public init(
    webhookURL: String?, transport: any HTTPTransport = URLSessionTransport(),
    logger: Logger = Logger(label: "chartmogul-etl.alerts")
  ) {
    self.init(webhook: webhookURL.flatMap { $0.isEmpty ? nil : Secret($0) }, transport: transport, logger: logger)
  }

  public init(
    webhook: Secret?, transport: any HTTPTransport = URLSessionTransport(),
    logger: Logger = Logger(label: "chartmogul-etl.alerts")
  ) {
    self.webhook = webhook
    // Few, quick retries: an alert must not hold up the run. The HTTP layer logs request paths, and a
    // webhook's path is its token, so it gets a silent logger; the outcome is logged here.
    self.http = HTTPClient(
      transport: transport, policy: RetryPolicy(maxAttempts: 3, baseDelay: 0.5, maxDelay: 5, maxTotalSeconds: 20),
      logger: Logger(label: "chartmogul-etl.alerts.http", factory: { _ in SwiftLogNoOpLogHandler() }))
    self.logger = logger
  }

  /// Sends the alert; returns whether the webhook accepted it (2xx).
  @discardableResult
  public func send(_ alert: Alert) async -> Bool {
    logger.warning("alert: \(alert.kind.rawValue): \(Redactor.shared.redact(alert.title))")
    guard let webhook, let url = URL(string: webhook.value) else { return false }
    let req = HTTPRequest(
      method: "POST", url: url, headers: [("Content-Type", "application/json")], body: JSONWriter.bytes(alert.json),
      timeout: 10)
    // A webhook URL's path is its token (Slack: /services/T…/B…/secret): never log it.
    func clean(_ text: String) -> String {
      var t = Redactor.shared.redact(text)
      if url.path.count > 1 { t = t.replacingOccurrences(of: url.path, with: "/[redacted]") }
      return t
    }
    do {
      let resp = try await http.send(req)
      if resp.isSuccess { return true }
      logger.error(
        "alert webhook answered \(resp.status): \(clean(String(resp.bodyText.prefix(200))))",
        metadata: ["http.host": "\(url.host ?? "?")"])
    } catch {
      logger.error("alert webhook failed: \(clean("\(error)"))", metadata: ["http.host": "\(url.host ?? "?")"])
    }
    return false
  }
}

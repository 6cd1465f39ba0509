import FlyingFox
import Foundation
import Logging
import RevenueCore
import Testing
import Validate

/// A webhook receiver on 127.0.0.1 (FlyingFox) that records every POST body.
actor WebhookReceiver {
  private(set) var bodies: [[UInt8]] = []
  let server: HTTPServer
  var task: Task<Void, Error>?
  let status: Int

  init(status: Int = 200) throws {
    self.status = status
    server = HTTPServer(address: try .inet(ip4: "127.0.0.1", port: 0), timeout: 10, logger: .disabled)
  }

  func record(_ b: [UInt8]) { bodies.append(b) }

  func start() async throws -> String {
    let status = self.status
    await server.appendRoute("POST /hook/*") { [weak self] request in
      let body = [UInt8](try await request.bodyData)
      await self?.record(body)
      return HTTPResponse(statusCode: HTTPStatusCode(status, phrase: status == 200 ? "OK" : "Error"))
    }
    let s = server
    task = Task { try await s.run() }
    try await server.waitUntilListening(timeout: 10)
    guard case .ip4(_, let port)? = await server.listeningAddress else { throw CocoaError(.fileReadUnknown) }
    return "http://127.0.0.1:\(port)/hook/T000/B000/secret-token-xyz"
  }

  func stop() async {
    await server.stop(timeout: 1)
    task?.cancel()
  }
}

@Suite struct AlertTests {
  @Test func webhookReceivesSlackCompatibleMessageWithoutSecrets() async throws {
    let receiver = try WebhookReceiver()
    let url = try await receiver.start()
    defer { Task { await receiver.stop() } }
    _ = Secret("sk_live_do_not_leak_42")
    let alert = Alert.runFailed(
      pipeline: "nightly", runID: "20261127T020000Z", reason: "load failed: key sk_live_do_not_leak_42 rejected")
    let ok = await AlertSender(webhookURL: url).send(alert)
    #expect(ok)
    let bodies = await receiver.bodies
    #expect(bodies.count == 1)
    let json = try JSONParser.parse(try #require(bodies.first))
    let text = try #require(json["text"]?.stringValue)
    #expect(text.contains("Run failed"))
    #expect(text.contains("nightly"))
    #expect(!text.contains("sk_live_do_not_leak_42"))
    #expect(text.contains("[redacted]"))
    #expect(json["kind"]?.stringValue == "run_failed")
    #expect(!String(decoding: bodies[0], as: UTF8.self).contains("sk_live_do_not_leak_42"))
  }

  @Test func failingWebhookIsLoggedNeverThrown() async throws {
    let receiver = try WebhookReceiver(status: 500)
    let url = try await receiver.start()
    defer { Task { await receiver.stop() } }
    let alert = Alert.runFailed(pipeline: "nightly", runID: "r1", reason: "boom")
    let log = CapturedLines()
    let ok = await AlertSender(webhookURL: url, logger: log.logger()).send(alert)
    #expect(!ok)
    #expect(await receiver.bodies.count == 3)  // bounded retries, then given up
    #expect(log.lines.contains { $0.contains("alert webhook failed") })
    #expect(!log.lines.contains { $0.contains("secret-token-xyz") || $0.contains("T000/B000") })
    // Nothing listening at all: still returns normally.
    let dead = await AlertSender(webhookURL: "http://127.0.0.1:9/hook").send(alert)
    #expect(!dead)
    // No webhook configured: logged only.
    #expect(await AlertSender(webhookURL: nil).send(alert) == false)
  }

  @Test func thresholdAlertListsEveryBreach() {
    let b = [
      Monitoring.Breach(figure: "sync_success_rate", value: 0.95, limit: 0.99, isMinimum: true),
      Monitoring.Breach(figure: "failed_backlog", value: 1500, limit: 1000, isMinimum: false),
    ]
    let a = Alert.thresholds(pipeline: "p", runID: "r", breaches: b)
    #expect(a?.text.contains("sync_success_rate is 95.00% (minimum 99.00%)") == true)
    #expect(a?.text.contains("failed_backlog is 1500 (maximum 1000)") == true)
    #expect(Alert.thresholds(pipeline: "p", runID: "r", breaches: []) == nil)
  }
}

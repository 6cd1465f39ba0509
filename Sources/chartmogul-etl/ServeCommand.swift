import ArgumentParser
import FlyingFox
import FlyingSocks
import Foundation
import Pipeline
import RevenueCore
import Staging

/// `serve`: the scheduling service. Runs the pipeline every `CHARTMOGUL_SYNC_INTERVAL_MINUTES`
/// (or the pipeline's `schedule.interval_minutes`; the first run one interval after start), never two
/// at once, and serves on `--listen`:
///
/// - `POST /runs` and `GET /api/cron/chartmogul-sync`: start a run now, only with
///   `Authorization: Bearer <CRON_SECRET>` (401 otherwise, constant-time comparison); the answer is
///   the run's JSON result (200 ran, with `exit_code` 0 or 1; 409 a run is in progress; 503
///   unreachable or shutting down; 500 configuration).
/// - `GET /healthz`: 200 `ok`.
/// - `GET /metrics`: the monitoring figures in the Prometheus text format (`PrometheusText`).
///
/// SIGTERM/SIGINT: no new run starts, the one in progress drains (requests in flight finish, the
/// run is recorded `interrupted`), then the service exits 143/130.
struct ServeCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "serve", abstract: "Run the pipeline on a schedule and serve run triggers, /healthz and /metrics.")
  @OptionGroup var options: PipelineOptions
  @Option(name: .long, help: "Address to listen on (host:port; port 0 picks a free one).") var listen = "127.0.0.1:8080"
  @Option(
    name: .long,
    help: "Minutes between runs (default: $CHARTMOGUL_SYNC_INTERVAL_MINUTES, else schedule.interval_minutes, else 60).")
  var intervalMinutes: Double?

  func validate() throws {
    _ = try Self.address(listen)
    if let intervalMinutes, !(intervalMinutes > 0) { throw ValidationError("--interval-minutes must be more than 0") }
  }

  static func address(_ text: String) throws -> (host: String, port: UInt16) {
    guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else {
      throw ValidationError("--listen must be host:port, e.g. 127.0.0.1:8080")
    }
    let host = String(text[..<colon])
    guard !host.isEmpty else { throw ValidationError("--listen must be host:port, e.g. 127.0.0.1:8080") }
    return (host, port)
  }

  /// The interval: the option, then the environment variable, then `schedule.interval_minutes`.
  func interval(_ pipeline: PipelineFile, environment: Environment) throws -> Double {
    if let intervalMinutes { return intervalMinutes }
    if let raw = environment["CHARTMOGUL_SYNC_INTERVAL_MINUTES"], !raw.isEmpty {
      guard let v = Double(raw), v > 0 else {
        throw ConfigurationError("CHARTMOGUL_SYNC_INTERVAL_MINUTES='\(raw)' is not a positive number of minutes")
      }
      return v
    }
    if let schedule = try pipeline.section("schedule", allowed: ["interval_minutes"]) {
      return try schedule.double("interval_minutes", default: 60, range: 0.001...10_080)
    }
    return 60
  }

  func run() async throws {
    let environment = Environment(ProcessInfo.processInfo.environment)
    let pipeline = try PipelineFile.load(path: options.pipeline, environment: environment)
    let minutes = try interval(pipeline, environment: environment)
    let area = try StagingArea(stagingRoot: pipeline.stagingRoot, pipeline: pipeline.name)
    let secret = environment["CRON_SECRET"].flatMap { $0.isEmpty ? nil : Secret($0) }
    if secret == nil {
      writeErr("warning: CRON_SECRET is not set: POST /runs and /api/cron/chartmogul-sync answer 401\n")
    }
    let runner = ServeRunner(options: options)
    let (host, port) = try Self.address(listen)
    let server = try await ServeHTTP.start(host: host, port: port, area: area, runner: runner, secret: secret)
    writeOut(
      "serving pipeline \(pipeline.name) on http://\(host):\(server.port) (a run every \(Self.text(minutes)) min)\n")
    defer { Task { await server.stop() } }
    while !Task.isCancelled && !Interruption.shared.isRequested {
      do {
        try await Task.sleep(nanoseconds: UInt64(minutes * 60 * 1e9))
      } catch { break }
      if Interruption.shared.isRequested { break }
      let (_, body) = await runner.trigger("schedule")
      writeOut(
        "scheduled run: exit \(body["exit_code"]?.scalarText ?? "?") run \(body["run"]?["run_id"]?.scalarText ?? "-")\n"
      )
    }
    // Drain: a run started by a trigger stops at its next request and records itself first.
    await runner.cancelCurrent()
    while await runner.busy { try? await Task.sleep(nanoseconds: 50_000_000) }
    await server.stop()
    throw InterruptedError(signal: Interruption.shared.requestedSignal ?? SIGTERM)
  }

  static func text(_ minutes: Double) -> String {
    minutes == minutes.rounded() ? String(Int(minutes)) : String(minutes)
  }
}

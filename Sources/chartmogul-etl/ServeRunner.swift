import Foundation
import Pipeline
import RevenueCore
import Staging

/// Starts pipeline runs for `serve` one at a time (the pipeline lock also keeps out runs of other
/// processes) and turns each into the JSON result the HTTP endpoints answer.
actor ServeRunner {
  let options: PipelineOptions
  private(set) var busy = false
  private(set) var completed = 0

  init(options: PipelineOptions) { self.options = options }

  /// Runs the pipeline once; `busy` answers 409 without starting anything.
  func trigger(_ reason: String) async -> (status: Int, body: JSONValue) {
    guard !busy else {
      return (
        409, ["error": "a run started by this service is still in progress", "exit_code": .int(Int(ExitStatus.locked))]
      )
    }
    guard !Interruption.shared.isRequested else {
      return (503, ["error": "the service is shutting down", "exit_code": .int(Int(ExitStatus.unavailable))])
    }
    busy = true
    defer {
      busy = false
      completed += 1
      current = nil
    }
    let options = self.options
    let task = Task { await Self.runOnce(options, reason: reason) }
    current = task
    return await task.value
  }

  private var current: Task<(status: Int, body: JSONValue), Never>?

  /// SIGTERM: the run in progress stops at its next request or batch and records itself interrupted.
  func cancelCurrent() { current?.cancel() }

  /// One `run` as the CLI does it (preflight, stages, monitoring), reported as JSON:
  /// `{"exit_code", "trigger", "run": {…run.json as status shows it…}, "error"?}`.
  static func runOnce(_ options: PipelineOptions, reason: String) async -> (status: Int, body: JSONValue) {
    var result = JSONObject()
    result["trigger"] = .string(reason)
    var code = ExitStatus.ok
    var runID: String?
    var area: StagingArea?
    var before: Set<String> = []
    do {
      let session = try await options.open(destination: true)
      area = session.area
      before = Set(session.area.runIDs())
      do {
        _ = try await Preflight.run(session, scope: .everything)
        let name = session.pipeline.name
        let runner = StageRunner(session: session) { r, seconds, run in
          SummaryPrinter.print(r, seconds: seconds, run: run, pipeline: name)
        }
        let outcome = try await runner.run(runID: nil)
        runID = outcome.runID
        code = outcome.exitCode
        if code == ExitStatus.ok { PruneCommand.applyRetention(options) }
        if let v = outcome.validation { result["validation"] = v.json }
      } catch {
        await session.close()
        throw error
      }
      await session.close()
    } catch {
      let (c, message) = ExitStatus.classify(error)
      code = c
      result["error"] = .string(Redactor.shared.redact(message))
      writeErr(message + "\n")
    }
    if runID == nil, let area {
      runID = area.runIDs().last { !before.contains($0) }  // a run this call started and that failed
    }
    if let area, let runID, let run = try? area.existingRun(runID),
      let status = try? RunInspector(area: area).runStatus(run)
    {
      result["run"] = .object(status.record)
    }
    result["exit_code"] = .int(Int(code))
    let http: Int
    switch code {
    case ExitStatus.ok, ExitStatus.recordsFailed: http = 200
    case ExitStatus.locked: http = 409
    case ExitStatus.unavailable: http = 503
    case ExitStatus.configuration: http = 500
    default: http = code >= 128 ? 503 : 500
    }
    return (http, .object(result))
  }
}

import Pipeline
import Sandbox

/// The demo's in-process ChartMogul sandbox, started by the CLI from `destination.sandbox` and
/// handed to the pipeline session as its ChartMogul (the Pipeline module does not link the Sandbox).
struct DemoSandbox: ChartMogulStandIn {
  let server: SandboxServer
  let dataSourceUUID: String
  var baseURL: String { server.baseURL }
  var apiKey: String { server.apiKey }

  static func start(_ settings: DemoSandboxSettings) async throws -> any ChartMogulStandIn {
    var options = SandboxOptions()
    options.port = settings.port
    options.apiKey = settings.apiKey
    options.dataSources = [(name: settings.dataSourceName, uuid: settings.dataSourceUUID)]
    options.stateFile = settings.stateFile
    options.fx = settings.fx
    options.accountCurrency = settings.accountCurrency
    options.autoChurnDays = settings.autoChurnDays
    return DemoSandbox(server: try await SandboxServer.start(options), dataSourceUUID: settings.dataSourceUUID)
  }

  func stop() async { await server.stop() }
}

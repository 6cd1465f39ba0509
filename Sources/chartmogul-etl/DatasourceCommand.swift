import ArgumentParser
import Foundation
import Load
import Logging
import RevenueCore

/// `datasource create --name NAME` / `datasource list`: ChartMogul's data-sources API with
/// `CHARTMOGUL_API_KEY` (and `CHARTMOGUL_API_URL`, default https://api.chartmogul.com). `create`
/// prints the uuid to put into `CHARTMOGUL_DATA_SOURCE_ID`.
struct DatasourceCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "datasource",
    abstract: "Create or list ChartMogul data sources (the uuid goes into CHARTMOGUL_DATA_SOURCE_ID).",
    subcommands: [Create.self, List.self])

  struct Connection: ParsableArguments {
    @Option(
      name: .long, help: "ChartMogul API base URL (default: $CHARTMOGUL_API_URL, else https://api.chartmogul.com).")
    var apiUrl: String?

    func client() throws -> DataSources {
      let env = ProcessInfo.processInfo.environment
      guard let key = env["CHARTMOGUL_API_KEY"], !key.isEmpty else {
        throw ConfigurationError("set CHARTMOGUL_API_KEY (ChartMogul → Profile → API keys; a key with write access)")
      }
      Redactor.shared.register(key)
      let text = apiUrl ?? env["CHARTMOGUL_API_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? "https://api.chartmogul.com"
      guard let url = URL(string: text), url.scheme == "https" || url.scheme == "http", url.host != nil else {
        throw ValidationError("--api-url '\(text)' is not an http(s) URL")
      }
      return DataSources(apiURL: url, apiKey: Secret(key), logger: Logger(label: "chartmogul-etl.datasource"))
    }
  }

  struct Create: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create a custom (Import API) data source.")
    @OptionGroup var connection: Connection
    @Option(name: .long, help: "Name shown in ChartMogul, e.g. \"chartmogul-etl nightly\".") var name: String

    func run() async throws {
      let created = try await connection.client().create(name: name)
      writeOut(
        "created data source \(created.uuid) (\(created.name))\nexport CHARTMOGUL_DATA_SOURCE_ID=\(created.uuid)\n")
    }
  }

  struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the account's data sources.")
    @OptionGroup var connection: Connection

    func run() async throws {
      let all = try await connection.client().list()
      if all.isEmpty { writeOut("no data sources yet: create one with `datasource create --name NAME`\n") }
      for d in all {
        writeOut("\(d.uuid)  \(d.name)\(d.system.map { "  (\($0))" } ?? "")\(d.status.map { "  \($0)" } ?? "")\n")
      }
    }
  }
}

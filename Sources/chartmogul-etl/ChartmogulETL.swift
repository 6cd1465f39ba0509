import ArgumentParser
import Foundation
import Pipeline
import PostgresClient
import RevenueCore
import Staging

/// `chartmogul-etl`: one custom ChartMogul data source fed from Stripe, PayPal, Cashier and the app's
/// Postgres. Commands and exit codes: README "Commands" and "Exit codes".
struct ChartmogulETL: AsyncParsableCommand {
  static let version = "1.1.0"
  static let configuration = CommandConfiguration(
    commandName: "chartmogul-etl",
    abstract: "Batch ETL from Stripe, PayPal, Cashier and the app database into one ChartMogul data source.",
    discussion: ExitStatus.summary,
    version: "chartmogul-etl \(version)",
    subcommands: [
      RunCommand.self, ExtractCommand.self, TransformCommand.self, LoadCommand.self, ValidateCommand.self,
      CheckCommand.self, StatusCommand.self, InspectCommand.self, ReportCommand.self, RetryCommand.self,
      MigrateCommand.self, SandboxCommand.self, ServeCommand.self, DatasourceCommand.self, PruneCommand.self,
    ])
}

/// Entry point: parses, runs the command in a task that SIGINT/SIGTERM cancel (stages stop at the
/// next request or batch, record the run as interrupted, exit 130/143), and maps every failure to the
/// README's exit codes (ArgumentParser alone would exit 64 for usage errors).
@main
enum Main {
  static func main() async {
    let code: Int32
    do {
      let command = try ChartmogulETL.parseAsRoot()
      try await SignalHandling.run(command)
      code = 0
    } catch {
      code = exitCode(for: error)
    }
    exit(code)
  }

  static func exitCode(for error: Error) -> Int32 {
    switch error {
    case let e as ExitCode:
      return e.rawValue
    case let e as ValidationError:
      writeErr("error: \(e.message)\n\(ChartmogulETL.helpMessage())\n")
      return ExitStatus.configuration
    case is LockHeldError, is ConfigError, is ConfigurationProblem, is InterruptedError, is PostgresError,
      is ServiceUnavailableProblem, is PreflightFailure, is CancellationError:
      let (code, message) = ExitStatus.classify(error)
      writeErr(message + "\n")
      return code
    default:
      break
    }
    let argumentCode = ChartmogulETL.exitCode(for: error)
    if argumentCode == .success {
      // --help / --version
      writeOut(ChartmogulETL.fullMessage(for: error) + "\n")
      return 0
    }
    if argumentCode == .validationFailure || "\(type(of: error))".contains("CommandError")
      || "\(type(of: error))".contains("ParserError")
    {
      writeErr(ChartmogulETL.fullMessage(for: error) + "\n")
      return ExitStatus.configuration
    }
    let (code, message) = ExitStatus.classify(error)
    writeErr(message + "\n")
    return code
  }
}

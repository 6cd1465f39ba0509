import ArgumentParser
import Foundation
import PostgresClient
import RevenueCore
import Staging

/// `chartmogul-etl`: one custom ChartMogul data source fed from Stripe, PayPal, Cashier and the app's
/// Postgres. Commands and exit codes: DESIGN.md §2.
struct ChartmogulETL: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "chartmogul-etl",
    abstract: "Batch ETL from Stripe, PayPal, Cashier and the app database into one ChartMogul data source.",
    discussion: """
      Exit codes: 0 every record accounted for and nothing failed; 1 some records failed or were \
      rejected (details in the run folder); 2 usage or configuration error; 3 another run holds the \
      pipeline lock; 4 a staged file does not match the manifest of the stage that wrote it (rerun that stage).
      """,
    subcommands: [
      RunCommand.self, ExtractCommand.self, TransformCommand.self, LoadCommand.self, ValidateCommand.self,
      StatusCommand.self, InspectCommand.self, ReportCommand.self, RetryCommand.self, MigrateCommand.self,
      SandboxCommand.self,
    ])
}

/// Entry point: parses, runs, and maps every failure to DESIGN.md's exit codes (ArgumentParser alone
/// would exit 64 for usage errors).
@main
enum Main {
  static func main() async {
    let code: Int32
    do {
      var command = try ChartmogulETL.parseAsRoot()
      if var asyncCommand = command as? AsyncParsableCommand {
        try await asyncCommand.run()
      } else {
        try command.run()
      }
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
    case let e as LockHeldError:
      writeErr("error: \(e)\n")
      return 3
    case let e as ConfigError:
      writeErr("configuration error: \(e)\n")
      return 2
    case let e as StagedFileMismatch:
      writeErr("error: \(Redactor.shared.redact(e.description))\n")
      return StagedFileMismatch.exitCode
    case let e as ValidationError:
      writeErr("error: \(e.message)\n\(ChartmogulETL.helpMessage())\n")
      return 2
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
      return 2
    }
    if let pg = error as? PostgresError, [.badURL, .columns, .notMigrated, .missingBaseTables].contains(pg.kind) {
      writeErr("configuration error: \(ConfigRedaction.redact(String(describing: pg)))\n")
      return 2
    }
    if let configurationProblem = error as? ConfigurationProblem {
      writeErr("configuration error: \(ConfigRedaction.redact(configurationProblem.message))\n")
      return 2
    }
    writeErr("error: \(Redactor.shared.redact(String(describing: error)))\n")
    return 1
  }
}

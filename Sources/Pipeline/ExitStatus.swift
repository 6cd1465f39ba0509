import Foundation
import PostgresClient
import RevenueCore
import Staging

/// The exit codes a scheduler acts on (README "Exit codes", `chartmogul-etl --help`).
///
/// 75 is `EX_TEMPFAIL` from sysexits(3): "a temporary failure … the user is invited to retry later".
public enum ExitStatus {
  /// Every record accounted for and nothing failed.
  public static let ok: Int32 = 0
  /// Some records failed or were rejected (details in the run folder), or a stage failed.
  public static let recordsFailed: Int32 = 1
  /// Usage or configuration: fix the command line, the pipeline file or the environment.
  public static let configuration: Int32 = 2
  /// Another run holds the pipeline lock; nothing was done.
  public static let locked: Int32 = 3
  /// A staged file does not match the manifest of the stage that wrote it (`StagedFileMismatch`).
  public static let stagedFileMismatch: Int32 = StagedFileMismatch.exitCode
  /// A source or ChartMogul was unreachable or kept failing; nothing is wrong with the data: retry later.
  public static let unavailable: Int32 = 75
  /// Interrupted by a signal: 128 + signal (130 SIGINT, 143 SIGTERM).
  public static func interrupted(_ signal: Int32) -> Int32 { 128 + signal }

  /// The text for `--help` and the README.
  public static let summary = """
    Exit codes: 0 every record accounted for and nothing failed; 1 some records failed or were \
    rejected (details in the run folder); 2 usage or configuration error (pipeline file, environment \
    variable, credentials refused, unknown run or file, unusable staging root, a glob matching no \
    file); 3 another run holds the pipeline lock; 4 a staged file does not match the manifest of the \
    stage that wrote it (rerun that stage); 75 a source or ChartMogul was unreachable or kept \
    failing (retry later); 130/143 interrupted by SIGINT/SIGTERM (rerun to resume).
    """

  /// The code and the one message line for a thrown error (nil message: already reported).
  public static func classify(_ error: Error) -> (code: Int32, message: String) {
    switch error {
    case let e as InterruptedError:
      return (interrupted(e.signal), "\(e)")
    case let e as LockHeldError:
      return (locked, "error: \(e)")
    case let e as ConfigError:
      return (configuration, "configuration error: \(e)")
    case let e as StagedFileMismatch:
      return (stagedFileMismatch, "error: \(Redactor.shared.redact(e.description))")
    case let pg as PostgresError where [.badURL, .columns, .notMigrated, .missingBaseTables].contains(pg.kind):
      return (configuration, "configuration error: \(ConfigRedaction.redact(String(describing: pg)))")
    case let e as ConfigurationProblem:
      return (configuration, "configuration error: \(ConfigRedaction.redact(e.message))")
    case let e as ServiceUnavailableProblem where e.isServiceUnavailable:
      return (unavailable, "unavailable (exit 75, retry later): \(e.unavailableSummary)")
    case let e as PreflightFailure:
      return (e.exitCode, e.description)
    default:
      if Interruption.shared.isRequested, error is CancellationError {
        return (interrupted(Interruption.shared.requestedSignal ?? SIGTERM), "interrupted; rerun to resume")
      }
      return (recordsFailed, "error: \(Redactor.shared.redact(String(describing: error)))")
    }
  }
}

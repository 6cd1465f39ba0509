import RevenueCore
import Staging
import Validate

/// What a command did: the stages it ran, whether any record failed, and the run it used.
public struct CommandOutcome: Sendable {
  public var runID: String?
  public var stages: [StageResult] = []
  public var validation: ValidationResult?
  public var messages: [String] = []

  public init(runID: String?) { self.runID = runID }

  /// Exit code (README "Exit codes"): 0 when every record is accounted for and nothing failed, 1 otherwise.
  public var exitCode: Int32 {
    if stages.contains(where: \.hasFailures) { return 1 }
    // A failed write-back leaves the app database behind ChartMogul: the run is not clean.
    if stages.contains(where: { $0.writeBackFailure != nil }) { return 1 }
    if let validation, !validation.passed { return 1 }
    return 0
  }
}

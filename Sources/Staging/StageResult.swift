import RevenueCore

/// What a finished stage reports back for the one-screen summary, `run.json` and the exit code.
///
/// The pipeline acts only on the typed fields (`accounting`, `noOp`, `writeBackFailure`,
/// `proposedCursors`); `details` is for people and `status --json`, never read back to decide.
public struct StageResult: Sendable {
  public var stage: String
  public var accounting: Accounting
  /// Extra summary lines (`out: customers 8,204 plans 6 …`, `rejects: unmapped_plan 73 …`).
  public var lines: [String]
  /// Machine-readable details for `run.json` / `status --json` (figures, merges, load stats …).
  public var details: JSONObject
  /// Why the stage did nothing on purpose (load with sync disabled, or a dry run); nil when it did
  /// its work. A no-op load commits no cursors and is not validated.
  public var noOp: NoOpReason?
  /// The write-back into the app database failed (message, redacted): the app is behind ChartMogul,
  /// so the run is not clean (exit 1) although every record reached ChartMogul.
  public var writeBackFailure: String?
  /// Extract: the cursor each source proposes, committed to `state.json` only after a confirmed load.
  public var proposedCursors: [String: JSONObject]

  /// Did the stage leave records failed or rejected (exit code 1)?
  public var hasFailures: Bool { accounting.failed > 0 || accounting.rejected > 0 }
  /// Load did nothing on purpose (`CHARTMOGUL_SYNC_ENABLED=false` or dry run).
  public var isNoOp: Bool { noOp != nil }

  public init(
    stage: String, accounting: Accounting, lines: [String] = [], details: JSONObject = JSONObject(),
    noOp: NoOpReason? = nil, writeBackFailure: String? = nil, proposedCursors: [String: JSONObject] = [:]
  ) {
    self.stage = stage
    self.accounting = accounting
    self.lines = lines
    self.details = details
    self.noOp = noOp
    self.writeBackFailure = writeBackFailure
    self.proposedCursors = proposedCursors
  }
}

/// Why a stage did nothing on purpose.
public enum NoOpReason: String, Sendable, Hashable {
  /// `CHARTMOGUL_SYNC_ENABLED=false` or `destination.chartmogul.sync_enabled: false`.
  case syncDisabled = "sync_disabled"
  /// `load --dry-run`: requests written to `load/requests.ndjson`, nothing sent.
  case dryRun = "dry_run"
}

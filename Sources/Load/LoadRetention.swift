import Foundation
import RevenueCore
import Staging

/// What later loads still need from old runs, for `prune`: everything a run holds that is not
/// listed here may be deleted without changing what any later `load` or `retry` sends.
public enum LoadRetention {
  public struct Needs: Sendable, Equatable {
    /// Always kept: `load-state/` (pipeline ledgers and attribute snapshots, per data source).
    public var stateDirectory: String
    /// Runs to keep whole: a load that did not finish (`load.partial/` resumes it) or a transform
    /// that was never loaded.
    public var wholeRuns: Set<String> = []
    /// Runs whose `transform/` and `load/` `retry` still needs: failed records with fewer than
    /// `max_attempts` attempts and no confirmation since.
    public var retryRuns: Set<String> = []
    /// Runs whose `load/ledger.ndjson` is not yet in the pipeline ledger (it is read until a load
    /// folds it in).
    public var ledgerRuns: Set<String> = []

    /// Absolute paths to keep.
    public func paths(area: StagingArea) -> [String] {
      var out = [stateDirectory]
      for r in wholeRuns.sorted() { out.append(area.runsDirectory + "/" + r) }
      for r in retryRuns.subtracting(wholeRuns).sorted() {
        out.append(area.runsDirectory + "/" + r + "/transform")
        out.append(area.runsDirectory + "/" + r + "/load")
      }
      for r in ledgerRuns.subtracting(wholeRuns).subtracting(retryRuns).sorted() {
        out.append(area.runsDirectory + "/" + r + "/load/ledger.ndjson")
      }
      return out
    }
  }

  /// Reads the pipeline ledgers and run folders (streaming; memory grows with the failed records
  /// only, plus 8 bytes per confirmed record).
  public static func needs(area: StagingArea, maxAttempts: Int = 3) throws -> Needs {
    var needs = Needs(stateDirectory: area.root + "/load-state")
    var closed = Set<String>()
    var failed: [String: (run: String, attempts: Int)] = [:]
    var confirmed = Set<UInt64>()
    func see(_ e: LedgerEntry) {
      let id = (e.dataSource ?? "") + "|" + e.id
      if e.status == .confirmed {
        confirmed.insert(AttributeStore.hash(id))
        failed[id] = nil
      } else if e.status == .failed, !confirmed.contains(AttributeStore.hash(id)) {
        failed[id] = (e.runID, max(e.attempts, failed[id]?.attempts ?? 0))
      }
    }
    let states = area.root + "/load-state"
    let sources = (try? FileManager.default.contentsOfDirectory(atPath: states)) ?? []
    for ds in sources.sorted() {
      let p = states + "/" + ds + "/ledger.ndjson"
      guard FileSystem.exists(p) else { continue }
      try NDJSONReader(path: p).forEachValue { r, _ in
        guard case .success(let v) = r else { return }
        if v["type"]?.stringValue == "run", let id = v["run_id"]?.stringValue { closed.insert(id) }
        if let e = LedgerEntry(json: v) { see(e) }
      }
    }
    for id in area.runIDs() {
      guard let run = try? RunFolder(area: area, id: id) else { continue }
      if FileSystem.exists(LedgerFiles.partialDirectory(run))
        || (run.isComplete("transform") && !run.isComplete("load"))
      {
        needs.wholeRuns.insert(id)
      }
      let ledger = run.file("load", LedgerFiles.ledgerName)
      guard FileSystem.exists(ledger), !closed.contains(id) else { continue }
      needs.ledgerRuns.insert(id)
      try NDJSONReader(path: ledger).forEachValue { r, _ in
        if case .success(let v) = r, let e = LedgerEntry(json: v) { see(e) }
      }
    }
    for (_, f) in failed where f.attempts < maxAttempts { needs.retryRuns.insert(f.run) }
    return needs
  }
}

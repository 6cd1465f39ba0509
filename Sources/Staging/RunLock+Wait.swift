import Foundation
import RevenueCore

extension RunLock {
  /// Takes the lock for a command that reads a run and writes beside it (`validate`, `report`),
  /// waiting while a stage holds it: reading a run while `load` rewrites it would compare half a
  /// ledger with ChartMogul and raise false alerts. Gives up with `LockHeldError` after `timeout`
  /// seconds; `onWait` is told once who it waits for.
  public static func acquireWaiting(
    area: StagingArea, runID: String, command: String, timeout: Double = 3600,
    onWait: (LockHeldError) -> Void = { _ in }
  ) async throws -> RunLock {
    let deadline = Date().addingTimeInterval(timeout)
    var told = false
    while true {
      do {
        return try acquire(area: area, runID: runID, command: command)
      } catch let held as LockHeldError {
        guard Date() < deadline else { throw held }
        if !told {
          onWait(held)
          told = true
        }
        try await Task.sleep(nanoseconds: 100_000_000)
      }
    }
  }
}

import Foundation

/// Runs two independent pieces of work at once: `side` on a second thread, `main` on this one.
/// Both finish before this returns; `main`'s error wins, then `side`'s.
enum ParallelJobs {
  static func run(_ main: () throws -> Void, side: @escaping () throws -> Void) throws {
    if !ReadAheadLines.threaded {
      try main()
      try side()
      return
    }
    let done = DispatchSemaphore(value: 0)
    let work = UncheckedSendable(side)
    let result = UncheckedSendable(ResultBox())
    let thread = Thread {
      defer { done.signal() }
      do { try work.value() } catch { result.value.error = error }
    }
    thread.stackSize = 8 << 20
    thread.start()
    let mainError: (any Error)?
    do {
      try main()
      mainError = nil
    } catch {
      mainError = error
    }
    done.wait()
    if let mainError { throw mainError }
    if let e = result.value.error { throw e }
  }

  final class ResultBox {
    var error: (any Error)? = nil
  }
}

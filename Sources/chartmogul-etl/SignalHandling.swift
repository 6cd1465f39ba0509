import ArgumentParser
import Dispatch
import Foundation
import RevenueCore

/// Runs a parsed command so that SIGINT and SIGTERM stop it cleanly: the first signal sets
/// `Interruption.shared` and cancels the command's task (requests in flight finish, no new request,
/// batch or stage starts, the run is recorded as `interrupted`); a second signal exits at once
/// (staged files are crash-safe, and the next command repairs the run record).
enum SignalHandling {
  /// The parsed command, handed to the task that runs it (ArgumentParser commands are not Sendable;
  /// only that task touches it).
  final class Box: @unchecked Sendable {
    var command: ParsableCommand
    init(_ command: ParsableCommand) { self.command = command }
  }

  static func run(_ command: ParsableCommand) async throws {
    let box = Box(command)
    let task = Task {
      if var asyncCommand = box.command as? AsyncParsableCommand {
        try await asyncCommand.run()
      } else {
        try box.command.run()
      }
    }
    let sources = install { signal in task.cancel() }
    defer { for s in sources { s.cancel() } }
    try await task.value
  }

  /// Installs handlers for SIGINT and SIGTERM; `onFirst` runs on the first one.
  static func install(_ onFirst: @escaping @Sendable (Int32) -> Void) -> [DispatchSourceSignal] {
    [SIGINT, SIGTERM].map { number in
      signal(number, SIG_IGN)
      let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
      source.setEventHandler {
        let name = Interruption.name(number)
        if Interruption.shared.isRequested {
          writeErr("\(name) again: stopping now (the next command repairs the run record)\n")
          exit(128 + number)
        }
        Interruption.shared.request(signal: number)
        writeErr("\(name) received: finishing requests in flight, then stopping (send it again to stop at once)\n")
        onFirst(number)
      }
      source.resume()
      return source
    }
  }
}

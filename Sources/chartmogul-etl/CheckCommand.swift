import ArgumentParser
import Foundation
import Pipeline
import RevenueCore

/// `check`: the preflight on its own. Validates the whole pipeline file and environment (every
/// problem at once), the staging root, and reaches each source and ChartMogul with one read-only
/// request. Exit 0 when all pass, 2 for configuration problems, 75 when only reachability failed.
struct CheckCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "check",
    abstract: "Check configuration, credentials, the data source and the staging root without staging anything.")
  @OptionGroup var options: PipelineOptions
  @Flag(name: .long, help: "Only the configuration and the staging root; no network request.") var offline = false

  func run() async throws {
    let scope = PreflightScope(sources: true, destination: true, reach: !offline)
    let session: PipelineSession
    do {
      session = try await options.open(destination: true)
    } catch {
      throw options.allMissing(error, scope: scope) ?? error
    }
    do {
      let lines = try await Preflight.run(session, scope: scope)
      var out = "pipeline \(session.pipeline.name) (\(session.pipeline.path)): configuration valid\n"
      for line in lines { out += "  ok  \(line)\n" }
      writeOut(out)
    } catch {
      await session.close()
      throw error
    }
    await session.close()
  }
}

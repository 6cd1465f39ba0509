import ArgumentParser
import Foundation
import Pipeline
import RevenueCore
import Staging

/// `prune`: removes old run folders, keeping what later runs need (see `Pruner`).
struct PruneCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "prune", abstract: "Remove old runs, keeping the newest and whatever later runs still need.")
  @OptionGroup var options: PipelineOptions
  @Option(name: .long, help: "Keep the newest N runs (default: retention.keep, else 10).") var keep: Int?
  @Option(name: .long, help: "Only remove runs older than this (30d, 12h, 90m).") var olderThan: String?
  @Flag(name: .long, help: "Only print what would be removed.") var dryRun = false

  func validate() throws {
    if let keep, keep < 1 { throw ValidationError("--keep must be at least 1") }
    if let olderThan, RetentionPolicy.parseAge(olderThan) == nil {
      throw ValidationError("--older-than must be an age like 30d, 12h or 90m")
    }
  }

  func run() async throws {
    let pipeline = try PipelineFile.load(
      path: options.pipeline, environment: Environment(ProcessInfo.processInfo.environment))
    let area = try StagingArea(stagingRoot: pipeline.stagingRoot, pipeline: pipeline.name)
    let configured = try RetentionPolicy.from(pipeline)
    let policy = RetentionPolicy(
      keep: keep ?? configured?.keep ?? 10,
      olderThanSeconds: olderThan.flatMap(RetentionPolicy.parseAge) ?? configured?.olderThanSeconds)
    let plan = try Pruner.prune(area: area, policy: policy, dryRun: dryRun)
    Self.print(plan, dryRun: dryRun)
  }

  static func print(_ plan: Pruner.Plan, dryRun: Bool) {
    var out = ""
    for id in plan.remove { out += "\(dryRun ? "would remove" : "removed") run \(id)\n" }
    for (id, why) in plan.keep { out += "kept run \(id): \(why)\n" }
    if plan.remove.isEmpty { out += "nothing to remove\n" }
    writeOut(out)
  }

  /// The pipeline's `retention`, after a successful `run` (a held lock or an error only warns).
  static func applyRetention(_ options: PipelineOptions) {
    do {
      let pipeline = try PipelineFile.load(
        path: options.pipeline, environment: Environment(ProcessInfo.processInfo.environment))
      guard let policy = try RetentionPolicy.from(pipeline) else { return }
      let area = try StagingArea(stagingRoot: pipeline.stagingRoot, pipeline: pipeline.name)
      let plan = try Pruner.prune(area: area, policy: policy)
      if !plan.remove.isEmpty { writeOut("retention: removed \(plan.remove.count) old run(s)\n") }
    } catch {
      writeErr("warning: retention not applied: \(error)\n")
    }
  }
}

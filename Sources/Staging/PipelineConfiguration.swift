import Foundation
import RevenueCore

/// One section of the pipeline file parsed into a typed value (`LoadConfig`, `ValidateConfig`, …).
/// The module that owns a section conforms its configuration type; `parse` reports problems as
/// `ConfigError` with file, line and key.
public protocol PipelineSection: Sendable {
  static func parse(_ pipeline: PipelineFile, environment: Environment) throws -> Self
}

/// The pipeline file and its environment, each section parsed and checked at most once.
///
/// Staging cannot name the stages' configuration types (they live in the stage modules above it), so
/// the sections are kept by type: `configuration.section(LoadConfig.self)` parses on first use and
/// returns the same value afterwards. The pipeline session asks for every section a command needs
/// when it opens the file, so a typo fails before any work starts; a section that failed to parse is
/// not kept, so asking again reports the same error.
public final class PipelineConfiguration: @unchecked Sendable {
  public let pipeline: PipelineFile
  public let environment: Environment
  private let lock = NSLock()
  private var sections: [ObjectIdentifier: any Sendable] = [:]

  public init(pipeline: PipelineFile, environment: Environment) {
    self.pipeline = pipeline
    self.environment = environment
  }

  /// The parsed section of type `S` (parsed now if it was not yet).
  public func section<S: PipelineSection>(_ type: S.Type) throws -> S {
    let key = ObjectIdentifier(type)
    if let cached = lock.withLock({ sections[key] }) as? S { return cached }
    let parsed = try S.parse(pipeline, environment: environment)
    lock.withLock { sections[key] = parsed }
    return parsed
  }
}

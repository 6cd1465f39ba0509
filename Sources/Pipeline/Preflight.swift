import Extract
import Foundation
import Load
import Logging
import RevenueCore
import Staging
import Transform
import TransformRules
import Validate

/// What a command is about to use, so its preflight checks exactly that.
public struct PreflightScope: Sendable {
  /// Check the sources (all, or only `onlySource`).
  public var sources: Bool
  public var onlySource: String?
  /// Check ChartMogul (destination and validate settings, key, data source).
  public var destination: Bool
  /// Reach each service with one read-only request (false: configuration and staging root only).
  public var reach: Bool

  public init(sources: Bool, onlySource: String? = nil, destination: Bool, reach: Bool = true) {
    self.sources = sources
    self.onlySource = onlySource
    self.destination = destination
    self.reach = reach
  }

  public static let everything = PreflightScope(sources: true, destination: true)
}

/// Every problem the preflight found; the exit code is 2 when any is configuration, else 75.
public struct PreflightFailure: Error, CustomStringConvertible {
  public var configuration: [String]
  public var unavailable: [String]
  public var exitCode: Int32 { configuration.isEmpty ? ExitStatus.unavailable : ExitStatus.configuration }
  public var description: String {
    let all = configuration.map { "configuration: \($0)" } + unavailable.map { "unavailable (retry later): \($0)" }
    let head =
      all.count == 1
      ? "preflight found 1 problem; nothing was staged" : "preflight found \(all.count) problems; nothing was staged"
    return Redactor.shared.redact(head + ":\n" + all.map { "  - " + $0 }.joined(separator: "\n"))
  }
}

/// The checks `chartmogul-etl check` prints and run/extract/load/validate make before they start:
/// the whole configuration (every missing variable and every broken section listed at once), the
/// staging root, then one read-only request to each configured source and to ChartMogul.
public enum Preflight {
  /// Returns one line per check that passed; throws `PreflightFailure` listing every problem.
  public static func run(_ session: PipelineSession, scope: PreflightScope) async throws -> [String] {
    var ok: [String] = []
    var configuration: [String] = []
    var unavailable: [String] = []
    func record(_ error: Error) {
      let (code, message) = ExitStatus.classify(error)
      let text = message.replacingOccurrences(of: "configuration error: ", with: "")
        .replacingOccurrences(of: "unavailable (exit 75, retry later): ", with: "")
      if code == ExitStatus.unavailable { unavailable.append(text) } else { configuration.append(text) }
    }
    let pipeline = session.pipeline
    let environment = session.environment

    let missing = MissingVariables.find(in: pipeline, environment: environment, scope: scope)
    if !missing.isEmpty { configuration.append(MissingVariables.message(missing)) }
    func section(_ check: () throws -> Void) {
      do { try check() } catch let e as ConfigError where e.missingEnvironment {
        // listed above with every other unset variable
      } catch { record(error) }
    }
    var transform: TransformConfig?
    section { transform = try TransformStage.validateConfig(pipeline) }
    var loadConfig: LoadConfig?
    if scope.destination {
      section { loadConfig = try session.configuration.section(LoadConfig.self) }
      section {
        let v = try session.configuration.section(ValidateConfig.self)
        // validate converts every plan currency into the reporting one: a missing rate would only
        // be found after a full load.
        if v.enabled, let transform {
          let missing = Set(transform.planMapping.values.map { $0.currency.uppercased() })
            .filter { $0 != v.fx.reporting.code && v.fx.rate($0) == nil }.sorted()
          if !missing.isEmpty {
            throw ConfigError(
              file: pipeline.path, line: pipeline.root.child("validate")?.line, key: "validate.fx",
              message:
                "has no rate for \(missing.joined(separator: ", ")) (plan_mapping uses it; validate converts MRR into \(v.fx.reporting.code)); add e.g. `\(missing[0]): <\(v.fx.reporting.code) per unit>`"
            )
          }
        }
      }
    }
    do {
      ok.append(try StagingCheck.writable(session.area))
    } catch { record(error) }

    var probes: [SourceProbe] = []
    if scope.sources {
      let found = ExtractPreflight.probes(pipeline, environment: environment, only: scope.onlySource)
      probes = found.probes
      for e in found.problems {
        if let c = e as? ConfigError, c.missingEnvironment { continue }
        record(e)
      }
    }
    if scope.reach {
      for probe in probes {
        do { ok.append(try await probe.run()) } catch { record(error) }
      }
      if let loadConfig {
        do {
          ok.append(try await LoadPreflight.probe(loadConfig, logger: session.logger))
        } catch { record(error) }
      }
    }
    guard configuration.isEmpty && unavailable.isEmpty else {
      throw PreflightFailure(configuration: configuration, unavailable: unavailable)
    }
    return ok
  }
}

import Foundation
import RevenueCore

/// Every `${VAR}` (without a `:-default`) of a pipeline file whose variable is unset or empty, so
/// the preflight names them all in one message instead of one per attempt.
public enum MissingVariables {
  public struct Reference: Sendable, Equatable {
    public var name: String
    public var key: String
    public var file: String
    public var line: Int
  }

  /// Sections each scope reads; top-level keys (`name`, `staging_root`, `transform`) always.
  static func inScope(_ path: String, _ scope: PreflightScope) -> Bool {
    let top = String(path.prefix { $0 != "." && $0 != "[" })
    switch top {
    case "sources":
      guard scope.sources else { return false }
      if let only = scope.onlySource { return path.hasPrefix("sources.\(only)") }
      return true
    case "destination", "validate", "alerts", "monitoring": return scope.destination
    default: return true
    }
  }

  public static func find(in pipeline: PipelineFile, environment: Environment, scope: PreflightScope) -> [Reference] {
    var out: [Reference] = []
    func walk(_ node: ConfigNode) {
      switch node.content {
      case .scalar(let raw):
        guard raw.contains("${"), inScope(node.path, scope) else { return }
        for name in references(raw) where (environment[name] ?? "").isEmpty {
          out.append(Reference(name: name, key: node.path, file: node.file, line: node.line))
        }
      case .mapping(let entries): for (_, child) in entries { walk(child) }
      case .sequence(let items): items.forEach(walk)
      case .null: return
      }
    }
    walk(pipeline.root.node)
    return out
  }

  /// Names referenced as `${NAME}` (not `${NAME:-default}`, not `$${…}`).
  static func references(_ raw: String) -> [String] {
    var names: [String] = []
    let chars = Array(raw)
    var i = 0
    while i < chars.count {
      if chars[i] == "$", i + 1 < chars.count, chars[i + 1] == "$" {
        i += 2
        continue
      }
      if chars[i] == "$", i + 1 < chars.count, chars[i + 1] == "{", let close = chars[(i + 2)...].firstIndex(of: "}") {
        let inner = String(chars[(i + 2)..<close])
        if !inner.contains(":-"), !inner.isEmpty { names.append(inner) }
        i = close + 1
        continue
      }
      i += 1
    }
    return names
  }

  /// `2 environment variables are not set: DATABASE_URL (pipelines/nightly.yaml:21 sources.postgres.url); …`.
  public static func message(_ refs: [Reference]) -> String {
    var seen: [String: [Reference]] = [:]
    var order: [String] = []
    for r in refs {
      if seen[r.name] == nil { order.append(r.name) }
      seen[r.name, default: []].append(r)
    }
    let parts = order.map { name in
      "\(name) (" + seen[name]!.map { "\($0.file):\($0.line) \($0.key)" }.joined(separator: ", ") + ")"
    }
    return "\(order.count) environment variable\(order.count == 1 ? " is" : "s are") not set: "
      + parts.joined(separator: "; ") + " — set them in the environment (or the systemd EnvironmentFile)"
  }
}

extension MissingVariables {
  /// When opening a pipeline stopped at its first unset variable: every unset variable the scope
  /// reads, as one preflight failure (nil when the error is something else).
  public static func failure(for error: Error, path: String, environment: Environment, scope: PreflightScope)
    -> PreflightFailure?
  {
    guard let e = error as? ConfigError, e.missingEnvironment,
      let pipeline = try? PipelineFile.load(path: path, environment: environment)
    else { return nil }
    let refs = find(in: pipeline, environment: environment, scope: scope)
    guard !refs.isEmpty else { return nil }
    return PreflightFailure(configuration: [message(refs)], unavailable: [])
  }
}

import Foundation
import Logging
import PostgresClient
import RevenueCore
import Staging
import Transport

/// The extract stage: runs every configured source (or one) into `runs/<id>/extract/` and publishes
/// it atomically with per-source accounting and the cursors each source proposes.
///
/// Rules (README "Commands"):
/// - a source absent from `sources` is not extracted; unknown source names or keys are errors with
///   file and line, found before any work starts (`validateConfig`);
/// - each source starts from its cursor in `state.json`; the cursors it proposes go to
///   `manifest.details.proposed_cursors` and are committed by the pipeline only after a confirmed load;
/// - `--source X` redoes only X and carries the other sources' files, accounting and proposed cursors
///   over from the published extract of the same run;
/// - any source failure abandons the stage: nothing is published and the error names the source.
public enum ExtractStage {
  /// Source names a pipeline may configure, in extraction order.
  public static let sourceNames = ["postgres", "stripe", "paypal", "cashier", "files"]

  /// Parses `sources` (all of them, so typos fail early). Values still holding `${VAR}` are not
  /// expanded here, so commands that do not extract need no gateway credentials.
  public static func validateConfig(_ pipeline: PipelineFile, environment: Environment) throws {
    _ = try makeSources(
      pipeline, environment: environment, options: ExtractOptions(), logger: Logger(label: "chartmogul-etl.extract"),
      checkOnly: true)
  }

  /// Extracts every configured source (or only `only`) into one `StageBuilder(run:stage:"extract")`.
  public static func run(_ ctx: StageContext, only: String?) async throws -> StageResult {
    try await run(ctx, only: only, options: ExtractOptions())
  }

  /// As `run(_:only:)`, with injectable HTTP transport, retry policy and clock (tests).
  public static func run(_ ctx: StageContext, only: String?, options: ExtractOptions) async throws -> StageResult {
    let all = try makeSources(
      ctx.pipeline, environment: ctx.environment, options: options, logger: ctx.logger, checkOnly: false)
    let names = all.map(\.name)
    if let only, !names.contains(only) {
      let configured = names.isEmpty ? "none" : names.joined(separator: ", ")
      throw ConfigError(
        file: ctx.pipeline.path, line: ctx.pipeline.root.child("sources")?.line, key: "sources.\(only)",
        message:
          "is not configured in this pipeline, so --source \(only) has nothing to extract (configured: \(configured))")
    }
    let chosen = all.filter { only == nil || $0.name == only }
    let builder = try StageBuilder(run: ctx.run, stage: "extract")
    var bySource: [String: Accounting] = [:]
    var cursors = JSONObject()
    var sourceDetails = JSONObject()
    var http = JSONObject()
    var lines: [String] = []
    let asOf = try asOfInstant(ctx, options: options)
    var carriedAsOf: Timestamp? = nil
    do {
      if let only {
        let carried = try carryOver(ctx, builder: builder, keep: names.filter { $0 != only })
        carriedAsOf = carried.asOf
        bySource = carried.bySource
        cursors = carried.cursors
        sourceDetails = carried.details
        lines += carried.lines
      }
      let state = StateStore(area: ctx.area)
      for source in chosen {
        let name = source.name
        let cursor = try state.cursor(for: name)
        let sink = try ExtractSink(source: name, builder: builder, progress: ctx.progress)
        ctx.progress.begin("extract \(name)", total: nil)
        let started = DispatchTime.now().uptimeNanoseconds
        let outcome: ExtractOutcome
        do {
          outcome = try await source.extract(into: sink, context: ctx, cursor: cursor)
        } catch {
          ctx.progress.end()
          throw wrap(error, source: name)
        }
        ctx.progress.end()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        let a = outcome.accounting
        guard a.isBalanced, a.output == sink.emitted else {
          throw ExtractError(
            source: name,
            "accounting does not add up (\(a.equation); \(sink.emitted) records staged); this is a bug, nothing was published"
          )
        }
        bySource[name] = a
        if let c = outcome.proposedCursor { cursors[name] = .object(c) }
        var details = outcome.details
        if let h = details["http"] {
          http[name] = h
          details["http"] = nil
        }
        sourceDetails[name] = .object(details)
        lines.append(summaryLine(name, a, seconds: seconds, details: outcome.details))
        ctx.logger.info("extracted \(name): \(a.equation)")
      }
      let total = bySource.values.reduce(Accounting(), +)
      var manifestDetails = JSONObject()
      manifestDetails["as_of"] = .string((carriedAsOf ?? asOf).iso8601)
      manifestDetails[Manifest.proposedCursorsKey] = .object(cursors)
      manifestDetails["sources"] = .object(sourceDetails)
      try builder.publish(inputs: [], accounting: total, bySource: bySource, details: manifestDetails)
      var resultDetails = manifestDetails
      if http.count > 0 { resultDetails["http"] = .object(http) }
      if let only { resultDetails["only"] = .string(only) }
      var proposed: [String: JSONObject] = [:]
      for f in cursors { if let o = f.value.objectValue { proposed[f.key] = o } }
      return StageResult(
        stage: "extract", accounting: total, lines: lines, details: resultDetails, proposedCursors: proposed)
    } catch {
      builder.abandon()
      throw error
    }
  }

  // MARK: - Pieces

  /// The instant the run's data describes (`details.as_of` of the extract manifest): when this
  /// extract started, or `ETL_AS_OF` (ISO 8601) to rehearse or backfill as of an earlier instant.
  /// Transform dates lapses against it, so a rerun of transform gives the same output.
  static func asOfInstant(_ ctx: StageContext, options: ExtractOptions) throws -> Timestamp {
    guard let text = ctx.environment["ETL_AS_OF"], !text.isEmpty else { return options.now() }
    guard let t = Timestamp.parse(text) else {
      throw ConfigError(
        file: ctx.pipeline.path, line: nil, key: "ETL_AS_OF",
        message:
          "'\(text)' is not an ISO 8601 timestamp (for example 2026-01-31T00:00:00Z); unset it to use the current time")
    }
    return t
  }

  struct Carried {
    var asOf: Timestamp? = nil
    var bySource: [String: Accounting] = [:]
    var cursors = JSONObject()
    var details = JSONObject()
    var lines: [String] = []
  }

  /// Hard-links the kept sources' files from the published extract of this run.
  static func carryOver(_ ctx: StageContext, builder: StageBuilder, keep: [String]) throws -> Carried {
    var c = Carried()
    guard let previous = try ctx.run.manifest("extract") else {
      if !keep.isEmpty {
        ctx.logger.warning(
          "run \(ctx.run.id) has no published extract yet; only the named source is extracted (the others are not carried over)"
        )
      }
      return c
    }
    // A partial re-extract keeps the run's instant: the other sources still describe that moment.
    c.asOf = previous.details["as_of"]?.stringValue.flatMap(Timestamp.parse)
    for name in keep {
      let files = previous.files.filter { $0.name == "\(name).ndjson" || $0.name == "rejects-\(name).ndjson" }
      guard !files.isEmpty, let a = previous.bySource[name] else { continue }
      for f in files { try builder.carryOver(f) }
      c.bySource[name] = a
      if let cur = previous.proposedCursors[name] { c.cursors[name] = .object(cur) }
      if let d = previous.details["sources"]?[name] { c.details[name] = d }
      c.lines.append("\(name): carried over from the published extract (\(a.equation))")
    }
    return c
  }

  static func wrap(_ error: Error, source: String) -> Error {
    switch error {
    case is ConfigError, is ExtractError, is CancellationError, is ConfigurationProblem: return error
    case let pg as PostgresError where [.badURL, .columns, .notMigrated, .missingBaseTables].contains(pg.kind):
      // The database is reachable but set up or configured wrongly: a configuration error (exit 2).
      return ConfigurationError("extract source '\(source)': \(pg)")
    case let pg as PostgresError where pg.kind == .connection:
      // Refused login or unknown database: configuration (exit 2); unreachable server: retry later.
      let auth =
        ["28P01", "28000", "3D000"].contains(pg.sqlState ?? "")
        || pg.message.contains("password authentication failed") || pg.message.contains("does not exist")
      return auth
        ? ConfigurationError("extract source '\(source)': \(pg)")
        : ExtractError(source: source, "\(pg)", transient: true)
    default: return ExtractError(source: source, "\(error)")
    }
  }

  static func summaryLine(_ name: String, _ a: Accounting, seconds: Double, details: JSONObject) -> String {
    let rate = seconds > 0 ? Int(Double(a.input) / seconds) : 0
    var s = "\(name): \(a.equation) in \(String(format: "%.1f", seconds)) s (\(rate.grouped) records/s)"
    var extras: [String] = []
    for f in details where f.key != "http" {
      if let t = f.value.numberText { extras.append("\(f.key) \(t)") }
    }
    if let h = details["http"], let req = h["requests"]?.numberText {
      extras.append("requests \(req)")
      if let r = h["retries"]?.numberText, r != "0" { extras.append("retries \(r)") }
    }
    if !extras.isEmpty { s += "; " + extras.joined(separator: ", ") }
    return s
  }

  /// Parses `sources` and builds one source per configured name, in `sourceNames` order.
  static func makeSources(
    _ pipeline: PipelineFile, environment: Environment, options: ExtractOptions, logger: Logger, checkOnly: Bool
  ) throws -> [any ExtractSource] {
    guard let sources = try pipeline.section("sources", allowed: sourceNames) else { return [] }
    var out: [any ExtractSource] = []
    for name in sourceNames {
      guard let node = sources.child(name) else { continue }
      switch name {
      case "files":
        out.append(try FilesSource(entries: try node.sequence(), checkOnly: checkOnly))
      case "stripe":
        let m = try node.mapping(allowed: StripeSource.keys)
        out.append(try StripeSource(config: m, options: options, logger: logger, checkOnly: checkOnly))
      case "paypal":
        let m = try node.mapping(allowed: PayPalSource.keys)
        out.append(try PayPalSource(config: m, options: options, logger: logger, checkOnly: checkOnly))
      case "cashier":
        let m = try node.mapping(allowed: CashierSource.keys)
        out.append(try CashierSource(config: m, options: options, logger: logger, checkOnly: checkOnly))
      case "postgres":
        if let s = try makePostgres(node, environment: environment, checkOnly: checkOnly) { out.append(s) }
      default:
        break
      }
    }
    return out
  }
}

import AppDatabase
import Foundation
import Logging
import PostgresClient
import RevenueCore
import Staging
import Transport

/// One read-only request per configured source, made before anything is staged (`check` and the
/// preflight of run/extract): the server answers and accepts the credentials.
///
/// - Stripe: `GET /v1/customers?limit=1` (https://docs.stripe.com/api/customers/list), a permission
///   extract needs anyway (a restricted key without "Customers: read" fails here, not mid-extract).
/// - PayPal: `POST /v1/oauth2/token` with the client credentials
///   (https://developer.paypal.com/api/rest/authentication/).
/// - Cashier: `GET /v1/transactions` for the last day, one row.
/// - Postgres: connect, `SELECT 1`, and the sync-tracking columns (`chartmogul-etl migrate`).
/// - files: every `path` matches at least one readable file.
public struct SourceProbe: Sendable {
  public let source: String
  /// Runs the request; returns what was verified ("Stripe at https://api.stripe.com: key accepted").
  public let run: @Sendable () async throws -> String
}

public enum ExtractPreflight {
  /// Retries as a stage would (a flaky 5xx is not an outage) but gives up within about 20 s.
  static let policy = RetryPolicy(maxAttempts: 8, baseDelay: 0.25, maxDelay: 2, maxTotalSeconds: 20)

  /// The probes of every configured source (or only `only`), and the configuration problems found
  /// while reading their settings (each source is read on its own, so every broken one is listed).
  public static func probes(
    _ pipeline: PipelineFile, environment: Environment, only: String?, transport: (any HTTPTransport)? = nil
  ) -> (probes: [SourceProbe], problems: [Error]) {
    var probes: [SourceProbe] = []
    var problems: [Error] = []
    let sources: ConfigMapping?
    do {
      sources = try pipeline.section("sources", allowed: ExtractStage.sourceNames)
    } catch {
      return ([], [error])
    }
    guard let sources else { return ([], []) }
    let options = ExtractOptions(transport: transport, retryPolicy: policy)
    let logger = Logger(label: "chartmogul-etl.preflight")
    for name in ExtractStage.sourceNames where only == nil || only == name {
      guard let node = sources.child(name) else { continue }
      do {
        switch name {
        case "files":
          let s = try FilesSource(entries: try node.sequence(), checkOnly: false)
          probes.append(SourceProbe(source: name) { try filesProbe(s) })
        case "stripe":
          let s = try StripeSource(
            config: try node.mapping(allowed: StripeSource.keys), options: options, logger: logger, checkOnly: false)
          probes.append(
            SourceProbe(source: name) {
              let api = GatewayAPI(
                source: name, gateway: "Stripe", baseURL: s.apiURL,
                client: options.makeClient(requestsPerSecond: 5, logger: logger),
                credentials: [s.keyLocation])
              _ = try await api.getJSON(
                "/v1/customers", [("limit", "1")], headers: s.headers, label: "GET /v1/customers?limit=1")
              return "Stripe at \(s.apiURL): key accepted (GET /v1/customers?limit=1)"
            })
        case "paypal":
          let s = try PayPalSource(
            config: try node.mapping(allowed: PayPalSource.keys), options: options, logger: logger, checkOnly: false)
          probes.append(
            SourceProbe(source: name) {
              let api = GatewayAPI(
                source: name, gateway: "PayPal", baseURL: s.apiURL,
                client: options.makeClient(requestsPerSecond: 5, logger: logger),
                credentials: s.credentials)
              _ = try await PayPalSession(api: api, clientID: s.clientID, clientSecret: s.clientSecret).accessToken()
              return "PayPal at \(s.apiURL): client credentials accepted (POST /v1/oauth2/token)"
            })
        case "cashier":
          let s = try CashierSource(
            config: try node.mapping(allowed: CashierSource.keys), options: options, logger: logger, checkOnly: false)
          probes.append(
            SourceProbe(source: name) {
              let api = GatewayAPI(
                source: name, gateway: "Cashier", baseURL: s.apiURL,
                client: options.makeClient(requestsPerSecond: 5, logger: logger),
                credentials: [s.keyLocation])
              let now = Timestamp.wallNow
              let query = [
                ("created_gte", now.adding(days: -1).iso8601), ("created_lt", now.iso8601), ("page", "1"),
                ("per_page", "1"),
              ]
              let headers = [("Authorization", "Bearer \(s.apiKey.value)"), ("Accept", "application/json")]
              _ = try await api.getJSON("/v1/transactions", query, headers: headers, label: "GET /v1/transactions")
              return "Cashier at \(s.apiURL): key accepted (GET /v1/transactions, one row)"
            })
        case "postgres":
          let settings = try PostgresSourceSettings(
            config: try node.mapping(allowed: PostgresSourceSettings.allowedKeys), environment: environment)
          probes.append(SourceProbe(source: name) { try postgresProbe(settings.url) })
        default:
          break
        }
      } catch {
        problems.append(error)
      }
    }
    return (probes, problems)
  }

  /// Connects, runs `SELECT 1` and checks the sync-tracking columns exist.
  public static func postgresProbe(_ url: Secret) throws -> String {
    do {
      let db = try PostgresConnection(url: url.value)
      _ = try db.query("SELECT 1", name: "preflight")
      try Migrations.requireMigrated(db)
      return "PostgreSQL at \(db.displayURL): connected (SELECT 1), sync-tracking columns present"
    } catch let e as PostgresError {
      throw ExtractStage.wrap(e, source: "postgres")
    }
  }

  static func filesProbe(_ s: FilesSource) throws -> String {
    var count = 0
    for entry in s.entries {
      do {
        let paths = try FileGlob.expand(entry.path)
        for p in paths where !FileManager.default.isReadableFile(atPath: p) {
          throw ConfigurationError("sources.files: \(p) cannot be read")
        }
        count += paths.count
      } catch let e as FilesError {
        throw ConfigurationError("sources.files: \(e.message)")
      }
    }
    return "files: \(s.entries.count) entries match \(count) readable files"
  }
}

import Foundation
import Logging
import RevenueCore

/// Fault injection switches. Every probability is in [0, 1] and drawn per request from a PRNG
/// seeded with `seed`, so a run with the same seed and request order injects the same faults.
public struct SandboxFaults: Sendable, Equatable {
  /// Answer 429 (rate limit message) instead of handling the request.
  public var probability429: Double
  /// Answer 500/502/503/504 (chosen by the PRNG) instead of handling the request.
  public var probability5xx: Double
  /// Reset the connection (TCP RST) without any response, before handling the request.
  public var probabilityReset: Double
  /// Seconds added to every request before it is handled.
  public var latency: Double
  /// Probability that a request gets an extra `spikeSeconds` of latency.
  public var latencySpikeProbability: Double
  public var spikeSeconds: Double
  /// For writes (POST/PUT/PATCH/DELETE) that succeed: apply the write, then answer 500 or reset the
  /// connection (half each) — the client cannot tell the write happened.
  public var probabilityCommitThenFail: Double
  public var seed: UInt64

  public init(
    probability429: Double = 0, probability5xx: Double = 0, probabilityReset: Double = 0, latency: Double = 0,
    latencySpikeProbability: Double = 0, spikeSeconds: Double = 0, probabilityCommitThenFail: Double = 0,
    seed: UInt64 = 1
  ) {
    self.probability429 = probability429
    self.probability5xx = probability5xx
    self.probabilityReset = probabilityReset
    self.latency = latency
    self.latencySpikeProbability = latencySpikeProbability
    self.spikeSeconds = spikeSeconds
    self.probabilityCommitThenFail = probabilityCommitThenFail
    self.seed = seed
  }

  /// No faults at all.
  public static let none = SandboxFaults()
}

/// How to start a sandbox. Defaults give a fault-free server on a free loopback port.
public struct SandboxOptions: Sendable {
  /// TCP port on 127.0.0.1; 0 picks a free one (read it back from `SandboxServer.baseURL`).
  public var port: Int
  /// The only API key accepted (Basic auth user name). nil generates a random one.
  public var apiKey: String?
  /// Data sources to create at start (`uuid` kept as given, so a pipeline file can name it).
  public var dataSources: [(name: String, uuid: String)]
  /// Load state from this JSON file at start (when it exists) and save it after changes (0600).
  public var stateFile: String?
  /// Requests per second above which the sandbox answers 429 (ChartMogul: 40). nil = no limit.
  public var rateLimitPerSecond: Int?
  /// Requests in flight at once above which the sandbox answers 503 "Too Many Parallel
  /// Connections" (ChartMogul: 20). Idle keep-alive connections do not count.
  public var maxConcurrentConnections: Int
  public var faults: SandboxFaults
  /// Exchange rates: one unit of the currency in units of `accountCurrency` (EUR → 1.08 for USD).
  public var fx: [String: Double]
  /// The account's primary currency: all metrics and customer `mrr` are in its minor units.
  public var accountCurrency: String
  /// Seconds a json_import spends queued + processing (half each) before it is applied.
  public var processingDelay: Double
  /// ChartMogul's "Handling past-due subscriptions" data setting: nil (the default) keeps a
  /// subscription without renewal in MRR, "Past Due", until a cancellation arrives; N (1…90) churns
  /// one that has been past due for N days, dated at the end of its last service period
  /// (help.chartmogul.com/article/303-handling-past-due-subscriptions).
  public var autoChurnDays: Int?
  /// Largest accepted request body in bytes: ChartMogul's "5 MB", read strictly as 5,000,000.
  public var maxPayloadBytes: Int
  public var logger: Logger

  public init(
    port: Int = 0, apiKey: String? = nil, dataSources: [(name: String, uuid: String)] = [], stateFile: String? = nil,
    rateLimitPerSecond: Int? = nil, maxConcurrentConnections: Int = 20, faults: SandboxFaults = .none,
    fx: [String: Double] = SandboxOptions.defaultFX, accountCurrency: String = "USD", processingDelay: Double = 0.2,
    maxPayloadBytes: Int = 5_000_000, autoChurnDays: Int? = nil,
    logger: Logger = Logger(label: "chartmogul-etl.sandbox")
  ) {
    self.port = port
    self.apiKey = apiKey
    self.dataSources = dataSources
    self.stateFile = stateFile
    self.rateLimitPerSecond = rateLimitPerSecond
    self.maxConcurrentConnections = maxConcurrentConnections
    self.faults = faults
    self.fx = fx
    self.accountCurrency = accountCurrency
    self.processingDelay = processingDelay
    self.maxPayloadBytes = maxPayloadBytes
    self.autoChurnDays = autoChurnDays
    self.logger = logger
  }

  /// Fixed illustrative rates to USD (not market data): used when no table is given. Invoices in
  /// a currency without a rate are rejected with 422 naming the currency.
  public static let defaultFX: [String: Double] = [
    "USD": 1, "EUR": 1.08, "GBP": 1.27, "CAD": 0.73, "AUD": 0.66, "CHF": 1.12, "JPY": 0.0067, "SEK": 0.095,
    "NOK": 0.094, "DKK": 0.145, "PLN": 0.25, "BRL": 0.18, "MXN": 0.055, "INR": 0.012, "EGP": 0.0205,
    "SAR": 0.2667, "AED": 0.2723, "TRY": 0.029, "ZAR": 0.054, "KWD": 3.25,
  ]
}

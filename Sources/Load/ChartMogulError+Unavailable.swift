import RevenueCore

extension ChartMogulError: ServiceUnavailableProblem {
  /// 429/5xx/network errors after every retry: ChartMogul is down or overloaded, not the data.
  public var isServiceUnavailable: Bool { isTransient }
  public var unavailableSummary: String {
    "ChartMogul unavailable: \(description) (CHARTMOGUL_API_URL; https://status.chartmogul.com)"
  }
}

import RevenueCore

extension ExtractError: ServiceUnavailableProblem {
  public var isServiceUnavailable: Bool { isTransient }
  public var unavailableSummary: String { description }
}

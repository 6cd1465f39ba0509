import RevenueCore
import Staging

/// Refuses to load a transform that included test-mode records (`include_test_data` in its
/// manifest details) unless `destination.chartmogul.allow_test_data` is true (README "Test-mode
/// rehearsals"): test data must never reach a live ChartMogul data source.
enum TestDataGuard {
  static let warning =
    "this run's transform included test-mode records (transform.include_test_data: true); destination.chartmogul.allow_test_data: true let them load"

  /// Whether the run carries test data (then allowed); throws when it does and the destination does not allow it.
  @discardableResult
  static func check(run: RunFolder, config: LoadConfig) throws -> Bool {
    guard let m = try run.manifest("transform"), m.details["include_test_data"]?.boolValue == true else { return false }
    guard config.allowTestData else {
      throw ConfigurationError(
        "run \(run.id)'s transform included test-mode records (transform.include_test_data: true), but destination.chartmogul.allow_test_data is not true: load them only into a ChartMogul test data source (or the sandbox) and set allow_test_data: true there"
      )
    }
    return true
  }
}

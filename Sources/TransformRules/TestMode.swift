import RevenueCore

/// Test-mode rehearsals (`transform.include_test_data`, README "Test-mode rehearsals").
///
/// By default every test-mode record is skipped as `test_data`: Stripe `livemode: false` objects and
/// `Mode=Test` export rows (https://docs.stripe.com/testing#test-mode), Cashier `mode=test` rows
/// (Kashier's `mode=test|live` checkout parameter). A Stripe refund object carries no `livemode`
/// (https://docs.stripe.com/api/refunds/object), so it follows the charge it refunds: a refund of a
/// test-mode payment is skipped with it, never rejected as a refund without payment.
///
/// The guard: `include_test_data: true` is refused unless the same pipeline says
/// `destination.chartmogul.allow_test_data: true` — a second, explicit statement that the data
/// source it loads into is a test data source (or the local sandbox). The load stage checks it again
/// against what transform actually staged, so a transform run with the switch cannot be loaded by a
/// pipeline without it.
package enum TestMode {
  /// The destination key that must accompany `include_test_data: true`.
  package static let destinationKey = "allow_test_data"

  package static func checkDestination(_ pipeline: PipelineFile, at node: ConfigNode?) throws(ConfigError) {
    guard let dest = try pipeline.section("destination", allowed: nil),
      let cm = try dest.mapping("chartmogul", allowed: nil)
    else { return }  // nothing is loaded by this pipeline
    if try cm.bool(destinationKey, default: false) { return }
    let message =
      "is true, so test-mode records would be loaded, but destination.chartmogul.allow_test_data is not true: load test data only into a ChartMogul test data source (or the sandbox) and say so with allow_test_data: true"
    throw node?.error(message)
      ?? ConfigError(file: pipeline.path, line: nil, key: "transform.include_test_data", message: message)
  }

  /// PayPal sandbox transactions (`sources.paypal.api_url` on `api-m.sandbox.paypal.com`,
  /// https://developer.paypal.com/api/rest/sandbox/) carry no test marker in their records, so the
  /// pipeline says it: reading them needs `include_test_data: true` (and so the destination guard).
  package static func checkSources(_ pipeline: PipelineFile, includeTestData: Bool) throws(ConfigError) {
    guard !includeTestData, let sources = try pipeline.root.mapping("sources", allowed: nil),
      let paypal = try sources.mapping("paypal", allowed: nil), let url = try paypal.string("api_url"),
      url.lowercased().contains("sandbox.paypal.com")
    else { return }
    throw paypal.child("api_url")!.error(
      "is PayPal's sandbox, whose transactions are test data: set transform.include_test_data: true (with destination.chartmogul.allow_test_data: true) to rehearse with them"
    )
  }

  /// Ids of a payment record that is test-mode (empty for live records and other kinds).
  package static func testPaymentIDs(_ env: StagedRecord) -> [String] {
    let r = env.record
    switch env.kind {
    case "stripe.charge", "stripe.invoice":
      guard r.flag("livemode") == false else { return [] }
      return [r.text("id"), r.text("charge"), r.text("payment_intent")].compactMap { $0 }
    case "stripe-payments-csv":
      guard r.text("Mode")?.lowercased() == "test" else { return [] }
      return [r.text("id"), r.text("PaymentIntent ID")].compactMap { $0 }
    default:
      return []
    }
  }

  /// A skip for a Stripe refund of a test-mode payment (nil: read it normally).
  package static func refundOfTestPayment(_ env: StagedRecord, testPayments: Set<String>, include: Bool) -> ReadOutcome?
  {
    guard !include, !testPayments.isEmpty else { return nil }
    let r = env.record
    let of =
      env.kind == "stripe.refund"
      ? [r.text("charge"), r.text("payment_intent")] : [r.text("Charge ID"), r.text("PaymentIntent ID")]
    guard let hit = of.compactMap({ $0 }).first(where: testPayments.contains) else { return nil }
    return .skip(code: "test_data", reason: "refund \(r.text("id") ?? "") refunds test-mode payment \(hit)")
  }
}

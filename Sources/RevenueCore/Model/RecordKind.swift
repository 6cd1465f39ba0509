/// The kind of a staged raw record (`kind` of every `extract/<source>.ndjson` line): which source
/// shape `record` has, so Transform knows how to read it. The raw values are the strings on disk.
///
/// - `app.*`: a row of the app's Postgres database (users, transactions, refunds not yet sent,
///   subscriptions cancelled in the app), column names as keys.
/// - `stripe.*`, `paypal.*`, `cashier.transaction`: the gateway's JSON object exactly as its API
///   returned it (https://docs.stripe.com/api, https://developer.paypal.com/docs/api/).
/// - `*-csv`: one row of a gateway export file, header → cell text exactly as in the file.
public enum RecordKind: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
  case stripeCustomer = "stripe.customer"
  case stripeSubscription = "stripe.subscription"
  case stripeInvoice = "stripe.invoice"
  case stripeCharge = "stripe.charge"
  case stripeRefund = "stripe.refund"

  case paypalTransaction = "paypal.transaction"
  case paypalSubscription = "paypal.subscription"
  case paypalPlan = "paypal.plan"

  case cashierTransaction = "cashier.transaction"

  case appUser = "app.user"
  case appTransaction = "app.transaction"
  case appSubscription = "app.subscription"
  case appRefund = "app.refund"

  case stripePaymentsCSV = "stripe-payments-csv"
  case stripeCustomersCSV = "stripe-customers-csv"
  case stripeSubscriptionsCSV = "stripe-subscriptions-csv"
  case stripeRefundsCSV = "stripe-refunds-csv"
  case stripeInvoicesCSV = "stripe-invoices-csv"
  case paypalActivityCSV = "paypal-activity-csv"
  case cashierCSV = "cashier-csv"

  /// Whose data it is (`gateway` of the staged line): `app`, `stripe`, `paypal` or `cashier`.
  public var gateway: String {
    switch self {
    case .appUser, .appTransaction, .appRefund, .appSubscription: return "app"
    case .stripeCustomer, .stripeSubscription, .stripeInvoice, .stripeCharge, .stripeRefund, .stripePaymentsCSV,
      .stripeCustomersCSV, .stripeSubscriptionsCSV, .stripeRefundsCSV, .stripeInvoicesCSV:
      return "stripe"
    case .paypalTransaction, .paypalSubscription, .paypalPlan, .paypalActivityCSV: return "paypal"
    case .cashierTransaction, .cashierCSV: return "cashier"
    }
  }

  /// A row of an export file (the kind is the pipeline's `format`), not an API or database record.
  public var isExportRow: Bool { rawValue.hasSuffix("-csv") }

  /// Kinds whose records are JSON objects as an API or the app database gives them: what an
  /// `ndjson` file of `sources.files` may hold (gateway APIs first, then app rows, as listed in errors).
  public static let recordShapes: [RecordKind] = allCases.filter { !$0.isExportRow }

  public var description: String { rawValue }
}

extension ExtractedRecord {
  /// A record of a known kind; `gateway` is the kind's.
  public init(source: String, kind: RecordKind, origin: JSONObject, record: JSONValue) {
    self.init(source: source, gateway: kind.gateway, kind: kind.rawValue, origin: origin, record: record)
  }

  /// `kind` as a `RecordKind`; nil for a kind this version does not know.
  public var recordKind: RecordKind? { RecordKind(rawValue: kind) }
}

import RevenueCore

/// The export-file layouts `sources.files` reads (README "Pipeline files", docs/gateways "Stripe dashboard exports", "PayPal activity download", "Cashier (Kashier)").
///
/// Readers are header-driven: column order is free, unknown columns are kept in the record but never
/// required, and a missing required column stops the extract with the file and the column names.
/// Cells stay text exactly as in the file; transform parses amounts and dates (with the file's
/// `date_format`/`decimal`, which the origin carries).
struct ExportFormat: Sendable {
  /// The pipeline's `format`, which is also the staged `kind` of its rows.
  var kind: RecordKind
  var name: String { kind.rawValue }
  var gateway: String { kind.gateway }
  /// Each requirement is a list of acceptable spellings (any one present satisfies it).
  var required: [[String]]

  static let all: [ExportFormat] = [
    ExportFormat(
      kind: .stripePaymentsCSV,
      required: [["id"], ["Created date (UTC)", "Created (UTC)"], ["Amount"], ["Currency"], ["Status"]]),
    ExportFormat(
      kind: .stripeCustomersCSV,
      required: [["id"], ["Email"], ["Name"], ["Created (UTC)", "Created date (UTC)"]]),
    ExportFormat(
      kind: .stripeSubscriptionsCSV,
      required: [["id"], ["Customer ID"], ["Plan"], ["Status"], ["Created (UTC)", "Created date (UTC)"]]),
    // Invoices export (Dashboard → Invoices → Export); no published header, so every column is
    // found by name with the spellings seen (docs/docs/gateways "Dashboard exports").
    ExportFormat(
      kind: .stripeInvoicesCSV,
      required: [
        ["id"], ["Status", "Paid"], ["Currency"], ["Amount Paid", "Total"],
        ["Date (UTC)", "Created (UTC)", "Paid At (UTC)", "Finalized At (UTC)"], ["Customer", "Customer ID"],
      ]),
    // Our own layout (README "Export formats"): Stripe's Dashboard has no refunds export.
    ExportFormat(
      kind: .stripeRefundsCSV,
      required: [["id"], ["Created (UTC)", "Created date (UTC)"], ["Amount"], ["Currency"], ["Charge ID"], ["Status"]]),
    ExportFormat(
      kind: .paypalActivityCSV,
      // Any language PayPal writes the download in (`PayPalActivityLanguage`).
      required: PayPalActivityLanguage.requiredColumns.map(PayPalActivityLanguage.spellings(of:))),
    ExportFormat(
      kind: .cashierCSV,
      required: [
        // Kashier's own field names are accepted for the same columns (transform maps them).
        ["transaction_id", "transactionId"], ["merchant_order_id", "merchantOrderId"], ["type", "operation"],
        ["status"],
        ["created_at", "creationDate"], ["amount"], ["currency"],
        ["merchant_customer_id"], ["customer_email"], ["mode"],
      ]),
  ]

  static func named(_ name: String) -> ExportFormat? { all.first { $0.name == name } }

  static var formatNames: [String] { all.map(\.name) + ["ndjson"] }

  /// Record kinds an `ndjson` entry may name (the API kinds of docs/gateways "Staged record contract").
  /// App rows come in the staged Postgres shape (an exported app snapshot for backfills and the demo).
  static let ndjsonKinds = RecordKind.recordShapes.map(\.rawValue)

  /// Requirements the header does not meet (the first spelling names each).
  func missing(in header: Set<String>) -> [String] {
    required.filter { alts in !alts.contains { header.contains($0) } }.map { alts in
      alts.count == 1 ? "'\(alts[0])'" : alts.map { "'\($0)'" }.joined(separator: " or ")
    }
  }
}

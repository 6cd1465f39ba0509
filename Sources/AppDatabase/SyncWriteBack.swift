import Foundation
import PostgresClient
import RevenueCore

/// A transaction ChartMogul accepted (its invoice was created or already existed).
public struct TransactionConfirmation: Sendable {
  public var appTransactionID: String
  public var customerUUID: String?
  public var invoiceUUID: String?
  /// Refunded amount that was sent with the invoice. nil: the row's current `refunded_amount_cents`
  /// (what the extract read, unless a refund was added between extract and load).
  public var refundedAmountCents: Int64?

  public init(appTransactionID: String, customerUUID: String?, invoiceUUID: String?, refundedAmountCents: Int64? = nil)
  {
    self.appTransactionID = appTransactionID
    self.customerUUID = customerUUID
    self.invoiceUUID = invoiceUUID
    self.refundedAmountCents = refundedAmountCents
  }
}

/// A transaction ChartMogul refused or that could not be sent.
public struct TransactionFailure: Sendable {
  public var appTransactionID: String
  public var error: String
  public init(appTransactionID: String, error: String) {
    self.appTransactionID = appTransactionID
    self.error = error
  }
}

/// A cancellation ChartMogul accepted.
public struct CancellationConfirmation: Sendable {
  public var appSubscriptionID: String
  public var subscriptionUUID: String?
  public var planUUID: String?
  public var cancelledAt: Timestamp
  public init(appSubscriptionID: String, subscriptionUUID: String?, planUUID: String?, cancelledAt: Timestamp) {
    self.appSubscriptionID = appSubscriptionID
    self.subscriptionUUID = subscriptionUUID
    self.planUUID = planUUID
    self.cancelledAt = cancelledAt
  }
}

/// A refund ChartMogul accepted: `refundedAmountCents` is the total refunded amount now sent.
public struct RefundConfirmation: Sendable {
  public var appTransactionID: String
  public var refundedAmountCents: Int64
  public init(appTransactionID: String, refundedAmountCents: Int64) {
    self.appTransactionID = appTransactionID
    self.refundedAmountCents = refundedAmountCents
  }
}

/// Writes load results back into the app database (the sync-tracking columns added by `migrate`).
///
/// One connection; every call is one SQL transaction (BEGIN … COMMIT) and one statement per batch,
/// with the batch passed as array parameters (never SQL built from record data). Every write is
/// idempotent: confirming twice keeps the first `chartmogul_synced_at`, refund and cancellation
/// marks only move forward, and status rows are upserted per (run, sync type). So a crash between
/// ChartMogul's answer and this write-back only means the next run re-sends records that ChartMogul
/// recognises by external id (the load ledger), never a duplicate.
///
/// `@unchecked Sendable`: the libpq connection is not thread-safe, so every method holds `lock` for
/// its whole use of the connection; the stored properties are otherwise immutable.
public final class SyncWriteBack: @unchecked Sendable {
  private let db: PostgresConnection
  private let lock = NSLock()

  /// Connects and checks that `migrate` has been run (clear error otherwise).
  public init(url: String) throws {
    db = try PostgresConnection(url: url)
    try Migrations.requireMigrated(db)
  }

  @discardableResult
  private func locked<T>(_ body: () throws -> T) throws -> T {
    lock.lock()
    defer { lock.unlock() }
    return try body()
  }

  /// Marks transactions as synced: sets `chartmogul_synced_at` (kept if already set), the ChartMogul
  /// uuids, the refunded amount sent, and clears `chartmogul_sync_error`.
  public func confirmTransactions(_ items: [TransactionConfirmation], syncedAt: Timestamp) throws {
    guard !items.isEmpty else { return }
    try locked {
      try db.transaction(name: "confirmTransactions") {
        try db.query(
          """
          UPDATE transactions t SET
            chartmogul_synced_at = COALESCE(t.chartmogul_synced_at, $2::timestamptz AT TIME ZONE 'UTC'),
            chartmogul_customer_uuid = COALESCE(c.customer_uuid, t.chartmogul_customer_uuid),
            chartmogul_invoice_uuid = COALESCE(c.invoice_uuid, t.chartmogul_invoice_uuid),
            chartmogul_refund_synced_cents = GREATEST(t.chartmogul_refund_synced_cents,
                                                      COALESCE(c.refunded, t.refunded_amount_cents)),
            chartmogul_sync_error = NULL
          FROM unnest($1::uuid[], $3::text[], $4::text[], $5::bigint[]) AS c(id, customer_uuid, invoice_uuid, refunded)
          WHERE t.id = c.id
          """, name: "confirmTransactions",
          parameters: [
            PostgresArray.literal(items.map(\.appTransactionID)), syncedAt.iso8601,
            PostgresArray.literal(items.map(\.customerUUID)), PostgresArray.literal(items.map(\.invoiceUUID)),
            PostgresArray.literal(items.map { $0.refundedAmountCents.map(String.init) }),
          ])
      }
    }
  }

  /// Records failures: sets `chartmogul_sync_error` (redacted) and adds one to `chartmogul_sync_attempts`.
  /// Transactions already confirmed are left alone (a late failure report cannot un-sync them).
  public func failTransactions(_ items: [TransactionFailure]) throws {
    guard !items.isEmpty else { return }
    try locked {
      try db.transaction(name: "failTransactions") {
        try db.query(
          """
          UPDATE transactions t SET
            chartmogul_sync_error = c.error,
            chartmogul_sync_attempts = COALESCE(t.chartmogul_sync_attempts, 0) + 1
          FROM unnest($1::uuid[], $2::text[]) AS c(id, error)
          WHERE t.id = c.id AND t.chartmogul_synced_at IS NULL
          """, name: "failTransactions",
          parameters: [
            PostgresArray.literal(items.map(\.appTransactionID)),
            PostgresArray.literal(items.map { Redactor.shared.redact($0.error) }),
          ])
      }
    }
  }

  /// Marks cancellations as sent (`chartmogul_cancelled_at`, kept if already set) with the ChartMogul uuids.
  public func confirmCancellations(_ items: [CancellationConfirmation]) throws {
    guard !items.isEmpty else { return }
    try locked {
      try db.transaction(name: "confirmCancellations") {
        try db.query(
          """
          UPDATE subscriptions s SET
            chartmogul_cancelled_at = COALESCE(s.chartmogul_cancelled_at, c.cancelled_at AT TIME ZONE 'UTC'),
            chartmogul_subscription_uuid = COALESCE(c.subscription_uuid, s.chartmogul_subscription_uuid),
            chartmogul_plan_uuid = COALESCE(c.plan_uuid, s.chartmogul_plan_uuid)
          FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[])
               AS c(id, subscription_uuid, plan_uuid, cancelled_at)
          WHERE s.id = c.id
          """, name: "confirmCancellations",
          parameters: [
            PostgresArray.literal(items.map(\.appSubscriptionID)), PostgresArray.literal(items.map(\.subscriptionUUID)),
            PostgresArray.literal(items.map(\.planUUID)), PostgresArray.literal(items.map { $0.cancelledAt.iso8601 }),
          ])
      }
    }
  }

  /// Records the refunded amount now sent; it only grows, so confirming twice is harmless.
  public func confirmRefunds(_ items: [RefundConfirmation]) throws {
    guard !items.isEmpty else { return }
    try locked {
      try db.transaction(name: "confirmRefunds") {
        try db.query(
          """
          UPDATE transactions t SET
            chartmogul_refund_synced_cents = GREATEST(t.chartmogul_refund_synced_cents, c.refunded)
          FROM unnest($1::uuid[], $2::bigint[]) AS c(id, refunded)
          WHERE t.id = c.id
          """, name: "confirmRefunds",
          parameters: [
            PostgresArray.literal(items.map(\.appTransactionID)),
            PostgresArray.literal(items.map { String($0.refundedAmountCents) }),
          ])
      }
    }
  }

  /// Upserts the `chartmogul_sync_status` row of (`runID`, `syncType`): a rerun of the same run's
  /// load replaces its figures instead of adding a row.
  public func recordSyncStatus(runID: String, syncType: String, synced: Int, failed: Int, errorDetails: JSONValue?)
    throws
  {
    let details = errorDetails.map { Redactor.shared.redact(JSONWriter.string($0)) }
    try locked {
      try db.transaction(name: "recordSyncStatus") {
        try db.query(
          """
          INSERT INTO chartmogul_sync_status (run_id, sync_type, last_sync_at, records_synced, records_failed, error_details)
          VALUES ($1, $2, now() AT TIME ZONE 'UTC', $3::integer, $4::integer, $5::jsonb)
          ON CONFLICT (run_id, sync_type) DO UPDATE SET
            last_sync_at = EXCLUDED.last_sync_at, records_synced = EXCLUDED.records_synced,
            records_failed = EXCLUDED.records_failed, error_details = EXCLUDED.error_details
          """, name: "recordSyncStatus",
          parameters: [runID, syncType, String(synced), String(failed), details])
      }
    }
  }

  /// Transactions that failed before and may be retried (`retry`): not synced, with an error, and
  /// fewer than `maxAttempts` attempts; oldest first.
  public func failedTransactionIDs(maxAttempts: Int) throws -> [String] {
    try locked {
      try db.query(
        """
        SELECT id::text FROM transactions
        WHERE chartmogul_synced_at IS NULL AND chartmogul_sync_error IS NOT NULL
          AND COALESCE(chartmogul_sync_attempts, 0) < $1::integer
        ORDER BY transaction_date, id
        """, name: "failedTransactionIDs", parameters: [String(maxAttempts)]
      ).rows.compactMap { $0[0] }
    }
  }

  /// How many transactions are failed and not synced (whatever their attempt count).
  public func failedBacklog() throws -> Int {
    try locked {
      let r = try db.query(
        "SELECT count(*) FROM transactions WHERE chartmogul_synced_at IS NULL AND chartmogul_sync_error IS NOT NULL",
        name: "failedBacklog")
      return Int(r.rows.first?.first.flatMap { $0 } ?? "0") ?? 0
    }
  }
}

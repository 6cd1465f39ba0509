import PostgresClient
import RevenueCore

/// The default extract queries over the reference app schema (reference/app-schema.sql) and the
/// columns each record kind must have (docs/gateways "Staged record contract"). A pipeline may override
/// a query (`sources.postgres.queries`) as long as it returns exactly these columns.
public enum AppQueries {
  /// One query of the Postgres source: its name (`origin.query`), record kind and required columns.
  public struct Spec: Sendable {
    public var name: String
    public var kind: RecordKind
    public var columns: [String]
  }

  static let transactionColumns = [
    "id", "user_id", "subscription_id", "gateway", "gateway_transaction_id", "product_type", "plan_name",
    "amount_cents", "discount_amount_cents", "tax_amount_cents", "currency", "country", "status",
    "transaction_date", "period_start", "period_end", "refunded_amount_cents", "refunded_at", "utm_source",
    "utm_medium", "utm_campaign", "metadata", "created_at",
  ]

  public static let users = Spec(
    name: "users", kind: .appUser,
    columns: [
      "id", "email", "name", "country", "created_at", "last_login_at", "login_count", "preferred_gateway",
      "acquisition_channel", "referrer_user_id", "is_test", "ai_generations", "projects_created", "last_event_at",
      "ticket_count", "avg_rating",
    ])
  public static let transactions = Spec(
    name: "transactions", kind: .appTransaction,
    columns: transactionColumns + ["gateway_subscription_id", "user_email"])
  public static let refunds = Spec(
    name: "refunds", kind: .appRefund,
    columns: transactionColumns + ["gateway_subscription_id", "user_email", "refund_synced_cents"])
  public static let subscriptions = Spec(
    name: "subscriptions", kind: .appSubscription,
    columns: [
      "id", "user_id", "gateway", "gateway_subscription_id", "plan_name", "status", "started_at", "canceled_at",
      "last_period_end", "last_transaction_date",
    ])

  /// In extraction order: users first (Transform resolves customers before their invoices).
  public static let all: [Spec] = [users, transactions, refunds, subscriptions]

  static let transactionSelect = """
    SELECT t.id, t.user_id, t.subscription_id, t.gateway, t.gateway_transaction_id, t.product_type, t.plan_name,
           t.amount_cents, t.discount_amount_cents, t.tax_amount_cents, t.currency, t.country, t.status,
           t.transaction_date, t.period_start, t.period_end, t.refunded_amount_cents, t.refunded_at,
           t.utm_source, t.utm_medium, t.utm_campaign, t.metadata, t.created_at,
           s.gateway_subscription_id, u.email AS user_email
    """

  /// Every user with its usage and support figures (NULL when the user has no stats row).
  public static let usersSQL = """
    SELECT u.id, u.email, u.name, u.country, u.created_at, u.last_login_at, u.login_count, u.preferred_gateway,
           u.acquisition_channel, u.referrer_user_id, u.is_test,
           us.ai_generations, us.projects_created, us.last_event_at, ss.ticket_count, ss.avg_rating
    FROM users u
    LEFT JOIN usage_stats us ON us.user_id = u.id
    LEFT JOIN support_stats ss ON ss.user_id = u.id
    ORDER BY u.created_at, u.id
    """

  /// Paid transactions not yet confirmed by a load, oldest first. `$1` = batch size (NULL = all).
  /// With `backfill`, the sync state is ignored and every paid transaction is read.
  ///
  /// Test users' transactions are left out of incremental reads: transform drops them (test data), so
  /// they are never confirmed and would otherwise be read again every night, oldest first — enough of
  /// them would fill every batch and stall the sync. A backfill reads them, and transform reports them
  /// as skipped (`test_data`).
  public static func transactionsSQL(backfill: Bool) -> String {
    transactionSelect + """

      FROM transactions t
      JOIN users u ON u.id = t.user_id
      LEFT JOIN subscriptions s ON s.id = t.subscription_id
      WHERE t.status IN ('completed', 'refunded')\(backfill ? "" : " AND t.chartmogul_synced_at IS NULL AND u.is_test IS NOT TRUE")
      ORDER BY t.transaction_date, t.id
      LIMIT $1::bigint
      """
  }

  /// Refunds not yet sent: transactions already synced whose refunded amount grew past what was sent
  /// (`chartmogul_refund_synced_cents`, added by `migrate`).
  public static let refundsSQL =
    transactionSelect + """
      , t.chartmogul_refund_synced_cents AS refund_synced_cents
      FROM transactions t
      JOIN users u ON u.id = t.user_id
      LEFT JOIN subscriptions s ON s.id = t.subscription_id
      WHERE t.chartmogul_synced_at IS NOT NULL
        AND t.refunded_amount_cents > t.chartmogul_refund_synced_cents
      ORDER BY COALESCE(t.refunded_at, t.transaction_date), t.id
      """

  /// Subscriptions cancelled in the app whose cancellation was not sent yet (all cancelled ones with
  /// `backfill`), with the end of their last paid period. Test users' are left out of incremental
  /// reads, for the reason given at `transactionsSQL`.
  public static func subscriptionsSQL(backfill: Bool) -> String {
    """
    SELECT s.id, s.user_id, s.gateway, s.gateway_subscription_id, s.plan_name, s.status, s.started_at, s.canceled_at,
           p.last_period_end, p.last_transaction_date
    FROM subscriptions s
    LEFT JOIN LATERAL (
      SELECT max(t.period_end) AS last_period_end, max(t.transaction_date) AS last_transaction_date
      FROM transactions t
      WHERE t.subscription_id = s.id AND t.status IN ('completed', 'refunded')
    ) p ON true
    WHERE s.canceled_at IS NOT NULL\(
      backfill
        ? ""
        : " AND s.chartmogul_cancelled_at IS NULL AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = s.user_id AND u.is_test)")
    ORDER BY s.canceled_at, s.id
    """
  }
}

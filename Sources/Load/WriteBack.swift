import AppDatabase
import Foundation
import Logging
import RevenueCore

/// Writes confirmed and failed records back to the app database (`SyncWriteBack`) and one
/// `chartmogul_sync_status` row per sync type. Every write is idempotent, so records confirmed in
/// earlier runs and re-extracted (a crashed write-back) are simply confirmed again.
struct WriteBackStep {
  let url: Secret
  let runID: String
  let logger: Logger

  struct Outcome {
    var confirmedTransactions = 0
    var failedTransactions = 0
    var confirmedCancellations = 0
    var error: String?
    var json: JSONValue {
      var o: JSONObject = [
        "transactions_confirmed": .int(confirmedTransactions), "transactions_failed": .int(failedTransactions),
        "cancellations_confirmed": .int(confirmedCancellations),
      ]
      o.set("error", .optional(error))
      return .object(o)
    }
  }

  /// `final`: the final ledger entries by id; `attemptedNow`: ids sent by this invocation (only their
  /// failures count as a new attempt in the app database).
  func run(input: LoadInput, final: [String: LedgerEntry], attemptedNow: Set<String>, now: Timestamp) -> Outcome {
    var out = Outcome()
    do {
      let wb = try SyncWriteBack(url: url.value)
      var confirms: [TransactionConfirmation] = []
      var failures: [TransactionFailure] = []
      for cid in input.customerOrder {
        let customerUUID = final[LedgerEntry.id(.customer, cid)]?.uuid
        for inv in input.invoicesByCustomer[cid] ?? [] {
          guard let app = inv.appTransactionID, let e = final[LedgerEntry.id(.invoice, inv.externalID)] else {
            continue
          }
          switch e.status {
          case .confirmed:
            var refunds: Int64 = 0
            var allRefundsConfirmed = true
            let total = inv.lineItems.reduce(Int64(0)) { $0 + $1.amountInCents }
            for t in inv.transactions where t.type == .refund {
              if final[LedgerEntry.id(.transaction, t.externalID)]?.status == .confirmed {
                refunds += t.amountInCents ?? total
              } else {
                allRefundsConfirmed = false
              }
            }
            // nil = the row's refunded amount as extracted (every refund on the invoice was sent).
            confirms.append(
              TransactionConfirmation(
                appTransactionID: app, customerUUID: customerUUID, invoiceUUID: e.uuid,
                refundedAmountCents: allRefundsConfirmed ? nil : refunds))
          case .failed where attemptedNow.contains(e.id):
            failures.append(TransactionFailure(appTransactionID: app, error: e.error ?? "not confirmed by ChartMogul"))
          default: break
          }
        }
      }
      var cancels: [CancellationConfirmation] = []
      for c in input.cancellations {
        guard let app = c.appSubscriptionID, let e = final[LedgerEntry.id(.cancellation, LoadInput.key(c))],
          e.status == .confirmed
        else { continue }
        cancels.append(
          CancellationConfirmation(
            appSubscriptionID: app, subscriptionUUID: e.uuid, planUUID: e.fields["plan_uuid"]?.stringValue,
            cancelledAt: c.cancelledAt))
      }
      for chunk in stride(from: 0, to: confirms.count, by: 1000) {
        try wb.confirmTransactions(Array(confirms[chunk..<min(chunk + 1000, confirms.count)]), syncedAt: now)
      }
      for chunk in stride(from: 0, to: failures.count, by: 1000) {
        try wb.failTransactions(Array(failures[chunk..<min(chunk + 1000, failures.count)]))
      }
      try wb.confirmCancellations(cancels)
      out.confirmedTransactions = confirms.count
      out.failedTransactions = failures.count
      out.confirmedCancellations = cancels.count

      // One status row per sync type.
      var byType: [String: (synced: Int, failed: Int, errors: [JSONValue])] = [:]
      for e in final.values {
        let type: String
        switch e.kind {
        case .customer: type = "customers"
        case .plan: type = "plans"
        case .invoice: type = "invoices"
        case .transaction: type = e.fields["transaction_type"]?.stringValue == "refund" ? "refunds" : "transactions"
        case .cancellation: type = "cancellations"
        case .attributes: type = "attributes"
        }
        var v = byType[type] ?? (0, 0, [])
        if e.status == .confirmed { v.synced += 1 }
        if e.status == .failed {
          v.failed += 1
          if v.errors.count < 20 { v.errors.append(["key": .string(e.key), "error": .string(e.error ?? "")]) }
        }
        byType[type] = v
      }
      for (type, v) in byType.sorted(by: { $0.key < $1.key }) {
        try wb.recordSyncStatus(
          runID: runID, syncType: type, synced: v.synced, failed: v.failed,
          errorDetails: v.errors.isEmpty ? nil : .array(v.errors))
      }
    } catch {
      out.error = Redactor.shared.redact("\(error)")
      logger.error("write-back to the app database failed: \(out.error!); the next load writes it back again")
    }
    return out
  }

  /// App transaction ids whose sync failed with fewer than `maxAttempts` attempts (for `retry`).
  static func failedTransactionIDs(url: Secret, maxAttempts: Int, logger: Logger) -> Set<String> {
    do {
      return Set(try SyncWriteBack(url: url.value).failedTransactionIDs(maxAttempts: maxAttempts))
    } catch {
      logger.warning("could not read failed transactions from the app database: \(Redactor.shared.redact("\(error)"))")
      return []
    }
  }
}

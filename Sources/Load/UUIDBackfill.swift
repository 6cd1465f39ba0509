import Foundation
import RevenueCore

/// Learns the ChartMogul uuids of invoices (and their customers) that a bulk import confirmed.
///
/// ChartMogul's import status reports per-customer outcomes but no uuids (docs/chartmogul.md "Bulk import"), yet the
/// app database wants `chartmogul_invoice_uuid` and `chartmogul_customer_uuid` (write-back). Only
/// invoices that came from the app (they carry `app_transaction_id`) are looked up: a handful by external
/// id (`GET /v1/invoices?external_id=`), many by paging the data source's invoices 200 at a time and
/// stopping as soon as every one is found — either way far fewer requests than one per invoice.
struct UUIDBackfill {
  let client: ChartMogulClient
  let dataSource: String
  /// Up to this many missing invoices are looked up one by one; above it the listing is paged.
  static let lookupLimit = 25

  /// Fills `uuid` of confirmed invoice entries and of their customers' entries in `results`.
  func fill(_ results: inout [String: LedgerEntry], input: LoadInput) async {
    var wanted: [String: String] = [:]  // invoice external id → customer external id
    for cid in input.customerOrder {
      for inv in input.invoicesByCustomer[cid] ?? [] where inv.appTransactionID != nil {
        let id = LedgerEntry.id(.invoice, inv.externalID)
        if let e = results[id], e.status == .confirmed, e.uuid == nil { wanted[inv.externalID] = cid }
      }
    }
    guard !wanted.isEmpty else { return }
    var found: [String: (invoice: String, customer: String?)] = [:]
    do {
      if wanted.count <= UUIDBackfill.lookupLimit {
        for ext in wanted.keys.sorted() {
          let r = try await client.expectSuccess(
            "GET", "/v1/invoices", query: [("data_source_uuid", dataSource), ("external_id", ext)])
          for inv in r.json?["invoices"]?.arrayValue ?? [] where inv["external_id"]?.stringValue == ext {
            if let u = inv["uuid"]?.stringValue { found[ext] = (u, inv["customer_uuid"]?.stringValue) }
          }
        }
      } else {
        var cursor: String? = nil
        pages: for _ in 0..<100_000 {
          var q: [(String, String)] = [("data_source_uuid", dataSource), ("per_page", "200")]
          if let cursor { q.append(("cursor", cursor)) }
          let r = try await client.expectSuccess("GET", "/v1/invoices", query: q)
          for inv in r.json?["invoices"]?.arrayValue ?? [] {
            guard let ext = inv["external_id"]?.stringValue, wanted[ext] != nil, let u = inv["uuid"]?.stringValue
            else { continue }
            found[ext] = (u, inv["customer_uuid"]?.stringValue)
            if found.count == wanted.count { break pages }
          }
          guard r.json?["has_more"]?.boolValue == true, let next = r.json?["cursor"]?.stringValue, !next.isEmpty
          else { break }
          cursor = next
        }
      }
    } catch {
      // The uuids are a convenience for the app database; the load itself is confirmed.
      client.logger.warning("could not look up the uuids of imported invoices: \(error)")
    }
    for (ext, uuids) in found {
      results[LedgerEntry.id(.invoice, ext)]?.uuid = uuids.invoice
      if let cu = uuids.customer, let cid = wanted[ext] {
        let cidKey = LedgerEntry.id(.customer, cid)
        if results[cidKey]?.uuid == nil { results[cidKey]?.uuid = cu }
      }
    }
  }
}

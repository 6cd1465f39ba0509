import Foundation
import RevenueCore

// Stored objects of the sandbox. Timestamps are UTC seconds (`Int64`) so the whole state is
// `Codable` for the optional state file; JSON for the API is built in SandboxEncoding.swift.

struct SBDataSource: Codable, Sendable {
  var uuid: String
  var name: String
  var system: String
  var createdAt: Int64
}

struct SBPlan: Codable, Sendable {
  var uuid: String
  var dataSourceUUID: String
  var name: String
  var intervalCount: Int
  var intervalUnit: IntervalUnit
  var externalID: String
}

/// A custom attribute: its type is fixed when first defined; `value` is JSON text.
struct SBCustomAttribute: Codable, Sendable {
  var key: String
  var type: String
  var valueJSON: String
  var source: String
}

struct SBCustomer: Codable, Sendable {
  var id: Int
  var uuid: String
  var dataSourceUUID: String
  var externalID: String
  /// External ids of customers merged into this one (first = own).
  var externalIDs: [String]
  /// name, email, company, country, state, city, zip, owner, website_url (absent = null).
  var fields: [String: String]
  var leadCreatedAt: Int64?
  var freeTrialStartedAt: Int64?
  /// primary_contact as JSON text (nil when not given).
  var primaryContactJSON: String?
  var tags: [String]
  var custom: [SBCustomAttribute]
}

struct SBLineItem: Codable, Sendable {
  var uuid: String
  var externalID: String?
  var type: String
  var subscriptionUUID: String?
  var subscriptionExternalID: String?
  var subscriptionSetExternalID: String?
  var planUUID: String?
  var servicePeriodStart: Int64?
  var servicePeriodEnd: Int64?
  var amountInCents: Int64
  var quantity: Int64
  var taxAmountInCents: Int64
  var discountAmountInCents: Int64
  var discountCode: String?
  var discountDescription: String?
  var transactionFeesInCents: Int64?
  var transactionFeesCurrency: String?
  var prorated: Bool
  var prorationType: String?
  var cancelledAt: Int64?
  var eventOrder: Int64?
  var accountCode: String?
  var description: String?
}

struct SBTransaction: Codable, Sendable {
  var uuid: String
  var externalID: String?
  var type: String
  var date: Int64
  var result: String
  var amountInCents: Int64?
  var transactionFeesInCents: Int64?
  var transactionFeesCurrency: String?
}

struct SBInvoice: Codable, Sendable {
  var uuid: String
  var externalID: String
  var customerUUID: String
  var dataSourceUUID: String
  var date: Int64
  var dueDate: Int64?
  var currency: String
  var collectionMethod: String?
  var lineItems: [SBLineItem]
  var transactions: [SBTransaction]

  /// Total invoiced: the sum of line amounts (tax included, discounts already deducted).
  var total: Int64 { lineItems.reduce(0) { $0 + $1.amountInCents } }
}

struct SBSubscription: Codable, Sendable {
  var id: Int
  var uuid: String
  var externalID: String
  var subscriptionSetExternalID: String?
  var customerUUID: String
  var dataSourceUUID: String
  var planUUID: String
  var currency: String
  var cancellationDates: [Int64]
  /// (invoice uuid, line uuid) of its line items, in import order.
  var lineRefs: [SBLineRef]
}

struct SBLineRef: Codable, Sendable, Hashable {
  var invoiceUUID: String
  var lineUUID: String
}

struct SBJSONImport: Codable, Sendable {
  var id: String
  var dataSourceUUID: String
  var externalID: String?
  var status: String
  /// status_details as JSON text.
  var statusDetailsJSON: String
  var createdAt: Int64
  var updatedAt: Int64
  /// The accepted request body (JSON text) until processed.
  var pendingPayload: String?
}

/// Everything the sandbox stores; also the state file's content.
struct SBState: Codable, Sendable {
  var dataSources: [SBDataSource] = []
  var plans: [SBPlan] = []
  var customers: [SBCustomer] = []
  var invoices: [SBInvoice] = []
  var subscriptions: [SBSubscription] = []
  var imports: [SBJSONImport] = []
  /// Subscription events (optional so state files written before they existed still load).
  var subscriptionEvents: [SBSubscriptionEvent]? = nil
  var nextCustomerID = 90_000_001
  var nextSubscriptionID = 70_000_001
}

/// Lookup indexes over `SBState` (rebuilt on load, maintained on every insert).
struct SBIndex {
  var dataSource: [String: Int] = [:]
  var plan: [String: Int] = [:]
  var planByExt: [String: Int] = [:]
  var customer: [String: Int] = [:]
  var customerByExt: [String: Int] = [:]
  var invoice: [String: Int] = [:]
  var invoiceByExt: [String: Int] = [:]
  var subscription: [String: Int] = [:]
  var subscriptionByExt: [String: Int] = [:]
  var lineItemExt: Set<String> = []
  var transactionExt: Set<String> = []
  var importByID: [String: Int] = [:]

  static func key(_ ds: String, _ ext: String) -> String { ds + "\u{1}" + ext }

  init() {}

  init(_ s: SBState) {
    for (i, d) in s.dataSources.enumerated() { dataSource[d.uuid] = i }
    for (i, p) in s.plans.enumerated() {
      plan[p.uuid] = i
      planByExt[Self.key(p.dataSourceUUID, p.externalID)] = i
    }
    for (i, c) in s.customers.enumerated() {
      customer[c.uuid] = i
      for e in c.externalIDs { customerByExt[Self.key(c.dataSourceUUID, e)] = i }
    }
    for (i, inv) in s.invoices.enumerated() {
      invoice[inv.uuid] = i
      invoiceByExt[Self.key(inv.dataSourceUUID, inv.externalID)] = i
      for li in inv.lineItems { if let e = li.externalID { lineItemExt.insert(Self.key(inv.dataSourceUUID, e)) } }
      for t in inv.transactions { if let e = t.externalID { transactionExt.insert(Self.key(inv.dataSourceUUID, e)) } }
    }
    for (i, sub) in s.subscriptions.enumerated() {
      subscription[sub.uuid] = i
      subscriptionByExt[Self.key(sub.customerUUID, sub.externalID)] = i
    }
    for (i, imp) in s.imports.enumerated() { importByID[imp.id] = i }
  }
}

enum SBID {
  /// `ds_…`, `cus_…` style id with a random UUID.
  static func make(_ prefix: String) -> String { prefix + UUID().uuidString.lowercased() }
}

extension Timestamp {
  /// ChartMogul's response form: `2026-01-05T10:12:00.000Z`.
  var chartMogulMillis: String {
    let s = iso8601
    return String(s.dropLast()) + ".000Z"
  }
}

func sbTime(_ seconds: Int64) -> JSONValue { .string(Timestamp(seconds: seconds).chartMogulMillis) }
func sbTime(_ seconds: Int64?) -> JSONValue { seconds.map { sbTime($0) } ?? .null }
func sbString(_ s: String?) -> JSONValue { s.map { .string($0) } ?? .null }
func sbInt(_ n: Int64?) -> JSONValue { n.map { .int($0) } ?? .null }

import Foundation
import RevenueCore
import Staging
import SystemShims
import TransformRules

/// Drives the transform over a set of extract files (see `TransformStage`).
///
/// The runner (this module) reads lines, runs the reading thread, sorts on disk, releases memory;
/// every mapping rule lives in `TransformRules` (its `TransformRules.swift` lists where each is).
/// Here:
/// - `TransformEngine` (this file): the order of the passes and what each one hands the next;
/// - `IndexingPass.swift`: pass 1, people/subscriptions/plans into the indexes;
/// - `PaymentMappingPass.swift`: pass 2, payments → fragments → external sort;
/// - `InvoiceMerge.swift`: sorted fragments grouped by invoice key → invoices.ndjson;
/// - `OutputFiles.swift`: cancellations, customers, attributes, plans, manifest details;
/// - `CustomerHistory.swift`: the customer index one run hands the next;
/// - machinery: `ReadAheadLines` (reading thread), `ParallelJobs`, `ExternalSorter` + `SortRunReader`,
///   `Fragment+SortLine` (sort-line codec), `CompactJSONWriter` (pre-sorted-key JSON),
///   `AppTransactionScanner` (app rows without a JSON tree), `CustomerSlots` + `UserKey` (per-user
///   memo of customer facts), `UTF8Order`, `InputAccounting` (accounting, rejects, skipped).
///
/// Each fast path is pinned to the plain rule it replaces by a differential test (`FastPathTests`,
/// `CompactJSONWriterTests`).
final class TransformEngine {
  let config: TransformConfig
  let inputs: [String]
  /// Each input's sections as the extract manifest lists them (nil: unknown, read it whole).
  let sections: [[FileSection]?]
  let ledger: InputAccounting
  let builder: StageBuilder
  let formats: ActivityFormats
  let progress: any ProgressSink
  let totalLines: Int
  /// The customer index of an earlier run (see `CustomerHistory`); nil on a first run.
  let prior: CustomerHistory.Prior?
  /// What earlier runs paid and cancelled (see `SubscriptionHistory`).
  let priorSubscriptions: SubscriptionHistory.Prior
  /// The instant the extract describes (`details.as_of`); nil for extracts that predate it (no lapse
  /// detection then).
  let asOf: Timestamp?
  var lapsePolicy: Lapse.Policy? {
    config.lapseAfterDays.map { Lapse.Policy(afterDays: $0, churnRecognition: config.churnRecognition) }
  }
  let customers: CustomerIndex
  let subscriptions = SubscriptionIndex()
  let aliases = PaymentAliases()
  var index: IndexReaders
  var trackers = BuildTrackers()
  /// Record kinds pass 1 met (for the backfill warnings, see `BackfillWarnings`).
  var seenKinds = Set<String>()
  /// Ids of test-mode Stripe payments (refund objects carry no `livemode`: they follow their charge).
  var testPayments = Set<String>()
  /// The payment pass's per-user memo of customer facts (folded into `customers` after it).
  var slots = CustomerSlots()

  init(
    config: TransformConfig, inputs: [String], sections: [[FileSection]?]? = nil, names: [String],
    builder: StageBuilder,
    formats: ActivityFormats, progress: any ProgressSink, totalLines: Int, prior: CustomerHistory.Prior? = nil,
    priorSubscriptions: SubscriptionHistory.Prior = .none, asOf: Timestamp? = nil
  ) throws {
    self.prior = prior
    self.priorSubscriptions = priorSubscriptions
    self.asOf = asOf
    self.config = config
    self.inputs = inputs
    self.sections = sections ?? inputs.map { _ in nil }
    self.builder = builder
    self.formats = formats
    self.progress = progress
    self.totalLines = totalLines
    ledger = InputAccounting(
      sourceNames: names, rejects: try builder.writer("rejects.ndjson"), skipped: try builder.writer("skipped.ndjson"))
    customers = CustomerIndex(config: config)
    index = IndexReaders(customers: customers, subscriptions: subscriptions)
    index.includeTestData = config.includeTestData
  }

  func run() throws -> JSONObject {
    try indexPeopleAndPlans()
    let sorter = try mapPaymentsToFragments()
    // Facts the earlier run knew (country, name, referrer, gateways) complete this run's customers.
    if let prior { try CustomerHistory.readCustomerFacts(prior, into: customers) }
    let (missing, customerCount) = try writeInvoicesAndCustomers(sorter)
    let lapses = try writeCancellations(asOf: asOf)
    var details = try writePlansAndDetails(missingAttributes: missing, customerCount: customerCount)
    details["as_of"] = asOf.map { .string($0.iso8601) } ?? .null
    details["lapse_after_days"] = config.lapseAfterDays.map { .int(Int64($0)) } ?? .null
    details["lapsed"] = .int(Int64(lapses.lapsed))
    details["lapse_withdrawn"] = .int(Int64(lapses.withdrawn))
    details["subscriptions_known"] = .int(Int64(lapses.subscriptions))
    details["prior_subscription_index"] = priorSubscriptions.json
    return details
  }

  /// Pass 1 over every input, after the earlier runs' identities (they win over this run's, see
  /// `CustomerHistory`); then customers are resolved and aliases settled.
  func indexPeopleAndPlans() throws {
    if let prior { try CustomerHistory.readIdentities(prior, into: customers) }
    progress.begin("transform: index customers and subscriptions", total: totalLines)
    for (s, path) in inputs.enumerated() { try indexPeopleAndPlans(source: s, path: path) }
    progress.end()
    customers.finish()
    aliases.finish()
    _ = cshims_release_free_memory()  // pass 1's parse garbage: give its pages back before pass 2 allocates
  }

  /// Pass 2 over every input into the external sort; then the per-user slots are folded into the
  /// customer index.
  func mapPaymentsToFragments() throws -> ExternalSorter {
    let sorter = try ExternalSorter(directory: builder.directory + "/.sort", maxRecords: config.sortChunkRecords)
    progress.begin("transform: map payments", total: totalLines)
    for (s, path) in inputs.enumerated() { try mapPayments(source: s, path: path, sorter: sorter) }
    try sorter.finishInput()
    _ = cshims_release_free_memory()  // the sort chunks, before settling the slots allocates
    slots.settle(into: customers)
    slots = CustomerSlots()
    progress.end()
    _ = cshims_release_free_memory()  // the slots just folded into the index
    return sorter
  }

  /// The customer files need only the customer index, now final: they are written on a second
  /// thread while this one merges the invoices. Returns the missing-attribute and customer counts.
  func writeInvoicesAndCustomers(_ sorter: ExternalSorter) throws -> (Int, Int) {
    let custOut = try builder.writer("customers.ndjson")
    let attrOut = try builder.writer("attributes.ndjson")
    let historyOut = try builder.writer(CustomerHistory.fileName)
    var missing = 0
    var customerCount = 0
    progress.begin("transform: write invoices", total: sorter.count)
    let invoices = try builder.writer("invoices.ndjson")
    try ParallelJobs.run(
      {
        try writeInvoices(from: sorter, to: invoices)
        try? FileSystem.removeTree(builder.directory + "/.sort")
      },
      side: {
        (missing, customerCount) = try self.writeCustomers(custOut, attrOut)
        try CustomerHistory.write(self.customers, to: historyOut)
      })
    progress.end()
    return (missing, customerCount)
  }
}

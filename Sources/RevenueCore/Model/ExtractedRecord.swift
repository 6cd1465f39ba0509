/// One raw record as a source gave it, wrapped with where it came from. One per line of
/// `extract/<source>.ndjson` (docs/architecture.md "The staging contract").
///
/// Shape on disk: `{"gateway":…,"kind":…,"origin":{…},"record":{…},"source":…}`.
/// - `source`: the pipeline source that extracted it (`postgres`, `stripe`, `paypal`, `cashier`, `files`).
/// - `gateway`: whose data it is (`app`, `stripe`, `paypal`, `cashier`).
/// - `kind`: the record's shape, which tells Transform how to read `record`:
///   `app.user`, `app.subscription`, `app.transaction`, `app.refund`;
///   `stripe.customer`, `stripe.subscription`, `stripe.invoice`, `stripe.charge`, `stripe.refund`;
///   `paypal.transaction`, `paypal.subscription`, `paypal.plan`; `cashier.transaction`;
///   export rows (`record` = header → cell text): `stripe-payments-csv`, `stripe-customers-csv`,
///   `stripe-subscriptions-csv`, `stripe-invoices-csv`, `stripe-refunds-csv`, `paypal-activity-csv`, `cashier-csv`.
/// - `origin`: provenance — `{"endpoint":…,"page":…}` for APIs, `{"file":…,"line":…}` for files,
///   `{"query":…,"row":…}` for Postgres.
public struct ExtractedRecord: Sendable, Hashable {
  public var source: String
  public var gateway: String
  public var kind: String
  public var origin: JSONObject
  public var record: JSONValue

  public init(source: String, gateway: String, kind: String, origin: JSONObject, record: JSONValue) {
    self.source = source
    self.gateway = gateway
    self.kind = kind
    self.origin = origin
    self.record = record
  }

  public var json: JSONValue {
    [
      "source": .string(source), "gateway": .string(gateway), "kind": .string(kind), "origin": .object(origin),
      "record": record,
    ]
  }

  public init(json: JSONValue) throws(RecordShapeError) {
    let r = try FieldReader(json, what: "extracted record")
    source = try r.string("source")
    gateway = try r.string("gateway")
    kind = try r.string("kind")
    guard let o = r.object["origin"]?.objectValue else {
      throw RecordShapeError(field: "origin", reason: "is missing or not an object")
    }
    origin = o
    guard let rec = r.object["record"] else { throw RecordShapeError(field: "record", reason: "is missing") }
    record = rec
  }
}

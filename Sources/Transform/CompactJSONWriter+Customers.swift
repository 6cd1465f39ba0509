import RevenueCore
import TransformRules

/// Customers and attributes written with their keys already in sorted order (byte-identical to
/// `JSONWriter.write(record.json)`, which sorts every object's keys on each call).
extension CompactJSONWriter {
  /// Keys in order: country, email, external_id, free_trial_started_at, lead_created_at,
  /// merged_external_ids, name; nil fields and an empty merge list are omitted, as in `json`.
  static func customer(_ c: CustomerRecord, _ out: inout [UInt8]) {
    out.append(0x7B)
    var first = true
    func key(_ k: StaticString) {
      CompactJSONWriter.key(k, &out, first: first)
      first = false
    }
    if let v = c.country {
      key("country")
      string(v, &out)
    }
    if let v = c.email {
      key("email")
      string(v, &out)
    }
    key("external_id")
    string(c.externalID, &out)
    if let t = c.freeTrialStartedAt {
      key("free_trial_started_at")
      time(t, &out)
    }
    if let t = c.leadCreatedAt {
      key("lead_created_at")
      time(t, &out)
    }
    if !c.mergedExternalIDs.isEmpty {
      key("merged_external_ids")
      out.append(0x5B)
      for (i, m) in c.mergedExternalIDs.enumerated() {
        if i > 0 { out.append(0x2C) }
        string(m, &out)
      }
      out.append(0x5D)
    }
    if let v = c.name {
      key("name")
      string(v, &out)
    }
    out.append(0x7D)
  }

  /// Keys in order: custom (each `{key, type, value}`), customer_external_id, tags.
  static func attributes(_ a: AttributeRecord, _ out: inout [UInt8]) {
    raw(#"{"custom":["#, &out)
    for (i, c) in a.custom.enumerated() {
      if i > 0 { out.append(0x2C) }
      raw(#"{"key":"#, &out)
      string(c.key, &out)
      raw(#","type":"#, &out)
      string(c.type.rawValue, &out)
      raw(#","value":"#, &out)
      JSONWriter.write(c.value, into: &out)
      out.append(0x7D)
    }
    raw(#"],"customer_external_id":"#, &out)
    string(a.customerExternalID, &out)
    raw(#","tags":["#, &out)
    for (i, t) in a.tags.enumerated() {
      if i > 0 { out.append(0x2C) }
      string(t, &out)
    }
    out.append(0x5D)
    out.append(0x7D)
  }
}

import Foundation
import RevenueCore

/// An app user id as a dictionary key: a canonical lower-case UUID (`8-4-4-4-12` hex digits) is held
/// as its 16 raw bytes (hashing and comparing two integers instead of a 36-byte heap `String`);
/// any other text is kept as it is (`hi`/`lo` zero). Two keys are equal exactly when their texts are.
struct UserKey: Hashable {
  var hi: UInt64 = 0
  var lo: UInt64 = 0
  var text: String? = nil

  init(_ s: String) {
    let parsed: (UInt64, UInt64)?? = s.utf8.withContiguousStorageIfAvailable { Self.uuid($0) }
    if let (h, l) = parsed ?? nil {
      hi = h
      lo = l
    } else {
      text = s
    }
  }

  /// The 128 bits of a lower-case `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`; nil for anything else
  /// (upper-case hex stays text, so `A…` and `a…` remain different users, as their strings are).
  static func uuid(_ b: UnsafeBufferPointer<UInt8>) -> (UInt64, UInt64)? {
    guard b.count == 36, b[8] == 0x2D, b[13] == 0x2D, b[18] == 0x2D, b[23] == 0x2D else { return nil }
    var words: (UInt64, UInt64) = (0, 0)
    var n = 0
    for i in 0..<36 where i != 8 && i != 13 && i != 18 && i != 23 {
      let c = b[i]
      let v: UInt8
      if c >= 0x30 && c <= 0x39 { v = c - 0x30 } else if c >= 0x61 && c <= 0x66 { v = c - 0x61 + 10 } else { return nil }
      if n < 16 { words.0 = words.0 << 4 | UInt64(v) } else { words.1 = words.1 << 4 | UInt64(v) }
      n += 1
    }
    return words
  }

  func hash(into h: inout Hasher) {
    if let text { h.combine(text) } else { h.combine(hi ^ (lo &* 0x9E37_79B9_7F4A_7C15)) }
  }
}

/// Pass-2 fast path for payments naming an app user (DESIGN.md §6): each user id is resolved once to
/// its canonical customer, whether that customer is test data, and a slot number; the facts every
/// payment adds (gateways, dated country/name/referrer) are then kept per slot in arrays instead of
/// five `String`-keyed dictionary lookups per payment.
///
/// `CustomerIndex.settleSlots()` folds the slots into the index's dictionaries after pass 2. The
/// folding uses the same rules as `CustomerIndex.offer` (most recent wins, ties: the larger value) and
/// set union for gateways, both order-independent, so the result is exactly as if every payment had
/// written the dictionaries directly.
final class CustomerSlots {
  struct Route {
    let customer: String
    let slot: Int32
    let isTest: Bool
  }

  private var routes: [UserKey: Route] = [:]
  private var slotByCustomer: [String: Int32] = [:]
  private(set) var customerIDs: [String] = []
  /// Bit i set: the customer pays through `gatewayNames[i]`.
  private(set) var gatewayBits: [UInt64] = []
  private(set) var gatewayNames: [String] = []
  private(set) var country: [(Timestamp, String)?] = []
  private(set) var name: [(Timestamp, String)?] = []
  private(set) var referrer: [(Timestamp, String)?] = []

  /// The route of an app user id (`key` is `UserKey(user)`), computed by `resolve` on first sight
  /// (the index is final by then).
  @inline(__always)
  func route(_ user: String, key: UserKey, resolve: (String) -> (customer: String, isTest: Bool)) -> Route {
    if let r = routes[key] { return r }
    let (customer, test) = resolve(user)
    let slot: Int32
    if let s = slotByCustomer[customer] {
      slot = s
    } else {
      slot = Int32(customerIDs.count)
      slotByCustomer[customer] = slot
      customerIDs.append(customer)
      gatewayBits.append(0)
      country.append(nil)
      name.append(nil)
      referrer.append(nil)
    }
    let r = Route(customer: customer, slot: slot, isTest: test)
    routes[key] = r
    return r
  }

  /// Records a gateway for the slot; false when 64 distinct gateway names are already taken (the
  /// caller then records it in the index directly).
  func addGateway(_ slot: Int32, _ gateway: String) -> Bool {
    var bit = gatewayNames.firstIndex(of: gateway) ?? -1
    if bit < 0 {
      guard gatewayNames.count < 64 else { return false }
      bit = gatewayNames.count
      gatewayNames.append(gateway)
    }
    gatewayBits[Int(slot)] |= 1 << UInt64(bit)
    return true
  }

  func offer(_ what: CustomerIndex.Fill, _ slot: Int32, _ date: Timestamp, _ value: String) {
    let i = Int(slot)
    func better(_ old: (Timestamp, String)?) -> Bool { CustomerIndex.supersedes(date, value, old) }
    switch what {
    case .country: if better(country[i]) { country[i] = (date, value) }
    case .name: if better(name[i]) { name[i] = (date, value) }
    case .referrer: if better(referrer[i]) { referrer[i] = (date, value) }
    }
  }
}

extension CustomerIndex {
  /// The canonical customer of an app user id and whether it is test data (`resolveUser`, `isTest`).
  func appUserRoute(_ user: String, key: UserKey? = nil) -> CustomerSlots.Route {
    slots.route(user, key: key ?? UserKey(user)) { u in
      let c = resolveUser(u)
      return (c, isTest(c))
    }
  }

  /// Folds the pass-2 slots into `gatewaysByCustomer` and the dated fill-ins (see `CustomerSlots`).
  func settleSlots() {
    let s = slots
    for (i, customer) in s.customerIDs.enumerated() {
      let bits = s.gatewayBits[i]
      if bits != 0 {
        var set = gatewaysByCustomer[customer] ?? []
        for (b, g) in s.gatewayNames.enumerated() where bits & (1 << UInt64(b)) != 0 { set.insert(g) }
        gatewaysByCustomer[customer] = set
      }
      if let (d, v) = s.country[i] { offer(.country, customer, d, v) }
      if let (d, v) = s.name[i] { offer(.name, customer, d, v) }
      if let (d, v) = s.referrer[i] { offer(.referrer, customer, d, v) }
    }
    slots = CustomerSlots()
  }
}

/// Byte-order (UTF-8) comparison of two strings with `memcmp` on their contiguous storage (the
/// generic `utf8.lexicographicallyPrecedes` walks the views element by element).
@inline(__always)
func utf8Less(_ a: String, _ b: String) -> Bool {
  let fast: Bool?? = a.utf8.withContiguousStorageIfAvailable { pa in
    b.utf8.withContiguousStorageIfAvailable { pb in
      let n = min(pa.count, pb.count)
      let c = n == 0 ? 0 : memcmp(pa.baseAddress!, pb.baseAddress!, n)
      return c != 0 ? c < 0 : pa.count < pb.count
    }
  }
  if let r = fast ?? nil { return r }
  return a.utf8.lexicographicallyPrecedes(b.utf8)
}

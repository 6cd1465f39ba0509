import Foundation
import RevenueCore
import TransformRules

/// Fast path of the payment pass for payments naming an app user: each user id is resolved once
/// (`CustomerIndex.payer(of:)`) to its customer, whether it is test data, and a slot number; the
/// facts every payment adds (gateways, dated country/name/referrer) are then kept per slot in arrays
/// instead of five `String`-keyed dictionary lookups per payment.
///
/// `settle(into:)` folds the slots into the index after the pass with the same rules as
/// `CustomerIndex.record(_:)` (most recent wins, ties: the larger value; gateways: set union), both
/// order-independent, so the index ends exactly as if every payment had been recorded directly.
/// Pinned to the plain rule by `FastPathTests`.
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
  /// `Normalize.country` of the few country texts rows carry.
  private var countries: [String: String?] = [:]

  /// The route of an app user id (`key` is `UserKey(user)`), resolved on first sight (the index is
  /// final by then).
  @inline(__always)
  func route(_ user: String, key: UserKey, customers: CustomerIndex) -> Route {
    if let r = routes[key] { return r }
    let customer = customers.resolveUser(user)
    let test = customers.isTest(customer)
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

  /// Records a payment's facts in its slot; without a slot, or when 64 distinct gateway names are
  /// already taken, in the index directly (`CustomerIndex.record`).
  func record(_ f: CustomerFacts, slot: Int32?, into customers: CustomerIndex) {
    guard let slot, addGateway(slot, f.gateway) else {
      customers.record(f)
      return
    }
    let i = Int(slot)
    func better(_ old: (Timestamp, String)?, _ value: String) -> Bool {
      CustomerIndex.supersedes(f.date, value, old)
    }
    if let c = normalizedCountry(f.country), better(country[i], c) { country[i] = (f.date, c) }
    if let n = f.name, better(name[i], n) { name[i] = (f.date, n) }
    if let r = f.referrer, better(referrer[i], r) { referrer[i] = (f.date, r) }
  }

  private func addGateway(_ slot: Int32, _ gateway: String) -> Bool {
    var bit = gatewayNames.firstIndex(of: gateway) ?? -1
    if bit < 0 {
      guard gatewayNames.count < 64 else { return false }
      bit = gatewayNames.count
      gatewayNames.append(gateway)
    }
    gatewayBits[Int(slot)] |= 1 << UInt64(bit)
    return true
  }

  private func normalizedCountry(_ s: String?) -> String? {
    guard let s else { return nil }
    if let hit = countries[s] { return hit }
    let n = Normalize.country(s)
    if countries.count < 1024 { countries[s] = .some(n) }
    return n
  }

  /// Folds the slots into the index's gateways and dated facts.
  func settle(into customers: CustomerIndex) {
    for (i, customer) in customerIDs.enumerated() {
      let bits = gatewayBits[i]
      if bits != 0 {
        var set = customers.gatewaysByCustomer[customer] ?? []
        for (b, g) in gatewayNames.enumerated() where bits & (1 << UInt64(b)) != 0 { set.insert(g) }
        customers.gatewaysByCustomer[customer] = set
      }
      if let (d, v) = country[i] { customers.offer(.country, customer, d, v) }
      if let (d, v) = name[i] { customers.offer(.name, customer, d, v) }
      if let (d, v) = referrer[i] { customers.offer(.referrer, customer, d, v) }
    }
  }
}

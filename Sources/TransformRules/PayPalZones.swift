import Foundation
import RevenueCore

/// The `TimeZone` column of a PayPal Activity download: the abbreviations PayPal writes (English
/// `PST`/`PDT`/`CET`/`CEST`/`BST`…, German `MEZ`/`MESZ`, French `HNEC`/`HAEC`), IANA zone names
/// (`Europe/Berlin`, resolved with the system's tz database at the row's own date, so summer time
/// is right), and `UTC±hh[:mm]`/`GMT±hh[:mm]` offsets.
package enum PayPalZones {
  package static let abbreviations: [String: Int] = [
    "UTC": 0, "GMT": 0, "Z": 0, "WET": 0, "WEZ": 0, "WEST": 3600, "WESZ": 3600,
    "BST": 3600, "IST": 3600,
    "CET": 3600, "MEZ": 3600, "HNEC": 3600, "CEST": 7200, "MESZ": 7200, "HAEC": 7200,
    "EET": 7200, "OEZ": 7200, "EEST": 10800, "OESZ": 10800, "MSK": 10800,
    "PST": -8 * 3600, "PDT": -7 * 3600, "MST": -7 * 3600, "MDT": -6 * 3600, "CST": -6 * 3600, "CDT": -5 * 3600,
    "EST": -5 * 3600, "EDT": -4 * 3600, "AKST": -9 * 3600, "AKDT": -8 * 3600, "HST": -10 * 3600,
    "JST": 9 * 3600, "KST": 9 * 3600, "HKT": 8 * 3600, "SGT": 8 * 3600, "AWST": 8 * 3600,
    "AEST": 10 * 3600, "AEDT": 11 * 3600, "ACST": 34200, "ACDT": 37800, "NZST": 12 * 3600, "NZDT": 13 * 3600,
  ]

  /// UTC for a wall-clock time (seconds as if it were UTC) in `zone`; nil for an unknown zone.
  package static func utc(localSeconds: Int64, zone raw: String) -> Int64? {
    let zone = raw.trimmingASCIIWhitespace()
    if let off = abbreviations[zone.uppercased()] { return localSeconds - Int64(off) }
    if let off = fixedOffset(zone) { return localSeconds - Int64(off) }
    guard zone.contains("/"), let tz = TimeZone(identifier: zone) else { return nil }
    // The offset at the instant: guess with the wall time, then correct once (DST edges).
    var off = tz.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(localSeconds)))
    off = tz.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(localSeconds - Int64(off))))
    return localSeconds - Int64(off)
  }

  /// `UTC+2`, `GMT-05:00`, `+01:00`.
  package static func fixedOffset(_ z: String) -> Int? {
    var s = Substring(z.uppercased())
    if s.hasPrefix("UTC") || s.hasPrefix("GMT") { s = s.dropFirst(3) }
    guard let sign = s.first, sign == "+" || sign == "-" else { return nil }
    let parts = s.dropFirst().split(separator: ":")
    guard (1...2).contains(parts.count), let h = Int(parts[0]), h <= 14 else { return nil }
    let m = parts.count == 2 ? Int(parts[1]) : 0
    guard let m, m < 60 else { return nil }
    return (sign == "-" ? -1 : 1) * (h * 3600 + m * 60)
  }
}

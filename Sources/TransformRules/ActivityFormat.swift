import RevenueCore

/// How one PayPal Activity CSV file writes dates and decimals (pipeline `sources.files[]` entry).
package struct ActivityFormat {
  package enum DateOrder { case mdy, dmy }
  package var order: DateOrder = .mdy
  package var separator: Character = "/"
  package var decimal: DecimalStyle = .dot

  package init() {}
}

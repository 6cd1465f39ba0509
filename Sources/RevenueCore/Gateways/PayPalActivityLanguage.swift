/// The languages PayPal's Activity download is written in: header names and value words, each
/// mapped to the English download's (https://developer.paypal.com/docs/reports/online-reports/activity-download/).
///
/// The file's language is chosen from its header row (`detect`), never per row. How sure each table
/// is, with sources, is in docs/docs/gateways "Dashboard exports": German, Italian, Dutch and Polish
/// headers are published verbatim, French and Spanish partly; Portuguese, and the value words marked
/// there, are PayPal's wording as far as it could be established, not verified against a real file.
public struct PayPalActivityLanguage: Sendable {
  public var code: String
  /// Localized header → English header.
  public var columns: [String: String]
  /// Localized `Status` value → English (compared lower-cased).
  public var statuses: [String: String]
  /// Localized `Balance Impact` value → English (compared lower-cased).
  public var impacts: [String: String]
  /// Localized `Type` value → English (compared lower-cased).
  public var types: [String: String]

  /// The English columns every Activity download needs (any language).
  public static let requiredColumns = [
    "Date", "Time", "TimeZone", "Type", "Status", "Currency", "Gross", "Transaction ID",
  ]

  /// Every spelling of an English column across the languages (for the extract header check).
  public static func spellings(of english: String) -> [String] {
    var out = [english]
    for l in all {
      for (k, v) in l.columns.sorted(by: { $0.key < $1.key }) where v == english && !out.contains(k) { out.append(k) }
    }
    return out
  }

  /// The language whose header names the file uses most (English when it has `Transaction ID`).
  public static func detect(_ header: some Sequence<String>) -> PayPalActivityLanguage? {
    let names = Set(header)
    if names.contains("Transaction ID") { return nil }
    var best: (PayPalActivityLanguage, Int)? = nil
    for l in all {
      let score = l.columns.keys.filter(names.contains).count
      if score > (best?.1 ?? 2) { best = (l, score) }
    }
    return best?.0
  }

  public static let all: [PayPalActivityLanguage] = [german, french, spanish, italian, dutch, polish, portuguese]

  /// `local[i]` is `english[i]`'s name; `also` lists further spellings seen (older downloads).
  static func table(_ english: [String], _ local: [String], also: [(String, String)] = []) -> [String: String] {
    precondition(english.count == local.count)
    var d: [String: String] = [:]
    for (e, l) in zip(english, local) { d[l] = e }
    for (l, e) in also { d[l] = e }
    return d
  }

  static func words(_ pairs: [(String, String)]) -> [String: String] {
    var d: [String: String] = [:]
    for (l, e) in pairs { d[l.lowercased()] = e }
    return d
  }

  static let english = [
    "Date", "Time", "TimeZone", "Name", "Type", "Status", "Currency", "Gross", "Fee", "Net", "From Email Address",
    "To Email Address", "Transaction ID", "Item Title", "Item ID", "Sales Tax", "Reference Txn ID", "Invoice Number",
    "Custom Number", "Quantity", "Balance", "Subject", "Note", "Country Code", "Balance Impact",
  ]

  static let german = PayPalActivityLanguage(
    code: "de",
    columns: table(
      english,
      [
        "Datum", "Uhrzeit", "Zeitzone", "Name", "Typ", "Status", "Währung", "Brutto", "Gebühr", "Netto",
        "Absender E-Mail-Adresse", "Empfänger E-Mail-Adresse", "Transaktionscode", "Artikelbezeichnung",
        "Artikelnummer",
        "Umsatzsteuer", "Zugehöriger Transaktionscode", "Rechnungsnummer", "Zollnummer", "Anzahl", "Guthaben",
        "Betreff",
        "Hinweis", "Ländervorwahl", "Auswirkung auf Guthaben",
      ]),
    statuses: words([
      ("Abgeschlossen", "Completed"), ("Ausstehend", "Pending"), ("Abgelehnt", "Denied"), ("Storniert", "Reversed"),
    ]),
    impacts: words([("Haben", "Credit"), ("Soll", "Debit"), ("Memo", "Memo")]),
    types: words([
      ("Abonnementzahlung", "Subscription Payment"), ("PayPal Express-Zahlung", "Express Checkout Payment"),
      ("Express-Checkout-Zahlung", "Express Checkout Payment"), ("Website-Zahlung", "Website Payment"),
      ("Handyzahlung", "Mobile Payment"), ("Allgemeine Zahlung", "General Payment"),
      ("Zahlung im Einzugsverfahren mit Zahlungsrechnung", "PreApproved Payment Bill User Payment"),
      ("Rückzahlung", "Payment Refund"), ("Zahlungsrückerstattung", "Payment Refund"), ("Rückbuchung", "Chargeback"),
    ]))

  static let french = PayPalActivityLanguage(
    code: "fr",
    columns: table(
      english,
      [
        "Date", "Heure", "Fuseau horaire", "Nom", "Type", "État", "Devise", "Avant commission", "Commission", "Net",
        "De l'adresse email", "À l'adresse email", "Numéro de transaction", "Titre de l'objet", "Numéro de l'objet",
        "TVA",
        "Numéro de la transaction de référence", "Numéro de facture", "Numéro client", "Quantité", "Solde", "Objet",
        "Remarque", "Code pays", "Impact sur le solde",
      ]),
    statuses: words([("Terminé", "Completed"), ("En attente", "Pending"), ("Refusé", "Denied"), ("Annulé", "Reversed")]
    ),
    impacts: words([("Crédit", "Credit"), ("Débit", "Debit"), ("Mémo", "Memo"), ("Memo", "Memo")]),
    types: words([
      ("Paiement d'abonnement", "Subscription Payment"), ("Paiement Express Checkout", "Express Checkout Payment"),
      ("Paiement sur site marchand", "Website Payment"), ("Paiement mobile", "Mobile Payment"),
      ("Paiement général", "General Payment"),
      ("Paiement préapprouvé de l'utilisateur de facture de paiement", "PreApproved Payment Bill User Payment"),
      ("Remboursement de paiement", "Payment Refund"), ("Rétrofacturation", "Chargeback"),
    ]))

  static let spanish = PayPalActivityLanguage(
    code: "es",
    columns: table(
      english,
      [
        "Fecha", "Hora", "Zona horaria", "Nombre", "Tipo", "Estado", "Divisa", "Bruto", "Tarifa", "Neto", "Remitente",
        "Destinatario", "Id. de transacción", "Título del artículo", "Número del artículo", "Impuesto sobre las ventas",
        "Id. de transacción de referencia", "Número de factura", "Número personalizado", "Cantidad", "Saldo", "Asunto",
        "Nota", "Código de país", "Impacto en el saldo",
      ]),
    statuses: words([
      ("Completado", "Completed"), ("Pendiente", "Pending"), ("Denegado", "Denied"), ("Revertido", "Reversed"),
    ]),
    impacts: words([("Crédito", "Credit"), ("Débito", "Debit"), ("Memo", "Memo")]),
    types: words([
      ("Pago de suscripción", "Subscription Payment"), ("Pago de Express Checkout", "Express Checkout Payment"),
      ("Pago en sitio web", "Website Payment"), ("Pago móvil", "Mobile Payment"), ("Pago general", "General Payment"),
      ("Pago", "General Payment"), ("Reembolso de pago", "Payment Refund"), ("Reembolso", "Payment Refund"),
      ("Contracargo", "Chargeback"),
    ]))

  static let italian = PayPalActivityLanguage(
    code: "it",
    columns: table(
      english,
      [
        "Data", "Orario", "Fuso orario", "Nome", "Tipo", "Stato", "Valuta", "Lordo", "Tariffa", "Netto",
        "Indirizzo email mittente", "Indirizzo email destinatario", "Codice transazione", "Titolo oggetto",
        "Codice articolo",
        "Imposte sulle vendite", "Codice transazione di riferimento", "N° ordine commerciante", "Numero personalizzato",
        "Quantità", "Saldo", "Oggetto", "Messaggio", "Prefisso internazionale", "Impatto sul saldo",
      ]),
    statuses: words([
      ("Completata", "Completed"), ("Completato", "Completed"), ("In sospeso", "Pending"), ("Negata", "Denied"),
    ]),
    impacts: words([("Accredito", "Credit"), ("Addebito", "Debit"), ("Memo", "Memo")]),
    types: words([
      ("Pagamento abbonamento", "Subscription Payment"), ("Pagamento Express Checkout", "Express Checkout Payment"),
      ("Pagamento sito web", "Website Payment"), ("Pagamento da cellulare", "Mobile Payment"),
      ("Pagamento generico", "General Payment"), ("Pagamento", "General Payment"),
      ("Pagamento preautorizzato utenza", "PreApproved Payment Bill User Payment"),
      ("Rimborso pagamento", "Payment Refund"), ("Storno", "Chargeback"),
    ]))

  static let dutch = PayPalActivityLanguage(
    code: "nl",
    // Dutch downloads keep several English names (`Reference Txn ID`, `Custom Number`, `Sales Tax`,
    // `Note`, `Item Title`; `Fee` in older files, `Kosten` in newer ones).
    columns: table(
      english,
      [
        "Datum", "Tijd", "Tijdzone", "Naam", "Type", "Status", "Valuta", "Bruto", "Kosten", "Net", "Van e-mailadres",
        "Naar e-mailadres", "Transactiereferentie", "Item Title", "Objectreferentie", "Sales Tax", "Reference Txn ID",
        "Factuurnummer", "Custom Number", "Hoeveelheid", "Saldo", "Onderwerp", "Note", "Landcode", "Effect op saldo",
      ], also: [("Fee", "Fee"), ("ArtikelNaam", "Item Title"), ("ArtikelNr", "Item ID")]),
    statuses: words([("Voltooid", "Completed"), ("In behandeling", "Pending"), ("Geweigerd", "Denied")]),
    impacts: words([("Bij", "Credit"), ("Af", "Debit"), ("Memo", "Memo")]),
    types: words([
      ("Abonnementsbetaling", "Subscription Payment"), ("Express Checkout betaling", "Express Checkout Payment"),
      ("Express Checkout-betaling", "Express Checkout Payment"),
      ("Websitebetaling", "Website Payment"), ("Mobiele betaling", "Mobile Payment"),
      ("Algemene betaling", "General Payment"),
      ("Terugbetaling", "Payment Refund"), ("Terugboeking", "Chargeback"),
    ]))

  static let polish = PayPalActivityLanguage(
    code: "pl",
    columns: table(
      english,
      [
        "Data", "Godzina", "Strefa czasowa", "Nazwa", "Typ", "Status", "Waluta", "Brutto", "Opłata", "Netto",
        "Z adresu e-mail", "Na adres e-mail", "Numer transakcji", "Nazwa przedmiotu", "Numer przedmiotu",
        "Podatek od sprzedaży", "Pomocniczy numer transakcji", "Numer faktury", "Numer niestandardowy", "Ilość",
        "Saldo",
        "Temat", "Uwaga", "Kod kraju", "Wpływ na saldo",
      ]),
    statuses: words([
      ("Zakończono", "Completed"), ("Zakończona", "Completed"), ("Oczekująca", "Pending"), ("Odrzucona", "Denied"),
    ]),
    impacts: words([("Uznanie", "Credit"), ("Obciążenie", "Debit"), ("Notatka", "Memo"), ("Memo", "Memo")]),
    types: words([
      ("Płatność za subskrypcję", "Subscription Payment"), ("Płatność Express Checkout", "Express Checkout Payment"),
      ("Płatność na stronie internetowej", "Website Payment"), ("Płatność mobilna", "Mobile Payment"),
      ("Płatność ogólna", "General Payment"), ("Zwrot płatności", "Payment Refund"),
      ("Obciążenie zwrotne", "Chargeback"),
    ]))

  static let portuguese = PayPalActivityLanguage(
    code: "pt",
    columns: table(
      english,
      [
        "Data", "Hora", "Fuso horário", "Nome", "Tipo", "Status", "Moeda", "Bruto", "Tarifa", "Líquido",
        "Endereço de e-mail do remetente", "Endereço de e-mail do destinatário", "Código da transação",
        "Título do item",
        "Código do item", "Imposto sobre vendas", "Código da transação de referência", "Número da fatura",
        "Número personalizado", "Quantidade", "Saldo", "Assunto", "Observação", "Código do país", "Impacto no saldo",
      ]),
    statuses: words([
      ("Concluída", "Completed"), ("Concluído", "Completed"), ("Pendente", "Pending"), ("Negada", "Denied"),
    ]),
    impacts: words([("Crédito", "Credit"), ("Débito", "Debit"), ("Memorando", "Memo"), ("Memo", "Memo")]),
    types: words([
      ("Pagamento de assinatura", "Subscription Payment"),
      ("Pagamento do Express Checkout", "Express Checkout Payment"),
      ("Pagamento no site", "Website Payment"), ("Pagamento móvel", "Mobile Payment"),
      ("Pagamento geral", "General Payment"),
      ("Reembolso de pagamento", "Payment Refund"), ("Estorno", "Chargeback"),
    ]))
}

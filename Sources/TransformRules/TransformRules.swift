// TransformRules: every mapping rule of the transform stage, as pure functions and value types.
// No pointers, threads, C shims, files or memory tricks here; the runner (module Transform) reads
// the lines, sorts, runs threads and calls these. Each rule's doc comment cites the ChartMogul or
// gateway documentation it follows (or docs/chartmogul.md / docs/docs/gateways where we chose).
//
// Where each rule lives:
//   Configuration   TransformConfig.swift    the `transform:` section (keys, defaults, validation)
//                   PlanSpec.swift           one `plan_mapping` entry → a ChartMogul plan
//                   Glob.swift               `test_emails` patterns
//   Staged lines    StagedRecord.swift       envelope, index vs payment kinds, reject keys, Stripe id aliases
//   Readers         PaymentReaders.swift     which reader reads each payment kind
//                   AppTransactionRow.swift  the app.transaction / app.refund columns read (AppField)
//                   AppMapping.swift         an app payment row → a payment (status, product type, refunds)
//                   StripeReaders.swift      Stripe API invoices/charges/refunds and payment/refund exports
//                   PayPalCashierReaders.swift  PayPal Transaction Search, Activity CSV, Cashier (API + CSV)
//                   ActivityFormat.swift     per-file date/decimal style of PayPal Activity exports
//                   IndexReaders.swift       app users and subscriptions, Stripe customers/subscriptions
//                                            (API + export), PayPal plans and subscriptions
//                   RecordAccess.swift, FieldProblem.swift  tolerant and strict field reads
//   People          Normalize.swift          e-mail, country, name comparison forms
//                   Identity.swift, AppUser.swift  a person as a record names them; an app user row
//                   CustomerIndex.swift      customer resolution, merge by e-mail, test data, dated facts
//                   CustomerFacts.swift      who pays (Payer) and what a payment says about its customer
//   Payments        RawPayment.swift, RawLine.swift  the common form every payment is read into
//                   ReadOutcome.swift        payment, indexed, skip or reject
//                   PaymentAliases.swift     Stripe invoice/charge/payment-intent ids → one payment
//                   FragmentBuilder.swift    one payment → invoice fragment: key, payer, money checks,
//                                            plan mapping, service periods, refunds
//                   MoneyCheck.swift, Rejected.swift  amount limits; a broken rule as a reject
//                   BuildTrackers.swift      plans used, last paid period per cancelled subscription
//                   Fragment.swift           what one record says about one invoice
//                   InvoiceAssembler.swift   several fragments of one payment → one invoice; refunds
//   Subscriptions   SubscriptionInfo.swift, SubscriptionIndex.swift
//                   Cancellations.swift      churn recognition (`churn_recognition: period_end|cancel_date`)
//                                            and the cancellation record — the one file to change it
//   Enrichment      Enrichment.swift         tags and custom attributes, missing-attribute rate
//
// Adding a reader: a kind in StagedRecord (indexKinds or paymentKinds), a reader function, and a
// case in PaymentReaders.read or IndexReaders.read; its tests go to Tests/TransformRulesTests.

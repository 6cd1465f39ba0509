// Validate: what the run achieved, checked against ChartMogul.
// - `ValidateStage` (validate.json): local MRR (`LocalMRR` over transform/ through RevenueCore's `MRREngine`)
//   against `/v1/metrics/mrr` month by month, with a customer drill-down.
// - `Monitoring`: per-run figures and threshold breaches for run.json / `status --json`.
// - `AlertSender` / `Alert`: Slack-compatible webhook messages (never fail the run).
// - `RunReport`: the self-contained report.html.

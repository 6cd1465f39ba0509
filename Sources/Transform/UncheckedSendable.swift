/// Carries a value the compiler cannot prove `Sendable` to the one other thread that uses it (the
/// reading thread of `ReadAheadLines`, which only calls it while the caller waits).
struct UncheckedSendable<V>: @unchecked Sendable {
  let value: V
  init(_ value: V) { self.value = value }
}

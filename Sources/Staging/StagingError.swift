/// A staging-layer failure: unreadable or inconsistent files. Says which file and what to do.
public struct StagingError: Error, Sendable, CustomStringConvertible {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

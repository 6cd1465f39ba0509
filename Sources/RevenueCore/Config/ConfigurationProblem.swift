/// A setting outside the pipeline file is wrong or missing (an environment variable, a credential
/// the server refused, a data source that does not exist). The CLI exits 2 with `message`, which says
/// what to set or check.
public protocol ConfigurationProblem: Error {
  var message: String { get }
}

/// A plain configuration problem with a message.
public struct ConfigurationError: ConfigurationProblem, CustomStringConvertible {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

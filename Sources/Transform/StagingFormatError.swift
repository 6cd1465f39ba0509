/// A scratch file of this stage (a sort run) is not in the form this stage wrote it.
struct StagingFormatError: Error, CustomStringConvertible {
  var description: String
  init(_ d: String) { description = d }
}

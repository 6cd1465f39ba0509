/// A value that could not be read: becomes a reject naming the field.
package struct FieldProblem: Error {
  package var code: String
  package var message: String
  package init(_ code: String, _ message: String) {
    self.code = code
    self.message = message
  }
}

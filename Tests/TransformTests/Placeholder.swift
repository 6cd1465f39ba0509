import Testing

@Test func placeholder_TransformTests() {}

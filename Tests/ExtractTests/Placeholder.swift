import Testing

@Test func placeholder_ExtractTests() {}

import Testing

@Test func placeholder_StagingTests() {}

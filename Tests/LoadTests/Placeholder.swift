import Testing

@Test func placeholder_LoadTests() {}

import Testing

@Test func placeholder_RevenueCoreTests() {}

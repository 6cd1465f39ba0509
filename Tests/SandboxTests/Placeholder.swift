import Testing

@Test func placeholder_SandboxTests() {}

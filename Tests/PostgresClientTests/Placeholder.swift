import Testing

@Test func placeholder_PostgresClientTests() {}

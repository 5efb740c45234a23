import Testing
@Test func a() { #expect(true) }

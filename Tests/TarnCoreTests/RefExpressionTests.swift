import Testing
import TarnCore

@Suite struct RefExpressionTests {
    @Test func parsesBaseAtSignAndChainedSteps() throws {
        let e = try RefExpression(parsing: "main~2^2~")
        #expect(e.base == "main" && !e.committedOnly)
        #expect(e.steps == [.ancestor(2), .parent(2), .ancestor(1)])
        let at = try RefExpression(parsing: "dev@")
        #expect(at.base == "dev" && at.committedOnly && at.steps.isEmpty && !at.isBare)
        #expect(try RefExpression(parsing: "v1.0^0").steps == [.parent(0)])
        #expect(try RefExpression(parsing: "main").isBare)
    }

    @Test(arguments: ["", "@", "~1", "a@b", "main@@", "a b", "x\u{7f}"])
    func rejectsMalformedExpressions(text: String) {
        #expect(throws: EngineError.self) { try RefExpression(parsing: text) }
    }
}

@Suite struct NameTests {
    @Test func branchNamesFollowLakeFSPattern() throws {
        for ok in ["main", "feature-1", "_x", "a_b-c", "9"] { try Names.validateBranch(ok) }
        for bad in ["", "-a", "a/b", "a.b", "a b", "ä"] {
            #expect(throws: EngineError.invalidName(kind: "branch", name: bad)) { try Names.validateBranch(bad) }
        }
    }

    @Test func tagNamesFollowGitRefRules() throws {
        for ok in ["v1.0", "release-2024", "a_b"] { try Names.validateTag(ok) }
        for bad in ["", "@", "a..b", "a/b", "a@{b", "x.", "x.lock", "a b", "a~1", "a^", "a:b"] {
            #expect(throws: EngineError.invalidName(kind: "tag", name: bad)) { try Names.validateTag(bad) }
        }
    }

    @Test func repositoryNamesFollowLakeFSPattern() throws {
        for ok in ["abc", "a-b-c", "0repo", String(repeating: "a", count: 63)] { try Names.validateRepository(ok) }
        for bad in ["ab", "-ab", "aBc", "a_b", String(repeating: "a", count: 64)] {
            #expect(throws: EngineError.invalidName(kind: "repository", name: bad)) { try Names.validateRepository(bad) }
        }
    }
}

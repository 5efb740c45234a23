import Foundation
import Testing
@testable import TarnActions
@testable import TarnCore

@Suite struct ActionFileTests {
    static let lakeFSExample = """
        name: Good files check
        description: Check data files
        on:
          pre-commit:
          pre-merge:
            branches: [main, "release-*"]
        hooks:
          - id: no_temp
            type: webhook
            description: checks for temp files
            properties:
              url: https://example.com/webhook
              timeout: 1m30s
              query_params:
                notify: [a, b]
                prefix: data/
              headers:
                Authorization: "Bearer {{ ENV.LAKEFSACTIONS_TOKEN }}"
          - id: cleanup
            type: exec
            if: failure()
            properties:
              command: /usr/local/bin/cleanup
              args: ["--all"]
        """

    @Test func aLakeFSActionFileParses() throws {
        let action = try Action.parse(Self.lakeFSExample, source: "a.yaml").get()
        #expect(action.name == "Good files check")
        #expect(action.on[.preCommit] == [])
        #expect(action.on[.preMerge] == ["main", "release-*"])
        #expect(action.hooks.map(\.id) == ["no_temp", "cleanup"])
        #expect(action.hooks[1].condition == .failure)
        #expect(HookProperties.timeout(action.hooks[0].properties) == .seconds(90))
        #expect(action.matches(.preCommit, branch: "anything"))
        #expect(action.matches(.preMerge, branch: "release-2"))
        #expect(!action.matches(.preMerge, branch: "dev"))
        #expect(!action.matches(.postMerge, branch: "main"))
    }

    @Test func problemsNameTheirLines() {
        let text = """
            name: ok name
            on:
              pre-tag:
              pre-create-tag:
                branches: [main]
            hooks:
              - id: x1
                type: webhook
                properties:
                  url: not a url
                  timeout: soon
              - id: x1
                type: exec
                properties:
                  command: relative/path
            extra: 1
            """
        guard case let .failure(errors) = Action.parse(text, source: "f.yaml") else {
            Issue.record("parsed a broken file")
            return
        }
        let found = errors.errors.map { "\($0.line ?? 0): \($0.message)" }
        for expected in ["3: event 'pre-tag' is not supported", "5: 'branches' is not supported on",
                         "10: hook 'x1': url must be an http", "11: hook 'x1': timeout must be a duration",
                         "12: hook 2: duplicate id 'x1'", "15: hook 'x1': command must be an absolute path",
                         "16: unknown key 'extra' (expected "] {
            #expect(found.contains { $0.hasPrefix(expected) }, "\(expected) not in \(found)")
        }
        #expect(found.count == 7)
    }

    @Test func yamlSyntaxErrorsAndMissingKeysAreReported() {
        guard case let .failure(e) = Action.parse("name: [unclosed\n", source: "s.yaml") else { Issue.record("parsed"); return }
        #expect(e.errors.first?.message.hasPrefix("not valid YAML") == true)
        guard case let .failure(m) = Action.parse("description: only\n", source: "m.yaml") else { Issue.record("parsed"); return }
        #expect(Set(m.errors.map(\.message)) == ["'name' is required", "'on' is required", "'hooks' is required"])
    }

    @Test func conditionsEvaluateLikeLakeFS() throws {
        #expect(try HookCondition("success()").evaluate(actionFailed: false))
        #expect(try !HookCondition("success()").evaluate(actionFailed: true))
        #expect(try HookCondition("failure()").evaluate(actionFailed: true))
        #expect(try HookCondition("true").evaluate(actionFailed: true))
        #expect(try HookCondition("!failure() && (true || false)").evaluate(actionFailed: false))
        #expect(try HookCondition("success() || failure()").evaluate(actionFailed: true))
        for bad in ["", "maybe()", "success() &&", "(true", "true false"] {
            #expect(throws: HookCondition.ParseError.self) { try HookCondition(bad) }
        }
    }

    @Test func goDurationsAndBranchGlobs() {
        #expect(GoDuration.parse("1m30s") == .seconds(90))
        #expect(GoDuration.parse("500ms") == .milliseconds(500))
        #expect(GoDuration.parse("2h") == .seconds(7200))
        #expect(GoDuration.parse("1.5s") == .milliseconds(1500))
        #expect(GoDuration.parse("10") == nil)
        #expect(GoDuration.parse("1d") == nil)
        #expect(PathGlob.matches("release-*", "release-1"))
        #expect(!PathGlob.matches("release-*", "release/1"))
        #expect(PathGlob.matches("v[0-9]", "v7"))
        #expect(!PathGlob.matches("v[^0-9]", "v7"))
        #expect(PathGlob.matches("ma?n", "main"))
    }

    @Test func secretsComeOnlyFromActionVariables() throws {
        let env = ["TARN_ACTIONS_TOKEN": "t", "LAKEFSACTIONS_KEY": "k", "AWS_SECRET_ACCESS_KEY": "no"]
        #expect(try SecretTemplate.expand("Bearer {{ ENV.TARN_ACTIONS_TOKEN }}/{{ENV.LAKEFSACTIONS_KEY}}", environment: env) == "Bearer t/k")
        #expect(throws: SecretTemplate.Missing.self) { try SecretTemplate.expand("{{ ENV.AWS_SECRET_ACCESS_KEY }}", environment: env) }
        #expect(throws: SecretTemplate.Missing.self) { try SecretTemplate.expand("{{ ENV.TARN_ACTIONS_NONE }}", environment: env) }
        #expect(try SecretTemplate.expand("{{ not env }}", environment: env) == "{{ not env }}")
    }

    @Test func execHooksRunOnlyAllowedProgramsAndGetTheEvent() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tarn-exec-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let script = dir.appendingPathComponent("check.sh").path
        try "#!/bin/sh\ncat\necho \"branch=$TARN_EVENT_BRANCH_ID type=$TARN_EVENT_TYPE secret=$TARN_ACTIONS_X aws=$AWS_SECRET_ACCESS_KEY\"\necho bad >&2\nexit 2\n"
            .write(toFile: script, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script)
        let file = """
            name: gate
            on:
              pre-merge:
            hooks:
              - id: check
                type: exec
                properties:
                  command: \(script)
            """
        let event = HookEvent(type: .preMerge, repository: "r", branch: "main", sourceRef: "abc", commitID: "def")
        let sources = [ActionSource(path: "_lakefs_actions/gate.yaml", bytes: Array(file.utf8))]
        let env = ["TARN_ACTIONS_X": "x", "AWS_SECRET_ACCESS_KEY": "hidden", "PATH": "/usr/bin:/bin"]

        let allowed = await ActionsService(execAllowList: [script], environment: env).run(event, sources: sources)
        #expect(allowed.run?.passed == false)
        #expect(allowed.failure?.contains("exited with status 2: bad") == true)
        let output = allowed.hooks.first?.output ?? ""
        #expect(output.contains("\"source_ref\":\"abc\""))
        #expect(output.contains("branch=main type=pre-merge secret=x aws=\n"))

        let refused = await ActionsService(execAllowList: ["/bin/true"], environment: env).run(event, sources: sources)
        #expect(refused.failure?.contains("is not on the server's exec allow-list") == true)
        let off = await ActionsService(execAllowList: [], environment: env).run(event, sources: sources)
        #expect(off.failure?.contains("exec hooks are disabled") == true)
        let other = await ActionsService(execAllowList: [script], environment: env)
            .run(HookEvent(type: .preCommit, repository: "r", branch: "main", sourceRef: "main"), sources: sources)
        #expect(other.run == nil)
    }
}

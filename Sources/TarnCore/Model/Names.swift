/// Naming rules shared with lakeFS, so names valid there are valid here and vice versa.
public enum Names {
    /// `^[a-z0-9][a-z0-9-]{2,62}$`
    public static func validateRepository(_ name: String) throws(EngineError) {
        let u = Array(name.utf8)
        func ok(_ c: UInt8, first: Bool) -> Bool {
            (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || (!first && c == 45)
        }
        guard u.count >= 3, u.count <= 63, ok(u[0], first: true), u.dropFirst().allSatisfy({ ok($0, first: false) })
        else { throw .invalidName(kind: "repository", name: name) }
    }

    /// `^\w[-\w]*$` (word characters are ASCII letters, digits and underscore, as in Go's regexp).
    public static func validateBranch(_ name: String) throws(EngineError) {
        let u = Array(name.utf8)
        guard let first = u.first, isWord(first), u.allSatisfy({ isWord($0) || $0 == 45 })
        else { throw .invalidName(kind: "branch", name: name) }
    }

    /// Git-ref-like: not empty, not `@`, no `..`, `/`, `@{`, control characters, space or any of
    /// `^:?*[\~`, and no trailing `.` or `.lock`.
    public static func validateTag(_ name: String) throws(EngineError) {
        let bad: Set<UInt8> = Set("^:?*[\\~/ ".utf8)
        let u = Array(name.utf8)
        guard !u.isEmpty, name != "@", !name.contains(".."), !name.contains("@{"),
              !name.hasSuffix("."), !name.hasSuffix(".lock"), !name.hasPrefix("-"),
              u.allSatisfy({ $0 > 31 && $0 != 127 && !bad.contains($0) })
        else { throw .invalidName(kind: "tag", name: name) }
    }


    static func isWord(_ c: UInt8) -> Bool {
        (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c == 95
    }
}

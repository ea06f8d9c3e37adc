// ExactString: a String compared and hashed by its exact Unicode scalars (UTF-8 bytes). Swift's String
// equality is canonical equivalence, so "e\u{301}" == "\u{e9}"; a vocabulary, like HF tokenizers, must
// keep such tokens apart.

public struct ExactString: Hashable, Sendable, Comparable {
    public let string: String

    public init(_ s: String) { string = s }

    public static func == (a: ExactString, b: ExactString) -> Bool { a.string.utf8.elementsEqual(b.string.utf8) }

    public static func < (a: ExactString, b: ExactString) -> Bool {
        a.string.utf8.lexicographicallyPrecedes(b.string.utf8)
    }

    public func hash(into h: inout Hasher) {
        var s = string
        s.withUTF8 { h.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}

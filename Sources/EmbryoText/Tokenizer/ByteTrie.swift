// ByteTrie: the vocabulary as a trie over UTF-8 bytes, edges in one open-addressing hash table, so
// WordPiece's greedy longest-match-first is a single walk from each piece's start (no substring hashing).

struct ByteTrie {
    private var keys: [UInt64]  // (node << 8 | byte) + 1, 0 = empty slot
    private var children: [Int32]
    private var mask: Int
    private(set) var terminal: [Int32] = [-1]  // token id ending at node, or -1
    private var edgeCount = 0

    init(capacity: Int = 1024) {
        var size = 1024
        while size < capacity * 2 { size <<= 1 }
        keys = Array(repeating: 0, count: size)
        children = Array(repeating: 0, count: size)
        mask = size - 1
    }

    static let root: Int32 = 0

    @inline(__always)
    private static func hash(_ k: UInt64) -> Int {
        var x = k &* 0x9E37_79B9_7F4A_7C15
        x ^= x >> 29
        return Int(truncatingIfNeeded: x)
    }

    /// The child of `node` along `byte`, or -1.
    @inline(__always)
    func child(_ node: Int32, _ byte: UInt8) -> Int32 {
        let k = (UInt64(node) << 8 | UInt64(byte)) &+ 1
        var i = ByteTrie.hash(k) & mask
        while true {
            let s = keys[i]
            if s == k { return children[i] }
            if s == 0 { return -1 }
            i = (i + 1) & mask
        }
    }

    mutating func insert<S: Sequence>(_ bytes: S, id: Int32) where S.Element == UInt8 {
        var node = ByteTrie.root
        for b in bytes {
            let c = child(node, b)
            if c >= 0 {
                node = c
                continue
            }
            let new = Int32(terminal.count)
            terminal.append(-1)
            addEdge(node, b, new)
            node = new
        }
        terminal[Int(node)] = id
    }

    private mutating func addEdge(_ node: Int32, _ byte: UInt8, _ to: Int32) {
        if (edgeCount + 1) * 2 > keys.count { grow() }
        let k = (UInt64(node) << 8 | UInt64(byte)) &+ 1
        var i = ByteTrie.hash(k) & mask
        while keys[i] != 0 { i = (i + 1) & mask }
        keys[i] = k
        children[i] = to
        edgeCount += 1
    }

    private mutating func grow() {
        let oldKeys = keys, oldChildren = children
        keys = Array(repeating: 0, count: oldKeys.count * 2)
        children = Array(repeating: 0, count: oldKeys.count * 2)
        mask = keys.count - 1
        for (i, k) in oldKeys.enumerated() where k != 0 {
            var j = ByteTrie.hash(k) & mask
            while keys[j] != 0 { j = (j + 1) & mask }
            keys[j] = k
            children[j] = oldChildren[i]
        }
    }
}

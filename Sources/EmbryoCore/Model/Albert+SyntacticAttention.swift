// The syntactic-attention regulariser of Chen et al. 2024 ("Sudden Drops in the Loss", section 3.3): lambda
// times the sum, over the gold arcs of a batch, of the largest attention weight (over layer applications
// and heads) from the dependent to its parent, plus the largest from the parent to the dependent. Lambda
// > 0 suppresses syntactic attention, < 0 promotes it. The max passes its gradient to its argmax, so the
// term's gradient is lambda at one entry of the attention probabilities per arc and direction; the
// attention backward adds it before the softmax's backward. Arcs join the first pieces of two words.

/// The entries of the attention probabilities that get the regulariser's gradient, per layer application
/// in blocks of one (sequence, head): `offsets[l * (B*NH + 1) + bh]` up to the next give the entries of
/// block bh of layer application l, `index` the position q*T + k inside the (T, T) block.
public final class AttentionGradientEntries {
    public let capacity: Int
    public let index: IntBuffer
    public let value: FloatBuffer
    public let offsets: IntBuffer
    /// Unsorted entries of the current batch: layer application, block, position.
    let rawLayer: IntBuffer, rawBlock: IntBuffer, rawIndex: IntBuffer
    public private(set) var count = 0
    /// Blocks per layer application of the current batch (B * NH).
    public private(set) var blocks = 0

    init(capacity: Int, layers: Int, maxBlocks: Int) {
        self.capacity = capacity
        index = IntBuffer(count: capacity)
        value = FloatBuffer(count: capacity)
        offsets = IntBuffer(count: layers * (maxBlocks + 1))
        rawLayer = IntBuffer(count: capacity)
        rawBlock = IntBuffer(count: capacity)
        rawIndex = IntBuffer(count: capacity)
    }

    /// Layer application l's view for the attention backward.
    public func layer(_ l: Int) -> AttentionGradientView {
        AttentionGradientView(
            index: UnsafePointer(index.pointer), value: UnsafePointer(value.pointer),
            offsets: UnsafePointer(offsets.pointer + l * (blocks + 1)))
    }

    /// Sorts the raw entries into blocks (a counting sort: the order inside a block is the arcs' order).
    func group(layers L: Int, blocks: Int, value v: Float) {
        self.blocks = blocks
        let o = offsets.pointer
        o.update(repeating: 0, count: L * (blocks + 1))
        for e in 0..<count { o[Int(rawLayer[e]) * (blocks + 1) + Int(rawBlock[e]) + 1] += 1 }
        for l in 0..<L {
            let base = l * (blocks + 1)
            if l > 0 { o[base] = o[base - 1] }
            for k in 0..<blocks { o[base + k + 1] += o[base + k] }
        }
        // fill, advancing a cursor per block (the offsets are restored afterwards)
        for e in 0..<count {
            let slot = Int(rawLayer[e]) * (blocks + 1) + Int(rawBlock[e])
            let at = Int(o[slot])
            index[at] = rawIndex[e]
            value[at] = v
            o[slot] += 1
        }
        for l in stride(from: L - 1, through: 0, by: -1) {
            let base = l * (blocks + 1)
            for k in stride(from: blocks, to: 0, by: -1) { o[base + k] = o[base + k - 1] }
            o[base] = l == 0 ? 0 : o[base - 1]
        }
    }

    func reset() { count = 0 }

    func append(layer: Int, block: Int, index i: Int) {
        rawLayer[count] = Int32(layer)
        rawBlock[count] = Int32(block)
        rawIndex[count] = Int32(i)
        count += 1
    }
}

/// One layer application's share of AttentionGradientEntries: offsets per (sequence, head) block.
public struct AttentionGradientView {
    public let index: UnsafePointer<Int32>
    public let value: UnsafePointer<Float>
    public let offsets: UnsafePointer<Int32>
}

/// The regulariser's value on a batch: the sum of the maxima (without lambda) and the arcs it covers.
public struct SyntacticAttentionTerm: Sendable, Equatable {
    public var sum = 0.0
    public var arcs = 0
    public init() {}
}

extension Albert {
    /// After the forward of `batch` into `a`: the regulariser's sum over the batch's gold arcs
    /// (`batch.goldHeads`), and, with `lambda` != 0, its gradient entries for the next backward.
    public func syntacticAttentionForward(_ a: Activations, _ batch: AlbertBatch, lambda: Float)
        -> SyntacticAttentionTerm
    {
        let B = a.B, T = a.T, NH = a.NH, L = a.L, block = T * T
        let g = a.attentionGradient()
        g.reset()
        var term = SyntacticAttentionTerm()
        for b in 0..<B {
            for i in 0..<T {
                let j = Int(batch.goldHeads[b * T + i])
                guard j >= 0 && j < T && j != i else { continue }
                term.arcs += 1
                for direction in 0..<2 {
                    let (q, k) = direction == 0 ? (i, j) : (j, i)
                    var best = -Float.infinity, bestLayer = 0, bestHead = 0
                    for l in 0..<L {
                        let p = a.attention(l) + b * NH * block + q * T + k
                        for h in 0..<NH where p[h * block] > best {
                            best = p[h * block]
                            (bestLayer, bestHead) = (l, h)
                        }
                    }
                    term.sum += Double(best)
                    g.append(layer: bestLayer, block: b * NH + bestHead, index: q * T + k)
                }
            }
        }
        g.group(layers: L, blocks: B * NH, value: lambda)
        a.attentionGradientActive = lambda != 0 && g.count > 0
        return term
    }
}

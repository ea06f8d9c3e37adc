// Activations: every buffer one forward/backward pass needs, allocated once for (B, T) and a maximum
// number of MLM predictions P. Layer applications keep their own activations (ALBERT shares weights,
// not activations); gradient scratch is one layer deep and reused.

public final class AlbertBatch {
    public let B: Int, T: Int
    public let ids: IntBuffer  // (B, T)
    public let tokenTypes: IntBuffer  // (B, T)
    public let attentionMask: FloatBuffer  // (B, T) 1 = attend, 0 = padding
    public let mlmLabels: IntBuffer  // (B, T) target id, or -100 (any negative) = not predicted
    public let sopLabels: IntBuffer  // (B) 0 = in order, 1 = swapped
    /// (B, T) the position of the token's gold syntactic head in its row, or -1 (no arc): the arcs of the
    /// syntactic-attention regulariser.
    public let goldHeads: IntBuffer

    public init(B: Int, T: Int) {
        self.B = B
        self.T = T
        ids = IntBuffer(count: B * T)
        tokenTypes = IntBuffer(count: B * T)
        attentionMask = FloatBuffer(count: B * T)
        mlmLabels = IntBuffer(count: B * T)
        sopLabels = IntBuffer(count: B)
        goldHeads = IntBuffer(count: B * T)
        for i in 0..<(B * T) {
            attentionMask[i] = 1
            mlmLabels[i] = -100
            goldHeads[i] = -1
        }
    }
}

public final class Activations {
    /// The current batch shape: set at init, and by `reshape` within the capacity.
    public private(set) var B: Int, T: Int
    public let L: Int, E: Int, H: Int, NH: Int, I: Int, V: Int
    /// The shapes the buffers hold: any (B, T) with B*T <= capacityTokens, T <= capacityT and
    /// B <= capacityB fits.
    public let capacityTokens: Int, capacityT: Int, capacityB: Int
    /// Capacity for labelled MLM positions per batch.
    public let maxPredictions: Int
    /// Rows per chunk of the full-sequence logits path.
    public let headChunk: Int
    private var owned: [FloatBuffer] = []

    // forward
    public let embSum, embOut, embMean, embRstd: UnsafeMutablePointer<Float>  // (BT, E) x2, (BT) x2
    public let hidden: UnsafeMutablePointer<Float>  // (L+1, BT, H): 0 = after the E->H projection
    public let qkv: UnsafeMutablePointer<Float>  // (L, BT, 3H)
    public let probs: UnsafeMutablePointer<Float>  // (L, B, NH, T, T)
    public let ctx, attnRes, attnOut: UnsafeMutablePointer<Float>  // (L, BT, H)
    public let attnMean, attnRstd, ffnMean, ffnRstd: UnsafeMutablePointer<Float>  // (L, BT)
    public let ffnPre, ffnAct: UnsafeMutablePointer<Float>  // (L, BT, I)
    public let ffnRes: UnsafeMutablePointer<Float>  // (L, BT, H)
    // MLM head on labelled positions
    public let positions: IntBuffer  // (P) flat index b*T+t
    public let labels: IntBuffer  // (P)
    public let mlmPredicted: IntBuffer  // (P): the top prediction at each labelled position
    public private(set) var predictionCount = 0
    public let mlmIn: UnsafeMutablePointer<Float>  // (P, H)
    public let mlmDense, mlmAct: UnsafeMutablePointer<Float>  // (P, E)
    public let mlmOut: UnsafeMutablePointer<Float>  // (P, E+1): last column 1, the decoder bias's input
    public let mlmMean, mlmRstd, mlmLosses, mlmCorrect: UnsafeMutablePointer<Float>  // (P)
    public let logits: UnsafeMutablePointer<Float>  // (P, V)
    // SOP head
    public let pooledPre, pooled: UnsafeMutablePointer<Float>  // (B, H)
    public let sopLogits, dsopLogits: UnsafeMutablePointer<Float>  // (B, 2)
    public let sopLosses, sopCorrect: UnsafeMutablePointer<Float>  // (B)
    // backward scratch
    public let dlogits: UnsafeMutablePointer<Float>  // (P, V)
    public let dmlmOut, dmlmAct: UnsafeMutablePointer<Float>  // (P, E)
    public let dmlmIn: UnsafeMutablePointer<Float>  // (P, H)
    public let dpooled, dpooledPre: UnsafeMutablePointer<Float>  // (B, H)
    public let dh, dx, dres: UnsafeMutablePointer<Float>  // (BT, H)
    public let dctx: UnsafeMutablePointer<Float>  // (BT, H)
    public let dffn: UnsafeMutablePointer<Float>  // (BT, I)
    public let dqkv: UnsafeMutablePointer<Float>  // (BT, 3H)
    public let dprobs: UnsafeMutablePointer<Float>  // (B, NH, T, T)
    public let dembOut, dembSum: UnsafeMutablePointer<Float>  // (BT, E)
    // full-sequence logits path, chunked
    public let chunkDense, chunkAct: UnsafeMutablePointer<Float>  // (chunk, E)
    public let chunkOut: UnsafeMutablePointer<Float>  // (chunk, E+1)
    /// The tied decoder with its bias as an extra column, (V, E+1): logits come from one beta-0 sgemm.
    public let decoder: UnsafeMutablePointer<Float>
    public let chunkMean, chunkRstd: UnsafeMutablePointer<Float>  // (chunk)

    public private(set) var floatCount = 0
    /// The syntactic-attention regulariser's gradient entries (made on first use) and whether the next
    /// backward adds them.
    private var gradientEntries: AttentionGradientEntries?
    public var attentionGradientActive = false

    func attentionGradient() -> AttentionGradientEntries {
        if let g = gradientEntries { return g }
        let g = AttentionGradientEntries(capacity: 2 * capacityTokens, layers: L, maxBlocks: capacityB * NH)
        gradientEntries = g
        return g
    }

    /// The entries of the last syntactic-attention forward, when the next backward adds them.
    public var activeAttentionGradient: AttentionGradientEntries? {
        attentionGradientActive ? gradientEntries : nil
    }

    /// `maxTokens` and `maxSequences` reserve room for up to that many positions and sequences, for
    /// `reshape` to other shapes (more, shorter sequences).
    public init(
        config c: AlbertConfig, B: Int, T: Int, maxPredictions: Int? = nil, training: Bool = true,
        maxSequences: Int? = nil, maxTokens: Int? = nil
    ) {
        self.B = B
        self.T = T
        L = c.numHiddenLayers
        E = c.embeddingSize
        H = c.hiddenSize
        NH = c.numAttentionHeads
        I = c.intermediateSize
        V = c.vocabSize
        let BT = max(B * T, maxTokens ?? 0)
        capacityTokens = BT
        capacityT = T
        let SB = max(B, maxSequences ?? B)
        capacityB = SB
        let P = max(1, maxPredictions ?? BT)
        self.maxPredictions = P
        headChunk = min(BT, 1024)
        var owned: [FloatBuffer] = []
        var total = 0
        func buf(_ n: Int) -> UnsafeMutablePointer<Float> {
            let b = FloatBuffer(count: n)
            owned.append(b)
            total += n
            return b.pointer
        }
        // backward scratch is sized 1 when only inference is wanted
        func gbuf(_ n: Int) -> UnsafeMutablePointer<Float> { buf(training ? n : 1) }
        embSum = buf(BT * E); embOut = buf(BT * E); embMean = buf(BT); embRstd = buf(BT)
        hidden = buf((L + 1) * BT * H)
        qkv = buf(L * BT * 3 * H)
        probs = buf(L * NH * BT * T)
        ctx = buf(L * BT * H); attnRes = buf(L * BT * H); attnOut = buf(L * BT * H)
        attnMean = buf(L * BT); attnRstd = buf(L * BT); ffnMean = buf(L * BT); ffnRstd = buf(L * BT)
        ffnPre = buf(L * BT * I); ffnAct = buf(L * BT * I); ffnRes = buf(L * BT * H)
        positions = IntBuffer(count: P)
        labels = IntBuffer(count: P)
        mlmPredicted = IntBuffer(count: P)
        mlmIn = buf(P * H); mlmDense = buf(P * E); mlmAct = buf(P * E); mlmOut = buf(P * (E + 1))
        mlmMean = buf(P); mlmRstd = buf(P); mlmLosses = buf(P); mlmCorrect = buf(P)
        logits = buf(P * V)
        pooledPre = buf(SB * H); pooled = buf(SB * H)
        sopLogits = buf(SB * 2); dsopLogits = buf(SB * 2); sopLosses = buf(SB); sopCorrect = buf(SB)
        dlogits = gbuf(P * V); dmlmOut = gbuf(P * E); dmlmAct = gbuf(P * E); dmlmIn = gbuf(P * H)
        dpooled = gbuf(SB * H); dpooledPre = gbuf(SB * H)
        dh = gbuf(BT * H); dx = gbuf(BT * H); dres = gbuf(BT * H); dctx = gbuf(BT * H)
        dffn = gbuf(BT * I); dqkv = gbuf(BT * 3 * H); dprobs = gbuf(NH * BT * T)
        dembOut = gbuf(BT * E); dembSum = gbuf(BT * E)
        chunkDense = buf(headChunk * E); chunkAct = buf(headChunk * E); chunkOut = buf(headChunk * (E + 1))
        decoder = buf(V * (E + 1))
        for r in 0..<P { mlmOut[r * (E + 1) + E] = 1 }
        for r in 0..<headChunk { chunkOut[r * (E + 1) + E] = 1 }
        chunkMean = buf(headChunk); chunkRstd = buf(headChunk)
        self.owned = owned
        floatCount = total
    }

    /// Uses the buffers for a batch of shape (B, T) within the capacity (every buffer, including the
    /// attention probabilities B*NH*T*T, then fits), so that batches of varying shapes share one allocation.
    public func reshape(B: Int, T: Int) throws {
        guard B >= 1, T >= 1, B * T <= capacityTokens, T <= capacityT, B <= capacityB else {
            throw EmbryoError.runtime(
                "batch shape \(B)x\(T) exceeds the activations' capacity (\(capacityTokens) tokens, length "
                    + "\(capacityT), \(capacityB) sequences)")
        }
        self.B = B
        self.T = T
    }

    /// Output of layer application l (0 = embedding projection, L = last layer): (B, T, H).
    public func hiddenState(_ l: Int) -> UnsafeMutablePointer<Float> { hidden + l * B * T * H }

    /// Attention probabilities of layer application l (0-based), (B, NH, T, T): query rows, key columns.
    public func attention(_ l: Int) -> UnsafeMutablePointer<Float> { probs + l * B * NH * T * T }

    /// Collects the labelled positions of `batch` (label >= 0) in row-major order.
    func gatherPredictions(_ batch: AlbertBatch) throws {
        var n = 0
        for i in 0..<(B * T) where batch.mlmLabels[i] >= 0 {
            if batch.mlmLabels[i] >= Int32(V) {
                throw EmbryoError.runtime(
                    "MLM label \(batch.mlmLabels[i]) at position \(i) is outside the vocabulary (\(V))")
            }
            guard n < maxPredictions else {
                throw EmbryoError.runtime("batch has more than \(maxPredictions) MLM labels (the activation capacity)")
            }
            positions[n] = Int32(i)
            labels[n] = batch.mlmLabels[i]
            n += 1
        }
        predictionCount = n
    }
}

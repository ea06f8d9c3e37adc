// ALBERT's input embeddings: word[id] + position[t] + tokenType[tt], before the embedding LayerNorm.
// Backward scatters into the three tables; the padding id gets no gradient from the lookup, as
// nn.Embedding(padding_idx=pad) behaves in HF (it still gets gradient through the tied MLM decoder).

@inline(__always)
public func embeddingForward(
    out: UnsafeMutablePointer<Float>, ids: UnsafePointer<Int32>, tokenTypes: UnsafePointer<Int32>,
    word: UnsafePointer<Float>, position: UnsafePointer<Float>, tokenType: UnsafePointer<Float>,
    B: Int, T: Int, E: Int
) {
    parallelFor(B * T, grain: 64) { lo, hi in
        for bt in lo..<hi {
            let t = bt % T
            let w = word + Int(ids[bt]) * E, p = position + t * E, y = tokenType + Int(tokenTypes[bt]) * E
            let o = out + bt * E
            for i in 0..<E { o[i] = w[i] + p[i] + y[i] }
        }
    }
}

@inline(__always)
public func embeddingBackward(
    dword: UnsafeMutablePointer<Float>, dposition: UnsafeMutablePointer<Float>, dtokenType: UnsafeMutablePointer<Float>,
    dout: UnsafePointer<Float>, ids: UnsafePointer<Int32>, tokenTypes: UnsafePointer<Int32>,
    B: Int, T: Int, E: Int, padId: Int32
) {
    // serial over tokens: rows repeat across the batch, and one fixed order keeps the sums reproducible
    for bt in 0..<(B * T) {
        let g = dout + bt * E
        let t = bt % T
        let p = dposition + t * E, y = dtokenType + Int(tokenTypes[bt]) * E
        for i in 0..<E {
            p[i] += g[i]
            y[i] += g[i]
        }
        if ids[bt] != padId {
            let w = dword + Int(ids[bt]) * E
            for i in 0..<E { w[i] += g[i] }
        }
    }
}

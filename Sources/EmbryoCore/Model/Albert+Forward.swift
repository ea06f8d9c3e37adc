// Forward pass of AlbertForPreTraining (transformers' modeling_albert.py, eval mode): embeddings with
// LayerNorm, the E->H projection, L post-LN layer applications, then the MLM head (dense H->E,
// gelu_new, LayerNorm, decoder tied to the word embeddings, own bias) and the SOP head (tanh pooler on
// [CLS], 2-way classifier). Training computes MLM logits only at labelled positions. BertForPreTraining
// (modeling_bert.py) is the same pass without the projection, with unshared layers, the exact GELU and
// its next-sentence head in the SOP head's place.

extension Albert {
    /// Embeddings and every layer application; fills a.hidden (0...L).
    public func encode(_ a: Activations, _ batch: AlbertBatch) throws {
        let c = config, p = params.pointer, o = layout
        let B = a.B, T = a.T, BT = B * T, E = a.E, H = a.H
        guard batch.B == B, batch.T == T else {
            throw EmbryoError.runtime("batch shape \(batch.B)x\(batch.T) != activations \(B)x\(T)")
        }
        guard T <= c.maxPositionEmbeddings else {
            throw EmbryoError.runtime("sequence length \(T) exceeds max_position_embeddings \(c.maxPositionEmbeddings)")
        }
        for i in 0..<BT {
            guard batch.ids[i] >= 0, Int(batch.ids[i]) < c.vocabSize else {
                throw EmbryoError.runtime(
                    "token id \(batch.ids[i]) at position \(i) is outside the vocabulary (\(c.vocabSize))")
            }
            guard batch.tokenTypes[i] >= 0, Int(batch.tokenTypes[i]) < c.typeVocabSize else {
                throw EmbryoError.runtime(
                    "token type \(batch.tokenTypes[i]) at position \(i) is outside 0..<\(c.typeVocabSize)")
            }
            guard batch.attentionMask[i] == 0 || batch.attentionMask[i] == 1 else {
                throw EmbryoError.runtime(
                    "attention mask value \(batch.attentionMask[i]) at position \(i) is not 0 or 1")
            }
        }
        let eps = Float(c.layerNormEps)
        Profiler.span(.embedding) {
            embeddingForward(
                out: a.embSum, ids: batch.ids.pointer, tokenTypes: batch.tokenTypes.pointer,
                word: p + o.wordEmbeddings, position: p + o.positionEmbeddings,
                tokenType: p + o.tokenTypeEmbeddings, B: B, T: T, E: E)
        }
        Profiler.span(.embeddingLayerNorm) {
            layerNormForward(
                out: a.embOut, mean: a.embMean, rstd: a.embRstd, inp: a.embSum, weight: p + o.embLnWeight,
                bias: p + o.embLnBias, rows: BT, dim: E, eps: eps)
        }
        if o.hasProjection {
            Profiler.span(.projection, flops: 2 * Double(BT * E * H)) {
                linearForward(
                    out: a.hidden, inp: a.embOut, weight: p + o.mapWeight, bias: p + o.mapBias, rows: BT, inDim: E,
                    outDim: H)
            }
        } else {
            a.hidden.update(from: a.embOut, count: BT * H)  // BERT: the embeddings are the first layer's input
        }
        runLayers(a, batch, from: 0)
    }

    /// Layer applications `first`..<L from a.hiddenState(first) (which a caller may have replaced).
    public func runLayers(_ a: Activations, _ batch: AlbertBatch, from first: Int) {
        let c = config, p = params.pointer, o = layout
        let B = a.B, T = a.T, BT = B * T, H = a.H, I = a.I
        let eps = Float(c.layerNormEps)
        let perRow = 2 * Double(BT)  // FLOPs of a linear layer per weight
        for l in first..<c.numHiddenLayers {
            let g = o.groups[c.group(ofLayer: l)]
            let x = a.hiddenState(l)
            let qkv = a.qkv + l * BT * 3 * H, ctx = a.ctx + l * BT * H
            let attnRes = a.attnRes + l * BT * H, attnOut = a.attnOut + l * BT * H
            let ffnPre = a.ffnPre + l * BT * I, ffnAct = a.ffnAct + l * BT * I, ffnRes = a.ffnRes + l * BT * H
            Profiler.span(.qkv, flops: perRow * Double(H * 3 * H)) {
                linearForward(
                    out: qkv, inp: x, weight: p + g.qkvWeight, bias: p + g.qkvBias, rows: BT, inDim: H,
                    outDim: 3 * H)
            }
            Profiler.span(.attentionProducts, flops: 4 * Double(BT * T * H)) {
                attentionForward(
                    ctx: ctx, probs: a.probs + l * B * a.NH * T * T, qkv: qkv,
                    keyMask: batch.attentionMask.pointer, B: B, T: T, H: H, NH: a.NH,
                    neighbourBias: l == 0 ? attentionNudge : 0)
            }
            Profiler.span(.attentionDense, flops: perRow * Double(H * H)) {
                linearForward(
                    out: attnRes, inp: ctx, weight: p + g.attnDenseWeight, bias: p + g.attnDenseBias, residual: x,
                    rows: BT, inDim: H, outDim: H)
            }
            Profiler.span(.layerNorm) {
                layerNormForward(
                    out: attnOut, mean: a.attnMean + l * BT, rstd: a.attnRstd + l * BT, inp: attnRes,
                    weight: p + g.attnLnWeight, bias: p + g.attnLnBias, rows: BT, dim: H, eps: eps)
            }
            Profiler.span(.ffnIn, flops: perRow * Double(H * I)) {
                linearForward(
                    out: ffnPre, inp: attnOut, weight: p + g.ffnWeight, bias: p + g.ffnBias, rows: BT, inDim: H,
                    outDim: I)
            }
            Profiler.span(.gelu) { activationForward(c.activation, out: ffnAct, inp: ffnPre, count: BT * I) }
            Profiler.span(.ffnOut, flops: perRow * Double(H * I)) {
                linearForward(
                    out: ffnRes, inp: ffnAct, weight: p + g.ffnOutWeight, bias: p + g.ffnOutBias,
                    residual: attnOut, rows: BT, inDim: I, outDim: H)
            }
            Profiler.span(.layerNorm) {
                layerNormForward(
                    out: a.hiddenState(l + 1), mean: a.ffnMean + l * BT, rstd: a.ffnRstd + l * BT, inp: ffnRes,
                    weight: p + g.ffnLnWeight, bias: p + g.ffnLnBias, rows: BT, dim: H, eps: eps)
            }
        }
    }

    /// Pooler and SOP logits from the last hidden state's [CLS] rows: fills a.pooled and a.sopLogits.
    public func sopHeadForward(_ a: Activations) {
        let B = a.B, H = a.H
        Profiler.span(.sopHead, flops: 2 * Double(B * H * (H + 2))) { sopHeadRows(a) }
    }

    private func sopHeadRows(_ a: Activations) {
        let p = params.pointer, o = layout, B = a.B, H = a.H
        linearForward(
            out: a.pooledPre, inp: a.hiddenState(config.numHiddenLayers), weight: p + o.poolerWeight,
            bias: p + o.poolerBias, rows: B, inDim: H, outDim: H, ldInp: a.T * H)
        tanhForward(out: a.pooled, inp: a.pooledPre, count: B * H)
        linearForward(
            out: a.sopLogits, inp: a.pooled, weight: p + o.sopWeight, bias: p + o.sopBias, rows: B, inDim: H, outDim: 2)
    }

    /// MLM head rows: dense -> GELU -> LayerNorm -> tied decoder, for `rows` gathered hidden vectors.
    /// `out` is (rows, E+1) with a last column of ones that meets the bias column of `a.decoder`.
    func mlmHeadForward(
        _ a: Activations, logits: UnsafeMutablePointer<Float>, dense: UnsafeMutablePointer<Float>,
        act: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
        rstd: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, rows: Int
    ) {
        let p = params.pointer, o = layout, E = config.embeddingSize, H = config.hiddenSize, V = config.vocabSize
        Profiler.span(.mlmDense, flops: 2 * Double(rows * H * E)) {
            linearForward(
                out: dense, inp: inp, weight: p + o.mlmDenseWeight, bias: p + o.mlmDenseBias, rows: rows, inDim: H,
                outDim: E)
        }
        Profiler.span(.mlmHeadNorm) {
            activationForward(config.activation, out: act, inp: dense, count: rows * E)
            layerNormForward(
                out: out, mean: mean, rstd: rstd, inp: act, weight: p + o.mlmLnWeight, bias: p + o.mlmLnBias,
                rows: rows, dim: E, eps: Float(config.layerNormEps), ldOut: E + 1)
        }
        Profiler.span(.mlmDecoder, flops: 2 * Double(rows * (E + 1) * V)) {
            gemm(
                transA: false, transB: true, M: rows, N: V, K: E + 1, A: out, lda: E + 1, B: a.decoder, ldb: E + 1,
                beta: 0, C: logits, ldc: V)
        }
    }

    /// Copies the word embeddings and the MLM bias into a.decoder (V, E+1) for the current parameters.
    func prepareDecoder(_ a: Activations) {
        let p = params.pointer, E = config.embeddingSize
        let word = p + layout.wordEmbeddings, bias = p + layout.mlmBias
        Profiler.span(.mlmDecoder) {
            parallelFor(config.vocabSize, grain: 1024) { lo, hi in
                for v in lo..<hi {
                    (a.decoder + v * (E + 1)).update(from: word + v * E, count: E)
                    a.decoder[v * (E + 1) + E] = bias[v]
                }
            }
        }
    }

    /// The pretraining forward pass: encoder, MLM logits at labelled positions, SOP logits, and both losses.
    /// With `gradients` it also leaves dlogits for `backward` (losses are means, as HF's, so d/dlogit has 1/count).
    /// `denominators` replaces the counts the gradients are divided by, when this batch is one shard of a
    /// larger one (the reported losses stay this batch's own means).
    @discardableResult
    public func forward(
        _ a: Activations, _ batch: AlbertBatch, gradients: Bool = true, encoded: Bool = false,
        denominators: (mlm: Int, sop: Int)? = nil
    ) throws -> PretrainingOutput {
        a.attentionGradientActive = false  // set again by syntacticAttentionForward, for this batch only
        if !encoded { try encode(a, batch) }
        try a.gatherPredictions(batch)
        let P = a.predictionCount, H = a.H, V = a.V, B = a.B
        let last = a.hiddenState(config.numHiddenLayers)
        Profiler.span(.mlmGather) {
            for k in 0..<P { (a.mlmIn + k * H).update(from: last + Int(a.positions[k]) * H, count: H) }
        }
        var out = PretrainingOutput()
        if P > 0 {
            prepareDecoder(a)
            mlmHeadForward(
                a, logits: a.logits, dense: a.mlmDense, act: a.mlmAct, out: a.mlmOut, mean: a.mlmMean,
                rstd: a.mlmRstd, inp: a.mlmIn, rows: P)
            Profiler.span(.crossEntropy) {
                crossEntropyForwardBackward(
                    losses: a.mlmLosses, dlogits: gradients ? a.dlogits : nil, correct: a.mlmCorrect,
                    logits: a.logits, labels: a.labels.pointer, rows: P, classes: V,
                    scale: 1 / Float(denominators?.mlm ?? P), predicted: a.mlmPredicted.pointer)
            }
            var s: Double = 0, right = 0
            for k in 0..<P { s += Double(a.mlmLosses[k]); right += a.mlmCorrect[k] > 0 ? 1 : 0 }
            out.mlmLoss = Float(s / Double(P))
            out.mlmCorrect = right
            out.mlmCount = P
        }
        sopHeadForward(a)
        var sopCount = 0
        for b in 0..<B where batch.sopLabels[b] >= 0 {
            guard batch.sopLabels[b] < 2 else {
                throw EmbryoError.runtime("SOP label \(batch.sopLabels[b]) is not 0 or 1")
            }
            sopCount += 1
        }
        if sopCount > 0 {
            crossEntropyForwardBackward(
                losses: a.sopLosses, dlogits: gradients ? a.dsopLogits : nil, correct: a.sopCorrect,
                logits: a.sopLogits, labels: batch.sopLabels.pointer, rows: B, classes: 2,
                scale: 1 / Float(denominators?.sop ?? sopCount))
            var s: Double = 0, right = 0
            for b in 0..<B where batch.sopLabels[b] >= 0 {
                s += Double(a.sopLosses[b]); right += a.sopCorrect[b] > 0 ? 1 : 0
            }
            out.sopLoss = Float(s / Double(sopCount))
            out.sopCorrect = right
            out.sopCount = sopCount
        } else if gradients {
            a.dsopLogits.update(repeating: 0, count: B * 2)
        }
        out.loss = out.mlmLoss + out.sopLoss
        return out
    }

    /// The MLM head's loss, correctness and top prediction for `rows` hidden vectors (rows, H) against
    /// `labels`, e.g. an earlier layer's at masked positions (a logit lens). The logits are never kept whole:
    /// the rows go through in blocks of 32 (the same blocks for any thread count, so results do not depend
    /// on it), each thread taking a contiguous run of blocks, so the logits stay in cache. Values equal the
    /// pretraining forward's scoring of the same rows; `a` lends its decoder.
    public func headScores(
        _ a: Activations, hidden: UnsafePointer<Float>, labels: UnsafePointer<Int32>, rows: Int,
        losses: UnsafeMutablePointer<Float>, correct: UnsafeMutablePointer<Float>,
        predicted: UnsafeMutablePointer<Int32>
    ) {
        guard rows > 0 else { return }
        let H = a.H, E = a.E, V = a.V, block = 32
        prepareDecoder(a)
        let blocks = (rows + block - 1) / block
        let threads = max(1, min(Threads.count, blocks))
        // per thread: dense, act (block, E), out (block, E+1), mean, rstd (block), logits (block, V)
        let stride = block * (3 * E + 3 + V)
        let work = FloatBuffer(count: threads * stride)
        parallelFor(threads, threads: threads) { lo, hi in
            for t in lo..<hi {
                let base = work.pointer + t * stride
                let dense = base, act = dense + block * E, out = act + block * E
                let mean = out + block * (E + 1), rstd = mean + block, logits = rstd + block
                for r in 0..<block { out[r * (E + 1) + E] = 1 }
                Threads.serially {
                    for b in (blocks * t / threads)..<(blocks * (t + 1) / threads) {
                        let r = b * block, n = min(block, rows - r)
                        mlmHeadForward(
                            a, logits: logits, dense: dense, act: act, out: out, mean: mean, rstd: rstd,
                            inp: hidden + r * H, rows: n)
                        crossEntropyForwardBackward(
                            losses: losses + r, dlogits: nil, correct: correct + r, logits: logits,
                            labels: labels + r, rows: n, classes: V, scale: 1, predicted: predicted + r)
                    }
                }
            }
        }
    }

    /// MLM logits at every position of the last forward's hidden state, written to `out` (B*T, V).
    /// Runs the head in chunks so only the logits themselves scale with the vocabulary.
    public func predictionLogits(_ a: Activations, out: UnsafeMutablePointer<Float>) {
        headLogits(a, hidden: a.hiddenState(config.numHiddenLayers), rows: a.B * a.T, out: out)
    }

    /// The MLM head on any `rows` hidden vectors (rows, H), e.g. an earlier layer's (a logit lens), written to
    /// `out` (rows, V); `a` lends its decoder and chunk buffers.
    public func headLogits(
        _ a: Activations, hidden: UnsafePointer<Float>, rows: Int, out: UnsafeMutablePointer<Float>
    ) {
        let H = a.H, V = a.V
        prepareDecoder(a)
        var r = 0
        while r < rows {
            let n = min(a.headChunk, rows - r)
            mlmHeadForward(
                a, logits: out + r * V, dense: a.chunkDense, act: a.chunkAct, out: a.chunkOut, mean: a.chunkMean,
                rstd: a.chunkRstd, inp: hidden + r * H, rows: n)
            r += n
        }
    }
}

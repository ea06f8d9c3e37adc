// Backward pass of AlbertForPreTraining, the forward's kernel calls in mirror order. Every parameter
// gradient accumulates (grads are zeroed once per step), so a shared layer group collects gradient
// from all its applications with no special code, and the tied decoder adds into the word embeddings.

extension Albert {
    /// Gradients of (MLM loss + SOP loss) for the batch of the last `forward(gradients: true)`.
    /// With `stopAtLayer` > 0 the pass ends at that layer's input and returns dLoss/d(hiddenState(stopAtLayer))
    /// (B*T, H); otherwise it runs to the embeddings and returns nil. Gradients accumulate into `target`
    /// (a buffer of the same layout), or into `grads`.
    @discardableResult
    public func backward(_ a: Activations, _ batch: AlbertBatch, stopAtLayer: Int = 0, into target: FloatBuffer? = nil)
        -> UnsafeMutablePointer<Float>?
    {
        let c = config, p = params.pointer, gr = (target ?? grads).pointer, o = layout
        let B = a.B, T = a.T, BT = B * T, E = a.E, H = a.H, V = a.V, P = a.predictionCount
        let last = a.hiddenState(c.numHiddenLayers)

        // heads -> dh = dLoss/d(last hidden state)
        Profiler.span(.mlmGather) { a.dh.update(repeating: 0, count: BT * H) }
        if P > 0 {
            Profiler.span(.mlmDecoder, flops: 4 * Double(P * E * V)) {
                linearBackward(
                    dinp: a.dmlmOut, dweight: gr + o.wordEmbeddings, dbias: gr + o.mlmBias, dout: a.dlogits,
                    inp: a.mlmOut, weight: p + o.wordEmbeddings, rows: P, inDim: E, outDim: V, ldInp: E + 1,
                    accumulateDinp: false)
            }
            Profiler.span(.mlmHeadNorm) {
                layerNormBackward(
                    dinp: a.dmlmAct, dweight: gr + o.mlmLnWeight, dbias: gr + o.mlmLnBias, dout: a.dmlmOut,
                    inp: a.mlmAct, weight: p + o.mlmLnWeight, mean: a.mlmMean, rstd: a.mlmRstd, rows: P, dim: E,
                    accumulate: false)
                activationBackward(
                    c.activation, dinp: a.dmlmAct, inp: a.mlmDense, dout: a.dmlmAct, count: P * E, accumulate: false)
            }
            Profiler.span(.mlmDense, flops: 4 * Double(P * H * E)) {
                linearBackward(
                    dinp: a.dmlmIn, dweight: gr + o.mlmDenseWeight, dbias: gr + o.mlmDenseBias, dout: a.dmlmAct,
                    inp: a.mlmIn, weight: p + o.mlmDenseWeight, rows: P, inDim: H, outDim: E,
                    accumulateDinp: false)
            }
            Profiler.span(.mlmGather) {
                for k in 0..<P {
                    let d = a.dh + Int(a.positions[k]) * H, s = a.dmlmIn + k * H
                    for i in 0..<H { d[i] += s[i] }
                }
            }
        }
        Profiler.span(.sopHead, flops: 4 * Double(B * H * (H + 2))) {
            linearBackward(
                dinp: a.dpooled, dweight: gr + o.sopWeight, dbias: gr + o.sopBias, dout: a.dsopLogits,
                inp: a.pooled, weight: p + o.sopWeight, rows: B, inDim: H, outDim: 2, accumulateDinp: false)
            tanhBackward(dinp: a.dpooledPre, out: a.pooled, dout: a.dpooled, count: B * H, accumulate: false)
            linearBackward(
                dinp: a.dh, dweight: gr + o.poolerWeight, dbias: gr + o.poolerBias, dout: a.dpooledPre,
                inp: last, weight: p + o.poolerWeight, rows: B, inDim: H, outDim: H, ldInp: T * H, ldDinp: T * H)
        }
        return encoderBackward(a, batch, stopAtLayer: stopAtLayer, into: target)
    }

    /// Gradients of the encoder (layers, projection, embeddings) from a.dh = dLoss/d(last hidden state).
    @discardableResult
    public func encoderBackward(
        _ a: Activations, _ batch: AlbertBatch, stopAtLayer: Int = 0, into target: FloatBuffer? = nil
    ) -> UnsafeMutablePointer<Float>? {
        let gr = (target ?? grads).pointer
        // layer applications, last to first; a.dh holds dLoss/d(output of layer l)
        var dh = a.dh, dx = a.dx
        for l in stride(from: config.numHiddenLayers - 1, through: stopAtLayer, by: -1) {
            layerBackward(a, layer: l, dh: dh, dx: dx, grads: gr)
            swap(&dh, &dx)
        }
        if stopAtLayer > 0 { return dh }
        embeddingsBackward(a, batch, dh: dh, grads: gr)
        return nil
    }

    /// One layer application backward: from dh = dLoss/d(its output) to dx = dLoss/d(its input), weight
    /// gradients accumulated into its group's slots of `gr`.
    func layerBackward(
        _ a: Activations, layer l: Int, dh: UnsafeMutablePointer<Float>, dx: UnsafeMutablePointer<Float>,
        grads gr: UnsafeMutablePointer<Float>
    ) {
        let c = config, p = params.pointer, o = layout
        let B = a.B, T = a.T, BT = B * T, H = a.H, I = a.I
        let perRow = 4 * Double(BT)  // FLOPs of a linear layer's backward per weight
        let gi = c.group(ofLayer: l), g = o.groups[gi]
        let x = a.hiddenState(l)
        let qkv = a.qkv + l * BT * 3 * H, ctx = a.ctx + l * BT * H
        let attnRes = a.attnRes + l * BT * H, attnOut = a.attnOut + l * BT * H
        let ffnPre = a.ffnPre + l * BT * I, ffnAct = a.ffnAct + l * BT * I, ffnRes = a.ffnRes + l * BT * H
        // full_layer_layer_norm(attnOut + ffn_output(gelu(ffn(attnOut))))
        Profiler.span(.layerNorm) {
            layerNormBackward(
                dinp: a.dres, dweight: gr + g.ffnLnWeight, dbias: gr + g.ffnLnBias, dout: dh, inp: ffnRes,
                weight: p + g.ffnLnWeight, mean: a.ffnMean + l * BT, rstd: a.ffnRstd + l * BT, rows: BT,
                dim: H, accumulate: false)
            dx.update(from: a.dres, count: BT * H)  // residual branch: d(attnOut)
        }
        Profiler.span(.ffnOut, flops: perRow * Double(H * I)) {
            linearBackward(
                dinp: a.dffn, dweight: gr + g.ffnOutWeight, dbias: gr + g.ffnOutBias, dout: a.dres,
                inp: ffnAct, weight: p + g.ffnOutWeight, rows: BT, inDim: I, outDim: H, accumulateDinp: false)
        }
        Profiler.span(.gelu) {
            activationBackward(c.activation, dinp: a.dffn, inp: ffnPre, dout: a.dffn, count: BT * I, accumulate: false)
        }
        Profiler.span(.ffnIn, flops: perRow * Double(H * I)) {
            linearBackward(
                dinp: dx, dweight: gr + g.ffnWeight, dbias: gr + g.ffnBias, dout: a.dffn, inp: attnOut,
                weight: p + g.ffnWeight, rows: BT, inDim: H, outDim: I)
        }
        // attention.LayerNorm(x + dense(ctx))
        Profiler.span(.layerNorm) {
            layerNormBackward(
                dinp: a.dres, dweight: gr + g.attnLnWeight, dbias: gr + g.attnLnBias, dout: dx, inp: attnRes,
                weight: p + g.attnLnWeight, mean: a.attnMean + l * BT, rstd: a.attnRstd + l * BT, rows: BT,
                dim: H, accumulate: false)
            dx.update(from: a.dres, count: BT * H)  // residual branch: d(x)
        }
        Profiler.span(.attentionDense, flops: perRow * Double(H * H)) {
            linearBackward(
                dinp: a.dctx, dweight: gr + g.attnDenseWeight, dbias: gr + g.attnDenseBias, dout: a.dres,
                inp: ctx, weight: p + g.attnDenseWeight, rows: BT, inDim: H, outDim: H, accumulateDinp: false)
        }
        Profiler.span(.attentionProducts, flops: 8 * Double(BT * T * H)) {
            attentionBackward(
                dqkv: a.dqkv, dprobs: a.dprobs, dctx: a.dctx, qkv: qkv, probs: a.probs + l * B * a.NH * T * T,
                B: B, T: T, H: H, NH: a.NH, extra: a.activeAttentionGradient?.layer(l))
        }
        Profiler.span(.qkv, flops: perRow * Double(H * 3 * H)) {
            linearBackward(
                dinp: dx, dweight: gr + g.qkvWeight, dbias: gr + g.qkvBias, dout: a.dqkv, inp: x,
                weight: p + g.qkvWeight, rows: BT, inDim: H, outDim: 3 * H)
        }
    }

    /// The E->H projection (ALBERT only), the embedding LayerNorm and the three embedding tables, backward from dh.
    func embeddingsBackward(
        _ a: Activations, _ batch: AlbertBatch, dh: UnsafeMutablePointer<Float>, grads gr: UnsafeMutablePointer<Float>
    ) {
        let c = config, p = params.pointer, o = layout
        let B = a.B, T = a.T, BT = B * T, E = a.E, H = a.H
        let perRow = 4 * Double(BT)
        if o.hasProjection {
            Profiler.span(.projection, flops: perRow * Double(E * H)) {
                linearBackward(
                    dinp: a.dembOut, dweight: gr + o.mapWeight, dbias: gr + o.mapBias, dout: dh, inp: a.embOut,
                    weight: p + o.mapWeight, rows: BT, inDim: E, outDim: H, accumulateDinp: false)
            }
        }
        // BERT: the first layer's input is the LayerNorm's output, so dh is its gradient
        let dembOut = o.hasProjection ? UnsafePointer(a.dembOut) : UnsafePointer(dh)
        Profiler.span(.embeddingLayerNorm) {
            layerNormBackward(
                dinp: a.dembSum, dweight: gr + o.embLnWeight, dbias: gr + o.embLnBias, dout: dembOut,
                inp: a.embSum, weight: p + o.embLnWeight, mean: a.embMean, rstd: a.embRstd, rows: BT, dim: E,
                accumulate: false)
        }
        Profiler.span(.embedding) {
            embeddingBackward(
                dword: gr + o.wordEmbeddings, dposition: gr + o.positionEmbeddings,
                dtokenType: gr + o.tokenTypeEmbeddings, dout: a.dembSum, ids: batch.ids.pointer,
                tokenTypes: batch.tokenTypes.pointer, B: B, T: T, E: E, padId: Int32(c.padTokenId))
        }
    }
}

// Vectorised helpers for the non-matmul kernels: a polynomial expf over SIMD8 lanes (Cephes' expf
// coefficients, about 1 ulp on the reduced range) and SIMD sums and dot products with split accumulators.
// Loops run over whole 8-lane vectors and finish with one partial vector, so the main loop keeps its
// values in registers. Plain vector arithmetic only: it vectorises on any x86-64 or arm64 target.

@usableFromInline let expMagic: Float = 12_582_912  // 1.5 * 2^23: adding it rounds to an integer in the low bits

/// e^x for each lane; inputs are clamped to [-87.3, 88] (the result stays finite and normal).
@inline(__always)
public func expSIMD(_ xIn: SIMD8<Float>) -> SIMD8<Float> {
    // clamp through masks: the generic clamped()/pointwiseMin do not inline into vector code
    let lo = SIMD8<Float>(repeating: -87.3), hi = SIMD8<Float>(repeating: 88.0)
    var x = xIn
    x.replace(with: lo, where: x .< lo)
    x.replace(with: hi, where: x .> hi)
    let t = x * 1.442_695_040_888_963_4 + expMagic
    let n = t - expMagic
    let r = x - n * 0.693_359_375 + n * 2.121_944_4e-4
    var p = SIMD8<Float>(repeating: 1.987_569_150_0e-4)
    p = p * r + 1.398_199_950_7e-3
    p = p * r + 8.333_451_907_3e-3
    p = p * r + 4.166_579_589_4e-2
    p = p * r + 1.666_666_545_9e-1
    p = p * r + 5.000_000_120_1e-1
    let y = p * (r * r) + r + 1
    let ni =
        unsafeBitCast(t, to: SIMD8<Int32>.self)
        &- unsafeBitCast(SIMD8<Float>(repeating: expMagic), to: SIMD8<Int32>.self)
    let scale = unsafeBitCast((ni &+ 127) &<< 23, to: SIMD8<Float>.self)
    return y * scale
}

/// Scalar e^x through the same polynomial (used for tails, so a row gives the same values wherever it sits).
@inline(__always)
public func expScalar(_ x: Float) -> Float { expSIMD(SIMD8(repeating: x))[0] }

/// tanh as an odd rational function u * P(u^2) / Q(u^2) (degree 13 over 6, the minimax form Eigen uses
/// for float), clamped at |u| = 7.9053 where float tanh is exactly +-1. Max error 3.7e-7 against double
/// tanh; no exp and one division, several times faster than tanhf.
@inline(__always)
public func tanhSIMD(_ uIn: SIMD8<Float>) -> SIMD8<Float> {
    let lo = SIMD8<Float>(repeating: -7.905_311_107_635_498), hi = SIMD8<Float>(repeating: 7.905_311_107_635_498)
    var u = uIn
    u.replace(with: lo, where: u .< lo)
    u.replace(with: hi, where: u .> hi)
    let u2 = u * u
    var p = SIMD8<Float>(repeating: -2.760_768_477_423_55e-16)
    p = p * u2 + 2.000_187_904_824_77e-13
    p = p * u2 - 8.604_671_522_137_35e-11
    p = p * u2 + 5.122_297_090_371_14e-08
    p = p * u2 + 1.485_722_357_179_79e-05
    p = p * u2 + 6.372_619_288_754_36e-04
    p = p * u2 + 4.893_524_558_917_86e-03
    var q = SIMD8<Float>(repeating: 1.198_258_394_667_02e-06)
    q = q * u2 + 1.185_347_056_866_54e-04
    q = q * u2 + 2.268_434_632_439_00e-03
    q = q * u2 + 4.893_525_185_543_85e-03
    return u * p / q
}

@inline(__always)
public func tanhScalar(_ u: Float) -> Float { tanhSIMD(SIMD8(repeating: u))[0] }

/// Sum of n floats (8-lane split accumulators, then the tail).
@inline(__always)
public func vsum(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
    var i = 0
    let raw = UnsafeRawPointer(p)
    while i + 16 <= n {
        acc0 += raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        acc1 += raw.loadUnaligned(fromByteOffset: (i + 8) * 4, as: SIMD8<Float>.self)
        i += 16
    }
    var s = (acc0 + acc1).sum()
    while i < n { s += p[i]; i += 1 }
    return s
}

/// Dot product of two runs of n floats.
@inline(__always)
public func vdot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
    var i = 0
    let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
    while i + 16 <= n {
        acc0 +=
            ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            * rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        acc1 +=
            ra.loadUnaligned(fromByteOffset: (i + 8) * 4, as: SIMD8<Float>.self)
            * rb.loadUnaligned(fromByteOffset: (i + 8) * 4, as: SIMD8<Float>.self)
        i += 16
    }
    var s = (acc0 + acc1).sum()
    while i < n { s += a[i] * b[i]; i += 1 }
    return s
}

/// Sum of (p[i] - c)^2.
@inline(__always)
public func vsumSquaredDiff(_ p: UnsafePointer<Float>, _ n: Int, _ c: Float) -> Float {
    var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
    let cv = SIMD8<Float>(repeating: c)
    var i = 0
    let raw = UnsafeRawPointer(p)
    while i + 16 <= n {
        let d0 = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) - cv
        let d1 = raw.loadUnaligned(fromByteOffset: (i + 8) * 4, as: SIMD8<Float>.self) - cv
        acc0 += d0 * d0
        acc1 += d1 * d1
        i += 16
    }
    var s = (acc0 + acc1).sum()
    while i < n { let d = p[i] - c; s += d * d; i += 1 }
    return s
}

/// Loads up to 8 floats (zero padded), and stores the first `count` lanes: tails without scalar twins.
@inline(__always)
func loadPartial(_ p: UnsafePointer<Float>, _ count: Int) -> SIMD8<Float> {
    if count == 8 { return UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self) }
    var v = SIMD8<Float>()
    for j in 0..<count { v[j] = p[j] }
    return v
}

@inline(__always)
func storePartial(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>, _ count: Int) {
    if count == 8 { UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self); return }
    for j in 0..<count { p[j] = v[j] }
}

@inline(__always)
func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self) }

@inline(__always)
func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
}

/// Calls body(offset, lanes) for every 8-float group of n floats: whole groups first (lanes is then the
/// constant 8, so partial loads fold away), then one partial group.
@inline(__always)
func vectorLoop(_ n: Int, _ body: (Int, Int) -> Void) {
    var i = 0
    while i + 8 <= n {
        body(i, 8)
        i += 8
    }
    if i < n { body(i, n - i) }
}

/// out = f(a, b) over n floats, 8 lanes at a time, the tail through partial loads.
@inline(__always)
func zipSIMD(
    _ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int,
    _ f: (SIMD8<Float>, SIMD8<Float>) -> SIMD8<Float>
) {
    var i = 0
    while i + 8 <= n {
        store8(f(load8(a + i), load8(b + i)), out + i)
        i += 8
    }
    if i < n { storePartial(f(loadPartial(a + i, n - i), loadPartial(b + i, n - i)), out + i, n - i) }
}

/// Applies f to every 8-float group of n floats at `inp`, writing `out` (tails through partial loads).
@inline(__always)
func mapSIMD(
    _ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, _ n: Int, _ f: (SIMD8<Float>) -> SIMD8<Float>
) {
    let ri = UnsafeRawPointer(inp), ro = UnsafeMutableRawPointer(out)
    var i = 0
    while i + 8 <= n {
        ro.storeBytes(
            of: f(ri.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)), toByteOffset: i * 4,
            as: SIMD8<Float>.self)
        i += 8
    }
    if i < n { storePartial(f(loadPartial(inp + i, n - i)), out + i, n - i) }
}

"""FarmHash's Fingerprint64 (farmhashna::Hash64), the hash TensorFlow's StringToHashBucketFast
buckets strings by. Bit-exact with TensorFlow: a model's vocabulary buckets depend on every bit.

Plain Python integers masked to 64 bits; strings in graphs are short (tokens), so no vectorising."""
from __future__ import annotations

MASK = (1 << 64) - 1
K0 = 0xC3A5C85C97CB3127
K1 = 0xB492B66FBE98F273
K2 = 0x9AE16A3B2F90404F
MURMUR_MUL = 0x9DDFEA08EB382D69


def _u64(data: bytes, at: int) -> int:
    return int.from_bytes(data[at:at + 8], "little")


def _u32(data: bytes, at: int) -> int:
    return int.from_bytes(data[at:at + 4], "little")


def _rotate(value: int, shift: int) -> int:
    return value if shift == 0 else ((value >> shift) | (value << (64 - shift))) & MASK


def _shift_mix(value: int) -> int:
    return value ^ (value >> 47)


def _hash_16(u: int, v: int, mul: int = MURMUR_MUL) -> int:
    a = ((u ^ v) * mul) & MASK
    a ^= a >> 47
    b = ((v ^ a) * mul) & MASK
    b ^= b >> 47
    return (b * mul) & MASK


def _hash_0_to_16(data: bytes) -> int:
    n = len(data)
    if n >= 8:
        mul = K2 + n * 2
        a = (_u64(data, 0) + K2) & MASK
        b = _u64(data, n - 8)
        c = (_rotate(b, 37) * mul + a) & MASK
        d = ((_rotate(a, 25) + b) * mul) & MASK
        return _hash_16(c, d, mul)
    if n >= 4:
        mul = K2 + n * 2
        return _hash_16(n + (_u32(data, 0) << 3), _u32(data, n - 4), mul)
    if n > 0:
        y = data[0] + (data[n >> 1] << 8)
        z = n + (data[n - 1] << 2)
        return (_shift_mix((y * K2 ^ z * K0) & MASK) * K2) & MASK
    return K2


def _hash_17_to_32(data: bytes) -> int:
    n = len(data)
    mul = K2 + n * 2
    a = (_u64(data, 0) * K1) & MASK
    b = _u64(data, 8)
    c = (_u64(data, n - 8) * mul) & MASK
    d = (_u64(data, n - 16) * K2) & MASK
    return _hash_16((_rotate((a + b) & MASK, 43) + _rotate(c, 30) + d) & MASK,
                    (a + _rotate((b + K2) & MASK, 18) + c) & MASK, mul)


def _hash_33_to_64(data: bytes) -> int:
    n = len(data)
    mul = K2 + n * 2
    a = (_u64(data, 0) * K2) & MASK
    b = _u64(data, 8)
    c = (_u64(data, n - 8) * mul) & MASK
    d = (_u64(data, n - 16) * K2) & MASK
    y = (_rotate((a + b) & MASK, 43) + _rotate(c, 30) + d) & MASK
    z = _hash_16(y, (a + _rotate((b + K2) & MASK, 18) + c) & MASK, mul)
    e = (_u64(data, 16) * mul) & MASK
    f = _u64(data, 24)
    g = ((y + _u64(data, n - 32)) * mul) & MASK
    h = ((z + _u64(data, n - 24)) * mul) & MASK
    return _hash_16((_rotate((e + f) & MASK, 43) + _rotate(g, 30) + h) & MASK,
                    (e + _rotate((f + a) & MASK, 18) + g) & MASK, mul)


def _weak_hash_32(data: bytes, at: int, a: int, b: int) -> tuple[int, int]:
    """WeakHashLen32WithSeeds over the 32 bytes at `at`."""
    w, x, y, z = (_u64(data, at + 8 * i) for i in range(4))
    a = (a + w) & MASK
    b = _rotate((b + a + z) & MASK, 21)
    c = a
    a = (a + x + y) & MASK
    b = (b + _rotate(a, 44)) & MASK
    return (a + z) & MASK, (b + c) & MASK


def fingerprint64(data: bytes) -> int:
    """FarmHash Fingerprint64 of `data`, as an unsigned 64-bit integer."""
    n = len(data)
    if n <= 16:
        return _hash_0_to_16(data)
    if n <= 32:
        return _hash_17_to_32(data)
    if n <= 64:
        return _hash_33_to_64(data)
    # Longer inputs: 64-byte blocks into 56 bytes of state (v, w, x, y, z), then the last 64 bytes.
    seed = 81
    x = seed
    y = (seed * K1 + 113) & MASK
    z = (_shift_mix((y * K2 + 113) & MASK) * K2) & MASK
    v = (0, 0)
    w = (0, 0)
    x = (x * K2 + _u64(data, 0)) & MASK
    end = ((n - 1) // 64) * 64
    last64 = end + ((n - 1) & 63) - 63
    at = 0
    while True:
        x = (_rotate((x + y + v[0] + _u64(data, at + 8)) & MASK, 37) * K1) & MASK
        y = (_rotate((y + v[1] + _u64(data, at + 48)) & MASK, 42) * K1) & MASK
        x ^= w[1]
        y = (y + v[0] + _u64(data, at + 40)) & MASK
        z = (_rotate((z + w[0]) & MASK, 33) * K1) & MASK
        v = _weak_hash_32(data, at, (v[1] * K1) & MASK, (x + w[0]) & MASK)
        w = _weak_hash_32(data, at + 32, (z + w[1]) & MASK, (y + _u64(data, at + 16)) & MASK)
        z, x = x, z
        at += 64
        if at == end:
            break
    mul = K1 + ((z & 0xFF) << 1)
    at = last64
    w0 = (w[0] + ((n - 1) & 63)) & MASK
    v0 = (v[0] + w0) & MASK
    w0 = (w0 + v0) & MASK
    w, v = (w0, w[1]), (v0, v[1])
    x = (_rotate((x + y + v[0] + _u64(data, at + 8)) & MASK, 37) * mul) & MASK
    y = (_rotate((y + v[1] + _u64(data, at + 48)) & MASK, 42) * mul) & MASK
    x ^= (w[1] * 9) & MASK
    y = (y + v[0] * 9 + _u64(data, at + 40)) & MASK
    z = (_rotate((z + w[0]) & MASK, 33) * mul) & MASK
    v = _weak_hash_32(data, at, (v[1] * mul) & MASK, (x + w[0]) & MASK)
    w = _weak_hash_32(data, at + 32, (z + w[1]) & MASK, (y + _u64(data, at + 16)) & MASK)
    z, x = x, z
    return _hash_16((_hash_16(v[0], w[0], mul) + _shift_mix(y) * K0 + z) & MASK,
                    (_hash_16(v[1], w[1], mul) + x) & MASK, mul)

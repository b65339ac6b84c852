"""Host-side texel layouts (no GL): pack_values against the packed layout built another way, and
unpack_values as its inverse."""
import numpy as np
import pytest

from engine.webgl.textures import pack_values, packed_geometry, packed_texture_shape, unpack_values

SHAPES = [(), (1,), (2,), (5,), (3, 5), (4, 6), (2, 3, 7), (1, 7, 7, 3), (2, 4, 6, 8), (3, 1, 1)]


def packed_by_padding(values: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Each matrix zero-padded to even sides, its 2x2 blocks as texels (row-major within the block)."""
    batch, r, c = packed_geometry(values.shape)
    tr, tc = (r + 1) // 2, (c + 1) // 2
    padded = np.zeros((batch, 2 * tr, 2 * tc), np.float32)
    padded[:, :r, :c] = values.reshape(batch, r, c)
    blocks = padded.reshape(batch, tr, 2, tc, 2).transpose(0, 1, 3, 2, 4).reshape(-1)
    out = np.zeros(rows * cols * 4, np.float32)
    out[:blocks.size] = blocks
    return out


@pytest.mark.parametrize("shape", SHAPES)
def test_pack_values_lays_out_2x2_blocks_and_zero_pads(shape, rng):
    values = rng.normal(size=shape).astype(np.float32)
    rows, cols = packed_texture_shape(shape, 64)
    packed = pack_values(values, rows, cols)
    np.testing.assert_array_equal(packed, packed_by_padding(values, rows, cols))
    np.testing.assert_array_equal(unpack_values(packed, shape), values.reshape(-1))


def test_pack_values_converts_ints_and_reads_strided_views(rng):
    ints = rng.integers(-1000, 1000, size=(3, 6, 5)).astype(np.int32)
    rows, cols = packed_texture_shape(ints.shape, 64)
    np.testing.assert_array_equal(pack_values(ints, rows, cols), packed_by_padding(ints.astype(np.float32), rows, cols))
    strided = rng.normal(size=(6, 10)).astype(np.float32)[:, ::2].T  # neither row- nor column-contiguous
    rows, cols = packed_texture_shape(strided.shape, 64)
    np.testing.assert_array_equal(pack_values(strided, rows, cols), packed_by_padding(strided, rows, cols))

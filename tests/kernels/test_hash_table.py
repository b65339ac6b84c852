"""Hash-table ops against tf.raw_ops: HashTableV2 filled by LookupTableImportV2 or InitializeTableV2,
read by LookupTableFindV2 and LookupTableSizeV2, with TensorFlow's errors; the v1 ops (HashTable,
LookupTableImport, InitializeTable, LookupTableFind, LookupTableSize: reference-typed, which eager
TensorFlow cannot run) are checked to be the same kernels. Tables shared by name within a model's
Resources are in tests/test_text_models.py."""
import itertools

import numpy as np
import pytest

import engine
from engine.errors import KernelError
from engine.kernels.cpu.hash_table import HashTable, Resources
from engine.kernels.registry import get_kernel
from tests.kernels.harness import assert_close, tf

pytestmark = pytest.mark.tf


def strings(*texts) -> np.ndarray:
    out = np.empty(len(texts), dtype=object)
    out[:] = [t.encode() if isinstance(t, str) else t for t in texts]
    return out


def run(backend: str, op: str, inputs: list, attrs: dict | None = None) -> list:
    tensors = [x if isinstance(x, HashTable) else engine.tensor(x) for x in inputs]
    return engine.get_backend(backend).run(op, tensors, attrs or {}, node=op)


_TF_NAMES = itertools.count()


def tf_table(key_dtype: str = "string", value_dtype: str = "int64"):
    """A new TensorFlow table: eager TensorFlow shares every table of an empty shared_name."""
    return tf().raw_ops.HashTableV2(key_dtype=tf().as_dtype(key_dtype), value_dtype=tf().as_dtype(value_dtype),
                                    shared_name=f"test_table_{next(_TF_NAMES)}")


class Both:
    """One table in tfgl and one in TensorFlow, driven by the same calls."""

    def __init__(self, backend: str, key_dtype: str, value_dtype: str):
        self.backend = backend
        self.table = run(backend, "HashTableV2", [], {"key_dtype": key_dtype, "value_dtype": value_dtype})[0]
        self.tf_table = tf_table(key_dtype, value_dtype)

    def fill(self, op: str, keys: np.ndarray, values: np.ndarray) -> None:
        getattr(tf().raw_ops, op)(table_handle=self.tf_table, keys=keys, values=values)
        assert run(self.backend, op, [self.table, keys, values]) == []

    def find(self, keys: np.ndarray, default: np.ndarray) -> None:
        want = tf().raw_ops.LookupTableFindV2(table_handle=self.tf_table, keys=keys, default_value=default).numpy()
        got = run(self.backend, "LookupTableFindV2", [self.table, keys, default])[0].numpy()
        assert_close(got, engine.tensor(want).numpy(), what="LookupTableFindV2")

    def size(self) -> None:
        want = tf().raw_ops.LookupTableSizeV2(table_handle=self.tf_table).numpy()
        assert run(self.backend, "LookupTableSizeV2", [self.table])[0].numpy() == want


@pytest.mark.parametrize("fill", ["LookupTableImportV2", "InitializeTableV2"])
def test_string_vocabulary(backend, fill):
    table = Both(backend, "string", "int64")
    table.size()
    table.fill(fill, strings("the", "cat", "", "café", "日本", "the"), np.array([0, 1, 2, 3, 4, 0], np.int64))
    table.size()
    table.find(strings("cat", "dog", "", "café", "cafe", "日本"), np.int64(-1))
    table.find(strings("the", "zebra", "cat", "ox").reshape(2, 2), np.int64(7))
    table.find(strings("the", "zebra", "cat", "ox").reshape(2, 2), np.array([[5, 6], [7, 8]], np.int64))
    table.find(strings("cat").reshape(()), np.int64(-1))
    table.find(strings(), np.int64(-1))


def test_int_keys_float_values_and_string_values(backend):
    table = Both(backend, "int64", "float32")
    table.fill("InitializeTableV2", np.array([3, 1, -7], np.int64), np.array([0.5, 1.5, -2.0], np.float32))
    table.find(np.array([[1, 2, 3], [-7, 0, 3]], np.int64), np.float32(-1))
    words = Both(backend, "string", "string")
    words.fill("LookupTableImportV2", strings("é", ""), strings("E", "empty"))
    words.find(strings("", "é", "e"), np.array(b"?", dtype=object))


def test_a_second_initialization_of_as_many_entries_is_ignored(backend):
    """TensorFlow compares only the number of entries: the same count passes (and changes nothing),
    another count is refused."""
    table = Both(backend, "string", "int64")
    table.fill("LookupTableImportV2", strings("a", "b", "a"), np.array([1, 2, 1], np.int64))
    table.fill("LookupTableImportV2", strings("a", "c"), np.array([5, 6], np.int64))
    table.fill("InitializeTableV2", strings("d", "e"), np.array([9, 9], np.int64))
    table.find(strings("a", "b", "c", "d"), np.int64(-1))
    table.size()
    with pytest.raises(tf().errors.FailedPreconditionError, match="Table was already initialized with different data"):
        tf().raw_ops.InitializeTableV2(table_handle=table.tf_table, keys=strings("a"), values=np.array([1], np.int64))
    with pytest.raises(KernelError, match="Table was already initialized with different data"):
        run(backend, "InitializeTableV2", [table.table, strings("a"), np.array([1], np.int64)])


def test_lookup_table_import_takes_keys_of_any_shape(backend):
    table = Both(backend, "string", "int64")
    keys = strings("a", "b", "c", "d").reshape(2, 2)
    table.fill("LookupTableImportV2", keys, np.arange(4, dtype=np.int64).reshape(2, 2))
    table.find(strings("d", "a", "x"), np.int64(-1))


@pytest.mark.parametrize("op, keys, values, says", [
    ("LookupTableImportV2", strings("a", "a"), [1, 2], "HashTable has different value for same key"),
    ("InitializeTableV2", strings("a", "b").reshape(1, 2), [[1, 2]],
     r"Keys must be a vector, but received shape\[1, ?2\]"),
    ("InitializeTableV2", strings("a", "b"), [1], "Keys and values must have the same size 2 vs 1"),
    ("LookupTableImportV2", strings("a", "b"), [1], r"Expected shape \[2\] for value, got \[1\]"),
    ("LookupTableImportV2", strings(), [], "keys and values cannot be empty tensors"),
    ("InitializeTableV2", strings(), [], "keys and values cannot be empty tensors"),
])
def test_bad_initializations_are_refused_as_tensorflow_refuses_them(backend, op, keys, values, says):
    values = np.array(values, np.int64)
    handle = tf_table()
    with pytest.raises(tf().errors.OpError, match=says):
        getattr(tf().raw_ops, op)(table_handle=handle, keys=keys, values=values)
    table = run(backend, "HashTableV2", [], {"key_dtype": "string", "value_dtype": "int64"})[0]
    with pytest.raises(KernelError, match=says.replace(", ?", ", ")):
        run(backend, op, [table, keys, values])


def test_lookups_in_an_uninitialized_table_are_refused(backend):
    handle = tf_table()
    with pytest.raises(tf().errors.FailedPreconditionError, match="Table not initialized"):
        tf().raw_ops.LookupTableFindV2(table_handle=handle, keys=strings("a"), default_value=np.int64(-1))
    table = run(backend, "HashTableV2", [], {"key_dtype": "string", "value_dtype": "int64"})[0]
    with pytest.raises(KernelError, match="Table not initialized"):
        run(backend, "LookupTableFindV2", [table, strings("a"), np.int64(-1)])


def test_keys_values_and_defaults_of_the_wrong_dtype_or_shape_are_refused(backend):
    table = run(backend, "HashTableV2", [], {"key_dtype": "string", "value_dtype": "int64"})[0]
    with pytest.raises(KernelError, match="takes string keys, got int32"):
        run(backend, "LookupTableImportV2", [table, np.array([1, 2], np.int32), np.array([1, 2], np.int64)])
    run(backend, "LookupTableImportV2", [table, strings("a"), np.array([1], np.int64)])
    with pytest.raises(KernelError, match="takes int32 default value, got float32"):
        run(backend, "LookupTableFindV2", [table, strings("a"), np.float32(-1)])
    with pytest.raises(KernelError, match=r"Expected shape \[\] or \[2, 2\] for default value, got \[2\]"):
        run(backend, "LookupTableFindV2", [table, strings("a", "b", "c", "d").reshape(2, 2),
                                           np.array([7, 8], np.int64)])
    with pytest.raises(KernelError, match="input 0 is a ndarray|expected a hash table handle"):
        run(backend, "LookupTableSizeV2", [np.zeros(2, np.float32)])


@pytest.mark.parametrize("v1, v2", [("HashTable", "HashTableV2"), ("LookupTableImport", "LookupTableImportV2"),
                                    ("InitializeTable", "InitializeTableV2"), ("LookupTableFind", "LookupTableFindV2"),
                                    ("LookupTableSize", "LookupTableSizeV2")])
def test_v1_ops_are_the_v2_kernels(v1, v2):
    """TensorFlow's v1 table ops differ only in taking a reference handle, which tfgl does not model."""
    assert get_kernel(v1, "cpu").fn is get_kernel(v2, "cpu").fn


def test_tables_of_one_model_are_shared_by_name():
    resources = Resources()
    kernel = get_kernel("HashTableV2", "cpu").fn
    first = kernel(key_dtype="string", value_dtype="int64", resources=resources, node_name="hash_table")
    assert kernel(key_dtype="string", value_dtype="int64", resources=resources, node_name="hash_table") is first
    assert kernel(key_dtype="string", value_dtype="int64", shared_name="t", resources=resources, node_name="x") is \
        kernel(key_dtype="string", value_dtype="int64", shared_name="t", resources=resources, node_name="y")
    assert kernel(key_dtype="string", value_dtype="int64", resources=resources, node_name="other") is not first
    with pytest.raises(ValueError, match="maps string to int32, not string to float32"):
        kernel(key_dtype="string", value_dtype="float32", resources=resources, node_name="hash_table")

"""Hash-table ops (op_list/hash_table.json), as TensorFlow's static HashTable: text models' vocabularies.

A table is a resource: HashTable(V2) hands out a handle (the HashTable object itself), the
initializer ops fill it once, lookups read it. Tables live in the model's `Resources` for the model's
life, so every graph of one model (its initializer graph, its main graph, its functions) sees the
same table by name, as in TensorFlow (by shared_name, else by node name) and TF.js (by node name).
Outside a model (a lone op run) each HashTable op makes a fresh table.
"""
from __future__ import annotations

import threading

import numpy as np

from engine import dtypes
from engine.kernels.registry import KernelTable

KERNELS = KernelTable()

# Ops whose kernels get the model's Resources (attr `resources`) and their node's name (`node_name`).
RESOURCE_OPS = frozenset({"HashTable", "HashTableV2"})


def _key(value) -> object:
    """A dict key for one table key: bytes for strings, a Python number otherwise."""
    return value if isinstance(value, bytes) else value.item() if hasattr(value, "item") else value


class HashTable:
    """Keys to scalar values, of fixed dtypes. Initialized once: a later initialization with as many
    entries is ignored, one with another number refused, as TensorFlow's HashTable does (it compares
    only the counts)."""

    def __init__(self, name: str, key_dtype: str, value_dtype: str):
        self.name = name
        self.key_dtype, self.value_dtype = dtypes.storage_dtype(key_dtype), dtypes.storage_dtype(value_dtype)
        self.entries: dict[object, object] = {}
        self.initialized = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"HashTable({self.name!r}, {self.key_dtype} -> {self.value_dtype}, {len(self.entries)} entries)"

    def check_dtypes(self, keys: np.ndarray, values: np.ndarray, what: str) -> None:
        for role, array, dtype in (("keys", keys, self.key_dtype), (what, values, self.value_dtype)):
            if dtypes.dtype_of_array(array) != dtype:
                raise ValueError(f"table {self.name!r} takes {dtype} {role}, got {dtypes.dtype_of_array(array)}")

    def initialize(self, keys: np.ndarray, values: np.ndarray) -> None:
        self.check_dtypes(keys, values, "values")
        if keys.size == 0:
            raise ValueError("keys and values cannot be empty tensors.")
        with self._lock:
            if self.initialized:
                if keys.size != len(self.entries):
                    raise ValueError(f"Table was already initialized with different data: {self.name!r}")
                return
            entries: dict[object, object] = {}
            for key, value in zip(keys.reshape(-1), values.reshape(-1)):
                key, value = _key(key), _key(value)
                if entries.setdefault(key, value) != value:
                    raise ValueError(f"HashTable has different value for same key. Key {key!r} has "
                                     f"{entries[key]!r} and trying to add value {value!r}")
            self.entries, self.initialized = entries, True

    def find(self, keys: np.ndarray, default: np.ndarray) -> np.ndarray:
        self.check_dtypes(keys, default, "default value")
        if not self.initialized:
            raise ValueError(f"Table not initialized: {self.name!r}")
        if default.ndim and default.shape != keys.shape:
            raise ValueError(f"Expected shape [] or {list(keys.shape)} for default value, got {list(default.shape)}")
        # A default of the keys' shape is allowed, but TensorFlow's static table reads only its first value.
        fallback = _key(default.reshape(-1)[0]) if default.size else None
        found = [self.entries.get(_key(key), fallback) for key in keys.reshape(-1)]
        out = np.empty(len(found), dtypes.NUMPY_OF[self.value_dtype])
        out[:] = found
        return out.reshape(keys.shape)


class Resources:
    """The stateful objects one model's graphs share for the model's life: its hash tables, by name."""

    def __init__(self) -> None:
        self.tables: dict[str, HashTable] = {}
        self._lock = threading.Lock()

    def hash_table(self, name: str, key_dtype: str, value_dtype: str) -> HashTable:
        with self._lock:
            table = self.tables.get(name)
            if table is None:
                table = self.tables[name] = HashTable(name, key_dtype, value_dtype)
        if (table.key_dtype, table.value_dtype) != (dtypes.storage_dtype(key_dtype), dtypes.storage_dtype(value_dtype)):
            raise ValueError(f"table {name!r} maps {table.key_dtype} to {table.value_dtype}, not {key_dtype} to "
                             f"{value_dtype}")
        return table


def _table(handle) -> HashTable:
    if not isinstance(handle, HashTable):
        raise ValueError(f"expected a hash table handle, got {type(handle).__name__}")
    return handle


@KERNELS.define("HashTable", "HashTableV2")
def hash_table(*, key_dtype: str, value_dtype: str, shared_name="", resources: Resources | None = None,
               node_name: str = ""):
    """The handle of the model's table of this name (made on first use)."""
    name = shared_name.decode() if isinstance(shared_name, bytes) else shared_name
    if resources is None:
        return HashTable(name or node_name, key_dtype, value_dtype)
    return resources.hash_table(name or node_name, key_dtype, value_dtype)


@KERNELS.define("InitializeTable", "InitializeTableV2")
def initialize_table(table_handle, keys, values):
    if keys.ndim != 1:
        raise ValueError(f"Keys must be a vector, but received shape{list(keys.shape)}")
    if keys.size != values.size:
        raise ValueError(f"Keys and values must have the same size {keys.size} vs {values.size}")
    _table(table_handle).initialize(keys, values)
    return ()


@KERNELS.define("LookupTableImport", "LookupTableImportV2")
def lookup_table_import(table_handle, keys, values):
    if keys.shape != values.shape:
        raise ValueError(f"Expected shape {list(keys.shape)} for value, got {list(values.shape)}")
    _table(table_handle).initialize(keys, values)
    return ()


@KERNELS.define("LookupTableFind", "LookupTableFindV2")
def lookup_table_find(table_handle, keys, default_value):
    """The value of each key (keys of any shape); default_value where absent."""
    return _table(table_handle).find(keys, default_value)


@KERNELS.define("LookupTableSize", "LookupTableSizeV2")
def lookup_table_size(table_handle):
    return np.int64(len(_table(table_handle).entries))

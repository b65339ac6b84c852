"""Container ops of control flow (op_list/control.json): TensorArrayV3 and TensorList ops, as TensorFlow.

The executors run Enter/Exit/Switch/Merge/NextIteration/LoopCond and While/If; these kernels
implement the two containers that loops carry from one iteration to the next:

* `TensorArray` is a TensorFlow resource: one mutable object shared by every op holding its
  handle. Its ops also take a float32 `flow` scalar that only orders them in the graph; they pass
  it through as their flow output.
* `TensorList` is a TensorFlow variant value: every op returns a new list object. The new list
  copies the Python list of elements but shares the element arrays, which are never mutated.

Element shapes are partial, as TensorFlow's PartialTensorShape: None is an unknown rank, -1 an
unknown dimension. Shape tensors use -1 for both (a scalar -1 is an unknown rank). Element dtypes
are compared by storage dtype, since tensors carry only that. Invalid use raises ValueError with
TensorFlow's message.
"""
from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Sequence

import numpy as np

from engine import dtypes
from engine.kernels.registry import KernelTable
from engine.kernels.resolve.values import checked_size, int_list, scalar

KERNELS = KernelTable()

Shape = tuple[int, ...] | None


# -- partial shapes ----------------------------------------------------------------------------

def _describe(shape: Shape) -> str:
    if shape is None:
        return "<unknown>"
    return "[" + ",".join("?" if d < 0 else str(d) for d in shape) + "]"


def _shape_attr(value: Sequence[int] | None) -> Shape:
    """A shape attr (None for an unknown rank) as a partial shape."""
    return None if value is None else tuple(int(d) for d in value)


def _shape_input(tensor: np.ndarray) -> Shape:
    """A shape tensor as a partial shape, as TensorFlow's TensorShapeFromTensor."""
    tensor = np.asarray(tensor)
    if tensor.ndim == 0:
        if int(tensor) == -1:
            return None
        raise ValueError("The only valid scalar shape tensor is the fully unknown shape specified as -1.")
    shape = tuple(int(d) for d in tensor.reshape(-1))
    if any(d < -1 for d in shape):
        raise ValueError(f"Dimension {min(shape)} must be >= -1")
    return shape


def _compatible(partial: Shape, shape: Shape) -> bool:
    if partial is None or shape is None:
        return True
    return len(partial) == len(shape) and all(a < 0 or b < 0 or a == b for a, b in zip(partial, shape))


def _merge(a: Shape, b: Shape) -> Shape:
    """The most specific shape compatible with both; raises if they conflict."""
    if not _compatible(a, b):
        raise ValueError(f"Incompatible shapes during merge: {_describe(a)} vs. {_describe(b)}")
    if a is None or b is None:
        return b if a is None else a
    return tuple(y if x < 0 else x for x, y in zip(a, b))


def _fully_defined(shape: Shape) -> bool:
    return shape is not None and all(d >= 0 for d in shape)


def _zeros(shape: tuple[int, ...], dtype: str) -> np.ndarray:
    """What TensorFlow returns for an element never written: zeros ('' for strings)."""
    storage = dtypes.storage_dtype(dtype)
    if storage == "string":
        return np.full(shape, b"", dtype=object)
    return np.zeros(shape, dtypes.NUMPY_OF[storage])


def _same_dtype(a: str, b: str) -> bool:
    return dtypes.storage_dtype(a) == dtypes.storage_dtype(b)


def _value_dtype(value: np.ndarray) -> str:
    return dtypes.dtype_of_array(value)


def _int(x) -> int:
    return int(scalar(x))


# -- TensorArray -------------------------------------------------------------------------------

@dataclass
class _Slot:
    value: np.ndarray | None = None
    written: bool = False
    read: bool = False
    cleared: bool = False


class TensorArray:
    """A TensorArrayV3 resource: write-once slots, optionally growing, optionally cleared on read."""

    def __init__(self, size: int, dtype: str, element_shape: Shape, dynamic_size: bool, clear_after_read: bool,
                 identical_element_shapes: bool, name: str = ""):
        self.dtype = dtype
        self.element_shape = element_shape
        self.dynamic_size = dynamic_size
        self.clear_after_read = clear_after_read
        self.identical_element_shapes = identical_element_shapes
        self.name = name or "TensorArray"
        self.slots = [_Slot() for _ in range(size)]
        self.closed = False

    def __repr__(self) -> str:
        return f"TensorArray({self.name!r}, size={len(self.slots)}, dtype={self.dtype})"

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError(f"TensorArray {self.name} has already been closed.")

    def size(self) -> int:
        self._check_open()
        return len(self.slots)

    def check_dtype(self, dtype: str) -> None:
        if not _same_dtype(dtype, self.dtype):
            raise ValueError(f"TensorArray dtype is {self.dtype} but Op requested dtype {dtype}.")

    def merge_element_shape(self, shape: Shape) -> None:
        self.element_shape = _merge(self.element_shape, shape)

    def write(self, index: int, value: np.ndarray) -> None:
        self._check_open()
        where = f"TensorArray {self.name}: Could not write to TensorArray index {index}"
        if index < 0 or (not self.dynamic_size and index >= len(self.slots)):
            raise ValueError(f"TensorArray {self.name}: Tried to write to index {index} but array is not "
                             f"resizeable and size is: {len(self.slots)}")
        self.slots.extend(_Slot() for _ in range(index + 1 - len(self.slots)))
        if not _same_dtype(_value_dtype(value), self.dtype):
            raise ValueError(f"{where} because the value dtype is {_value_dtype(value)} but TensorArray "
                             f"dtype is {self.dtype}.")
        if not _compatible(self.element_shape, value.shape):
            raise ValueError(f"{where} because the value shape is {_describe(value.shape)} which is incompatible "
                             f"with the TensorArray's inferred element shape: {_describe(self.element_shape)} "
                             "(consider setting infer_shape=False).")
        if self.identical_element_shapes and not _fully_defined(self.element_shape):
            self.element_shape = value.shape
        slot = self.slots[index]
        if slot.read:
            raise ValueError(f"{where} because it has already been read.")
        if slot.written:
            raise ValueError(f"{where} because it has already been written to.")
        slot.value, slot.written = value, True

    def read(self, index: int) -> np.ndarray:
        """The value at index; zeros for a never-written slot when the element shape is known."""
        self._check_open()
        if index < 0 or index >= len(self.slots):
            raise ValueError(f"Tried to read from index {index} but array size is: {len(self.slots)}")
        slot = self.slots[index]
        if not slot.written:
            if not _fully_defined(self.element_shape):
                raise ValueError(f"TensorArray {self.name}: Could not read from TensorArray index {index}.  "
                                 f"Furthermore, the element shape is not fully defined: "
                                 f"{_describe(self.element_shape)}.  If you set the full element_shape property "
                                 "on the TensorArray, the proper all-zeros tensor will be returned instead of "
                                 "incurring this error.")
            slot.value, slot.written = _zeros(self.element_shape, self.dtype), True
        if slot.cleared:
            raise ValueError(f"TensorArray {self.name}: Could not read index {index} twice because it was cleared "
                             "after a previous read (perhaps try setting clear_after_read = false?).")
        value = slot.value
        if self.clear_after_read:
            slot.value, slot.cleared = None, True
        slot.read = True
        return value

    def close(self) -> None:
        self.slots.clear()
        self.closed = True


def _array(handle) -> TensorArray:
    if not isinstance(handle, TensorArray):
        raise ValueError(f"expected a TensorArray handle, got {type(handle).__name__}")
    return handle


@KERNELS.define("TensorArrayV3")
def tensor_array_v3(size, *, dtype: str, element_shape=None, dynamic_size: bool = False,
                    clear_after_read: bool = True, identical_element_shapes: bool = False,
                    tensor_array_name: str = ""):
    """Outputs the handle (a TensorArray) and the initial flow."""
    size = _int(size)
    if size < 0:
        raise ValueError("Size should be >= 0.")
    array = TensorArray(size, dtype, _shape_attr(element_shape), dynamic_size, clear_after_read,
                        identical_element_shapes, tensor_array_name)
    return array, np.float32(0)


@KERNELS.define("TensorArrayWriteV3")
def tensor_array_write_v3(handle, index, value, flow_in):
    _array(handle).write(_int(index), value)
    return flow_in


@KERNELS.define("TensorArrayReadV3")
def tensor_array_read_v3(handle, index, flow_in, *, dtype: str):
    array = _array(handle)
    array.check_dtype(dtype)
    return array.read(_int(index))


@KERNELS.define("TensorArrayGatherV3")
def tensor_array_gather_v3(handle, indices, flow_in, *, dtype: str, element_shape=None):
    """Stacks the elements at `indices`; with none, the element_shape attr gives the result's shape."""
    array = _array(handle)
    array.check_dtype(dtype)
    shape = _shape_attr(element_shape)
    array.merge_element_shape(shape)
    indices = int_list(indices)
    if not indices:
        if not _fully_defined(shape):
            raise ValueError(f"TensorArray has size zero, but element shape {_describe(shape)} is not fully "
                             "defined. Currently only static shapes are supported when packing zero-size "
                             "TensorArrays.")
        return _zeros((0,) + shape, dtype)
    values = [array.read(i) for i in indices]
    if not _compatible(shape, values[0].shape):
        raise ValueError(f"TensorArray was passed element_shape {_describe(shape)} which does not match the "
                         f"Tensor at index 0: {_describe(values[0].shape)}")
    for i, value in enumerate(values[1:], 1):
        if value.shape != values[0].shape:
            raise ValueError(f"TensorArray has inconsistent shapes.  Index 0 has shape: "
                             f"{_describe(values[0].shape)} but index {i} has shape: {_describe(value.shape)}")
    return np.stack(values)


@KERNELS.define("TensorArrayScatterV3")
def tensor_array_scatter_v3(handle, indices, value, flow_in):
    """Writes value[i] at indices[i]; a dynamic array grows to fit."""
    array = _array(handle)
    if not _same_dtype(_value_dtype(value), array.dtype):
        raise ValueError(f"TensorArray dtype is {array.dtype} but Op is trying to write dtype {_value_dtype(value)}.")
    if value.ndim == 0:
        raise ValueError(f"Input value for unpack must be at least a vector but received shape: "
                         f"{_describe(value.shape)}")
    indices = int_list(indices)
    if len(indices) != value.shape[0]:
        raise ValueError(f"Expected len(indices) == values.shape[0], but saw: {len(indices)} vs. {value.shape[0]}")
    size = array.size()
    max_index = max(indices, default=-1)
    if array.dynamic_size:
        size = max(size, max_index + 1)
    if max_index >= size:
        raise ValueError(f"Max scatter index must be < array size ({max_index} vs. {size})")
    for row, index in enumerate(indices):
        array.write(index, value[row])
    return flow_in


@KERNELS.define("TensorArrayConcatV3")
def tensor_array_concat_v3(handle, flow_in, *, dtype: str, element_shape_except0=None):
    """Concatenates every element along axis 0; also outputs each element's length (int64)."""
    array = _array(handle)
    array.check_dtype(dtype)
    except0 = _shape_attr(element_shape_except0)
    size = array.size()
    if size == 0:
        if not _fully_defined(except0):
            raise ValueError(f"TensorArray has size zero, but element_shape_except0 {_describe(except0)} is not "
                             "fully defined. Currently only static shapes are supported when concatenating "
                             "zero-size TensorArrays.")
        return _zeros((0,) + except0, dtype), np.zeros(0, np.int64)
    values = [array.read(i) for i in range(size)]
    for i, value in enumerate(values):
        if value.ndim == 0:
            raise ValueError(f"Concat saw a scalar shape at index {i} but requires at least vectors.  "
                             "Did you mean to call pack?")
        if i == 0 and not _compatible(except0, value.shape[1:]):
            raise ValueError(f"TensorArray was passed element_shape_except0 {_describe(except0)} but index 0 has "
                             f"(excepting dimension 0) shape: {_describe(value.shape[1:])} which does not match.")
        if value.shape[1:] != values[0].shape[1:]:
            raise ValueError(f"TensorArray has inconsistent shapes.  Index 0 has (excepting dimension 0) shape: "
                             f"{_describe(values[0].shape[1:])} but index {i} has (excepting dimension 0) "
                             f"shape: {_describe(value.shape[1:])}")
    return np.concatenate(values), np.array([v.shape[0] for v in values], np.int64)


@KERNELS.define("TensorArraySplitV3")
def tensor_array_split_v3(handle, value, lengths, flow_in):
    """Writes consecutive pieces of value (split along axis 0 by lengths) at indices 0, 1, ..."""
    array = _array(handle)
    lengths = int_list(lengths)
    if value.ndim == 0:
        raise ValueError(f"Expected value to be at least a vector, but received shape: {_describe(value.shape)}")
    if sum(lengths) != value.shape[0]:
        raise ValueError(f"Expected sum of lengths to be equal to values.shape[0], but sum of lengths is "
                         f"{sum(lengths)} and value's shape is: {_describe(value.shape)}")
    size = array.size()
    if array.dynamic_size:
        size = max(size, len(lengths))
    if size != len(lengths):
        raise ValueError(f"TensorArray's size is not equal to the size of lengths ({size} vs. {len(lengths)}), "
                         "and the TensorArray is not marked as dynamically resizeable")
    if not _same_dtype(_value_dtype(value), array.dtype):
        raise ValueError(f"TensorArray dtype is {array.dtype} but Op is trying to write dtype {_value_dtype(value)}.")
    ends = np.cumsum(lengths, dtype=np.int64)
    for index, (end, length) in enumerate(zip(ends, lengths)):
        array.write(index, value[end - length:end])
    return flow_in


@KERNELS.define("TensorArraySizeV3")
def tensor_array_size_v3(handle, flow_in):
    return np.int32(_array(handle).size())


@KERNELS.define("TensorArrayCloseV3")
def tensor_array_close_v3(handle):
    _array(handle).close()
    return ()


# -- TensorList --------------------------------------------------------------------------------

class TensorList:
    """A TensorList variant: elements (None where never set), a partial element shape, a dtype
    and an optional capacity (-1 for none). Ops build new lists rather than mutate one."""

    __slots__ = ("elements", "element_shape", "element_dtype", "max_num_elements")

    def __init__(self, elements: list, element_shape: Shape, element_dtype: str, max_num_elements: int = -1):
        self.elements = elements
        self.element_shape = element_shape
        self.element_dtype = element_dtype
        self.max_num_elements = max_num_elements

    def __len__(self) -> int:
        return len(self.elements)

    def __repr__(self) -> str:
        return (f"TensorList(length={len(self.elements)}, element_shape={_describe(self.element_shape)}, "
                f"element_dtype={self.element_dtype})")

    def with_elements(self, elements: list) -> TensorList:
        return TensorList(elements, self.element_shape, self.element_dtype, self.max_num_elements)


def _list(handle, element_dtype: str | None = None) -> TensorList:
    if not isinstance(handle, TensorList):
        raise ValueError(f"Input handle is not a list. Saw: {type(handle).__name__}")
    if element_dtype is not None and not _same_dtype(element_dtype, handle.element_dtype):
        raise ValueError(f"Invalid data types; op elements {element_dtype} but list elements {handle.element_dtype}")
    return handle


def _check_item(tensor_list: TensorList, item: np.ndarray, what: str) -> None:
    if not _same_dtype(_value_dtype(item), tensor_list.element_dtype):
        raise ValueError(f"Invalid data types; list elements {tensor_list.element_dtype} but tried to {what} "
                         f"{_value_dtype(item)}")
    if not _compatible(tensor_list.element_shape, item.shape):
        raise ValueError(f"Tried to {what} a tensor with incompatible shape to a list. Item element shape: "
                         f"{_describe(item.shape)} list shape: {_describe(tensor_list.element_shape)}")


def _element_shape(tensor_list: TensorList, element_shape: np.ndarray, infer_from: Sequence | None = None) -> Shape:
    """The element_shape input merged with the list's (GetElementShapeFromInput); while not fully
    defined, also merged with the shapes of the set elements in `infer_from`."""
    shape = _merge(_shape_input(element_shape), tensor_list.element_shape)
    if infer_from is not None and not _fully_defined(tensor_list.element_shape):
        for element in infer_from:
            if element is not None:
                shape = _merge(shape, element.shape)
    return shape


def _stack(elements: Sequence, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    if not elements:
        return _zeros((0,) + shape, dtype)
    if len(elements) == 1 and elements[0] is not None:  # a view: a batch of one image needs no copy
        return np.asarray(elements[0])[np.newaxis]
    zeros = _zeros(shape, dtype) if any(e is None for e in elements) else None
    return np.stack([zeros if e is None else e for e in elements])


def _element_index(index, tensor_list: TensorList, verb: str) -> int:
    index = _int(index)
    if not 0 <= index < len(tensor_list):
        raise ValueError(f"Trying to {verb} element {index} in a list with {len(tensor_list)} elements.")
    return index


def _new_list_dtype(tensor: np.ndarray, element_dtype: str | None) -> str:
    return element_dtype if element_dtype is not None else _value_dtype(tensor)


def _rows(tensor: np.ndarray, element_shape: Shape) -> list:
    """tensor[0], tensor[1], ... (views) after TensorFlow's checks for building a list from a tensor."""
    if tensor.ndim == 0:
        raise ValueError(f"Tensor must be at least a vector, but saw shape: {_describe(tensor.shape)}")
    if not _compatible(element_shape, tensor.shape[1:]):
        raise ValueError(f"Specified a list with shape {_describe(element_shape)} from a tensor with shape "
                         f"{_describe(tensor.shape[1:])}")
    return list(tensor)


@KERNELS.define("EmptyTensorList")
def empty_tensor_list(element_shape, max_num_elements, *, element_dtype: str):
    if np.ndim(max_num_elements) != 0:
        raise ValueError(f"max_num_elements expected to be a scalar but got shape: {list(np.shape(max_num_elements))}")
    return TensorList([], _shape_input(element_shape), element_dtype, _int(max_num_elements))


@KERNELS.define("TensorListReserve")
def tensor_list_reserve(element_shape, num_elements, *, element_dtype: str):
    """A list of num_elements unset elements."""
    count = _int(num_elements)
    if count < 0:
        raise ValueError(f"The num_elements to reserve must be a non negative number, but got {count}")
    checked_size("a TensorList", (count,))
    return TensorList([None] * count, _shape_input(element_shape), element_dtype)


@KERNELS.define("TensorListFromTensor")
def tensor_list_from_tensor(tensor, element_shape, *, element_dtype: str | None = None):
    shape = _shape_input(element_shape)
    return TensorList(_rows(tensor, shape), shape, _new_list_dtype(tensor, element_dtype))


@KERNELS.define("TensorListStack")
def tensor_list_stack(input_handle, element_shape, *, element_dtype: str | None = None, num_elements: int = -1):
    """All elements stacked on a new axis 0 (zeros for unset ones); an empty list uses element_shape."""
    tensor_list = _list(input_handle, element_dtype)
    if num_elements != -1 and len(tensor_list) != num_elements:
        raise ValueError(f"Operation expected a list with {num_elements} elements but got a list with "
                         f"{len(tensor_list)} elements.")
    shape = _element_shape(tensor_list, element_shape, tensor_list.elements)
    if not tensor_list.elements and not _fully_defined(shape):
        raise ValueError(f"Tried to stack elements of an empty list with non-fully-defined element_shape: "
                         f"{_describe(shape)}")
    if not _fully_defined(shape):
        raise ValueError(f"Tried to stack list which only contains uninitialized tensors and has a "
                         f"non-fully-defined element_shape: {_describe(shape)}")
    return _stack(tensor_list.elements, shape, tensor_list.element_dtype)


@KERNELS.define("TensorListGather")
def tensor_list_gather(input_handle, indices, element_shape, *, element_dtype: str | None = None):
    tensor_list = _list(input_handle, element_dtype)
    indices = int_list(indices)
    for i in indices:
        if not 0 <= i < len(tensor_list):
            raise ValueError(f"Index {i} out of range; list only has {len(tensor_list)} elements.")
    chosen = [tensor_list.elements[i] for i in indices]
    shape = _element_shape(tensor_list, element_shape, chosen)
    if not indices and not _fully_defined(shape):
        raise ValueError(f"Tried to gather 0-elements from a list with non-fully-defined shape: {_describe(shape)}")
    if not _fully_defined(shape):
        raise ValueError(f"Tried to gather uninitialized tensors from a list with non-fully-defined "
                         f"element_shape: {_describe(shape)}")
    return _stack(chosen, shape, tensor_list.element_dtype)


@KERNELS.define("TensorListGetItem")
def tensor_list_get_item(input_handle, index, element_shape, *, element_dtype: str | None = None):
    """The element; zeros for an unset one whose shape the list, the input or set elements define."""
    tensor_list = _list(input_handle, element_dtype)
    index = _element_index(index, tensor_list, "access")
    item = tensor_list.elements[index]
    if item is not None:
        return item
    shape = _merge(_shape_input(element_shape), tensor_list.element_shape)
    if not _fully_defined(shape):
        shape = _element_shape(tensor_list, element_shape, tensor_list.elements)
    if not _fully_defined(shape):
        raise ValueError(f"Trying to read an uninitialized tensor but element_shape is not fully defined: "
                         f"{_describe(shape)} and no list element is set.")
    return _zeros(shape, tensor_list.element_dtype)


@KERNELS.define("TensorListSetItem")
def tensor_list_set_item(input_handle, index, item, *, element_dtype: str | None = None,
                         resize_if_index_out_of_bounds: bool = False):
    tensor_list = _list(input_handle, element_dtype)
    position = _int(index)
    elements = list(tensor_list.elements)
    if resize_if_index_out_of_bounds and position >= len(elements):
        elements.extend([None] * (position + 1 - len(elements)))
    elif not 0 <= position < len(elements):
        raise ValueError(f"Trying to modify element {position} in a list with {len(elements)} elements.")
    _check_item(tensor_list, item, "set")
    elements[position] = item
    return tensor_list.with_elements(elements)


@KERNELS.define("TensorListPushBack")
def tensor_list_push_back(input_handle, tensor, *, element_dtype: str | None = None):
    tensor_list = _list(input_handle, element_dtype)
    _check_item(tensor_list, tensor, "append")
    if tensor_list.max_num_elements != -1 and len(tensor_list) >= tensor_list.max_num_elements:
        raise ValueError(f"Tried to push item into a full list list size: {len(tensor_list)} max_num_elements: "
                         f"{tensor_list.max_num_elements}")
    return tensor_list.with_elements(tensor_list.elements + [tensor])


@KERNELS.define("TensorListPopBack")
def tensor_list_pop_back(input_handle, element_shape, *, element_dtype: str | None = None):
    """Outputs the list without its last element, and that element (zeros if unset)."""
    tensor_list = _list(input_handle, element_dtype)
    if not tensor_list.elements:
        raise ValueError("Trying to pop from an empty list.")
    item = tensor_list.elements[-1]
    if item is None:
        shape = _element_shape(tensor_list, element_shape)
        if not _fully_defined(shape):
            raise ValueError(f"Trying to read an uninitialized tensor but element_shape is not fully defined."
                             f"{_describe(shape)}")
        item = _zeros(shape, tensor_list.element_dtype)
    return tensor_list.with_elements(tensor_list.elements[:-1]), item


@KERNELS.define("TensorListLength")
def tensor_list_length(input_handle):
    return np.int32(len(_list(input_handle)))


@KERNELS.define("TensorListResize")
def tensor_list_resize(input_handle, size):
    """Truncates, or pads with unset elements."""
    tensor_list = _list(input_handle)
    size = _int(size)
    if size < 0:
        raise ValueError(f"TensorListSlice expects size to be non-negative. Got: {size}")
    kept = tensor_list.elements[:size]
    return tensor_list.with_elements(kept + [None] * (size - len(kept)))


def _scatter(tensor, indices, element_shape, num_elements: int, element_dtype: str | None) -> TensorList:
    shape = _shape_input(element_shape)
    rows = _rows(tensor, shape)
    indices = int_list(indices)
    if len(indices) != len(rows):
        raise ValueError(f"Invalid number of rows in input tensor. Expected: {len(indices)} Actual: {len(rows)}")
    if num_elements < -1:
        raise ValueError(f"TensorListScatter expects num_elements >= -1, found: {num_elements}")
    for i in indices:
        if i < 0:
            raise ValueError("Indices in TensorListScatter must all be non-negative.")
        if num_elements != -1 and i >= num_elements:
            raise ValueError(f"TensorListScatter: Trying to scatter at index {i} in list with size {num_elements}")
    elements = [None] * max(max(indices, default=-1) + 1, num_elements)
    for i, row in zip(indices, rows):
        elements[i] = row
    return TensorList(elements, shape, _new_list_dtype(tensor, element_dtype))


@KERNELS.define("TensorListScatter")
def tensor_list_scatter(tensor, indices, element_shape, *, element_dtype: str | None = None):
    """A new list with tensor[i] at indices[i], sized to the largest index."""
    return _scatter(tensor, indices, element_shape, -1, element_dtype)


@KERNELS.define("TensorListScatterV2")
def tensor_list_scatter_v2(tensor, indices, element_shape, num_elements, *, element_dtype: str | None = None):
    """As TensorListScatter, with at least num_elements elements (-1: as many as the indices need)."""
    return _scatter(tensor, indices, element_shape, _int(num_elements), element_dtype)


@KERNELS.define("TensorListScatterIntoExistingList")
def tensor_list_scatter_into_existing_list(input_handle, tensor, indices, *, element_dtype: str | None = None):
    """The list with tensor[i] at indices[i], grown to fit the largest index (TensorArray.scatter)."""
    tensor_list = _list(input_handle, element_dtype)
    if not _same_dtype(_value_dtype(tensor), tensor_list.element_dtype):
        raise ValueError(f"Invalid data types; input tensor type: {_value_dtype(tensor)} list element_type: "
                         f"{tensor_list.element_dtype}")
    rows = _rows(tensor, None)
    indices = int_list(indices)
    if len(indices) != len(rows):
        raise ValueError(f"Expected len(indices) == tensor.shape[0], but saw: {len(indices)} vs. {len(rows)}")
    if any(i < 0 for i in indices):
        raise ValueError("Indices in TensorListScatterIntoExistingList must all be non-negative.")
    elements = list(tensor_list.elements)
    elements.extend([None] * (max(indices, default=-1) + 1 - len(elements)))
    for i, row in zip(indices, rows):
        elements[i] = row
    return tensor_list.with_elements(elements)


@KERNELS.define("TensorListSplit")
def tensor_list_split(tensor, element_shape, lengths, *, element_dtype: str | None = None):
    """A new list of consecutive pieces of tensor along axis 0, of the given lengths."""
    shape = _shape_input(element_shape)
    if shape is not None and len(shape) < 1:
        raise ValueError(f"TensorListSplit requires element_shape to be at least of rank 1, but saw: "
                         f"{_describe(shape)}")
    if tensor.ndim == 0:
        raise ValueError(f"Tensor must be at least a vector, but saw shape: {_describe(tensor.shape)}")
    if not _compatible(None if shape is None else shape[1:], tensor.shape[1:]):
        raise ValueError(f"tensor shape {_describe(tensor.shape)} is not compatible with element_shape "
                         f"{_describe(shape)}")
    pieces, start = [], 0
    for length in int_list(lengths):
        if length < 0:
            raise ValueError(f"Invalid value in lengths: {length}")
        if start + length > tensor.shape[0]:
            raise ValueError(f"Attempting to slice [{start}, {start + length}] from tensor with length "
                             f"{tensor.shape[0]}")
        pieces.append(tensor[start:start + length])
        start += length
    if start != tensor.shape[0]:
        raise ValueError(f"Unused values in tensor. Length of tensor: {tensor.shape[0]} Values used: {start}")
    return TensorList(pieces, shape, _new_list_dtype(tensor, element_dtype))


def _concat(tensor_list: TensorList, except_first: Shape, first_dim: int,
            leading_dims: list[int] | None) -> tuple[np.ndarray, np.ndarray]:
    """TensorFlow's TensorListConcat: unset elements become zeros whose first dimension comes from
    leading_dims, else from element_shape, else from the set elements when they all agree."""
    if not tensor_list.elements and not _fully_defined(except_first):
        raise ValueError(f"All except the first dimension must be fully defined when concating an empty tensor "
                         f"list. element_shape: {_describe(except_first)}")
    if not _fully_defined(tensor_list.element_shape):
        inferred, agreeing = first_dim, first_dim == -1
        for i, element in enumerate(tensor_list.elements):
            if element is None:
                continue
            if element.ndim == 0:
                raise ValueError(f"Concat saw a scalar shape at index {i} but requires at least vectors.")
            except_first = _merge(except_first, element.shape[1:])
            if first_dim != -1 and first_dim != element.shape[0]:
                raise ValueError(f"First entry of element_shape input does not match the first dim of list element "
                                 f"at index: {i} Expected: {first_dim} Actual: {element.shape[0]}")
            if agreeing and inferred == -1:
                inferred = element.shape[0]
            elif agreeing and inferred != element.shape[0]:
                inferred, agreeing = -1, False
        first_dim = inferred
    if not _fully_defined(except_first):
        raise ValueError(f"Trying to concat list with only uninitialized tensors but element_shape_except_first_dim "
                         f"is not fully defined: {_describe(except_first)}")
    lengths = []
    for i, element in enumerate(tensor_list.elements):
        if element is not None:
            lengths.append(element.shape[0])
        elif (leading_dims is None or i >= len(leading_dims)) and first_dim != -1:
            lengths.append(first_dim)
        elif leading_dims is None:
            raise ValueError("Concating lists with uninitialized tensors is not supported in this version of "
                             "TensorListConcat. Consider updating your GraphDef to run the newer version.")
        elif i >= len(leading_dims):
            raise ValueError(f"List contains uninitialized tensor at index {i} but leading_dims has only "
                             f"{len(leading_dims)} elements.")
        else:
            lengths.append(leading_dims[i])
    dtype = tensor_list.element_dtype
    parts = [_zeros((length,) + except_first, dtype) if element is None else element
             for element, length in zip(tensor_list.elements, lengths)]
    value = np.concatenate(parts) if parts else _zeros((0,) + except_first, dtype)
    return value, np.array(lengths, np.int64)


@KERNELS.define("TensorListConcat")
def tensor_list_concat(input_handle, *, element_dtype: str | None = None, element_shape=None):
    """Concatenates the elements along axis 0; also outputs their lengths (int64)."""
    tensor_list = _list(input_handle, element_dtype)
    shape = _shape_attr(element_shape)
    return _concat(tensor_list, None if shape is None else shape[1:], -1, None)


@KERNELS.define("TensorListConcatV2")
def tensor_list_concat_v2(input_handle, element_shape, leading_dims, *, element_dtype: str | None = None):
    """As TensorListConcat; element_shape's first dimension and leading_dims size unset elements."""
    tensor_list = _list(input_handle, element_dtype)
    shape = _element_shape(tensor_list, element_shape)
    if shape is not None and len(shape) < 1:
        raise ValueError("Concat requires elements to be at least vectors, found scalars instead.")
    first_dim, except_first = (-1, None) if shape is None else (shape[0], shape[1:])
    return _concat(tensor_list, except_first, first_dim, int_list(leading_dims))

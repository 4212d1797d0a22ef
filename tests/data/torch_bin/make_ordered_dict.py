"""Writes ordered_dict.bin: what torch.save(model.state_dict()) writes, made
without PyTorch. Python's own pickle (protocol 2) runs over stand-ins that
pickle under torch's names, so the opcodes are the real Pickler's: an
OrderedDict with a _metadata attribute (REDUCE, SETITEMS, then BUILD), a
Parameter (_rebuild_parameter), two views of one storage (one transposed),
half and int64 storages, and a byteorder record.

Run: python3 make_ordered_dict.py  (tests/torch_bin_test.cpp reads the result)
"""
import collections
import io
import pickle
import struct
import sys
import types
import zipfile

torch = types.ModuleType("torch")
utils = types.ModuleType("torch._utils")
sys.modules["torch"], sys.modules["torch._utils"] = torch, utils


def _rebuild_tensor_v2(*args):
    raise NotImplementedError


def _rebuild_parameter(*args):
    raise NotImplementedError


for f in (_rebuild_tensor_v2, _rebuild_parameter):
    f.__module__, f.__qualname__ = "torch._utils", f.__name__
    setattr(utils, f.__name__, f)


def storage_class(name):
    cls = type(name, (), {"__module__": "torch"})
    setattr(torch, name, cls)
    return cls


FloatStorage, HalfStorage, LongStorage = (storage_class(n) for n in ("FloatStorage", "HalfStorage", "LongStorage"))


class Storage:
    def __init__(self, kind, key, fmt, values):
        self.kind, self.key, self.data, self.numel = kind, key, struct.pack("<%d%s" % (len(values), fmt), *values), len(values)


class Tensor:
    def __init__(self, storage, offset, size, stride, parameter=False):
        self.args = (storage, offset, size, stride, False, collections.OrderedDict())
        self.parameter = parameter

    def __reduce_ex__(self, protocol):
        plain = (_rebuild_tensor_v2, self.args)
        if not self.parameter:
            return plain
        return (_rebuild_parameter, (PlainTensor(self.args), False, collections.OrderedDict()))


class PlainTensor(Tensor):
    def __init__(self, args):
        self.args, self.parameter = args, False


weights = Storage(FloatStorage, "0", "f", [0, 1, 2, 3, 4, 5])
halves = Storage(HalfStorage, "1", "e", [0.5, -1.5])
ids = Storage(LongStorage, "2", "q", [7, -3, 2**40])

state = collections.OrderedDict()
state["encoder.weight"] = Tensor(weights, 0, (2, 3), (3, 1), parameter=True)
state["encoder.weight_t"] = Tensor(weights, 0, (3, 2), (1, 3))
state["encoder.tail"] = Tensor(weights, 4, (2,), (1,))
state["head.bias"] = Tensor(halves, 0, (2,), (1,))
state["position_ids"] = Tensor(ids, 0, (1, 3), (3, 1))
state._metadata = collections.OrderedDict([("", {"version": 1}), ("encoder", {"version": 2})])

buffer = io.BytesIO()
pickler = pickle.Pickler(buffer, protocol=2)
pickler.persistent_id = lambda obj: (
    ("storage", obj.kind, obj.key, "cpu", obj.numel) if isinstance(obj, Storage) else None)
pickler.dump(state)

with zipfile.ZipFile(sys.path[0] + "/ordered_dict.bin", "w", zipfile.ZIP_STORED) as z:
    z.writestr("ordered_dict/data.pkl", buffer.getvalue())
    z.writestr("ordered_dict/byteorder", "little")
    for s in (weights, halves, ids):
        z.writestr("ordered_dict/data/" + s.key, s.data)
    z.writestr("ordered_dict/version", "3\n")

#include "io/torch_pickle.h"

#include <cstdio>
#include <deque>
#include <unordered_map>

#include "gliclass/error.h"

namespace gliclass::io {
namespace {

struct TorchStorageType {
  const char* name;
  c10::ScalarType dtype;
  size_t size;
};
constexpr TorchStorageType kTorchStorageTypes[] = {
    {"FloatStorage", c10::ScalarType::Float, 4}, {"DoubleStorage", c10::ScalarType::Double, 8},
    {"HalfStorage", c10::ScalarType::Half, 2},   {"BFloat16Storage", c10::ScalarType::BFloat16, 2},
    {"LongStorage", c10::ScalarType::Long, 8},   {"IntStorage", c10::ScalarType::Int, 4},
    {"ShortStorage", c10::ScalarType::Short, 2}, {"CharStorage", c10::ScalarType::Char, 1},
    {"ByteStorage", c10::ScalarType::Byte, 1},   {"BoolStorage", c10::ScalarType::Bool, 1},
};

// The callables a state_dict pickle may name; storage classes are
// kStorageClass with the class's index in kTorchStorageTypes.
enum class PickleGlobal { kOrderedDict, kRebuildTensor, kRebuildParameter, kRestoreTypeTag, kStorageClass };

struct PickleValue {
  enum class Kind { kNone, kBool, kInt, kFloat, kString, kTuple, kList, kDict, kGlobal, kStorage, kTensor };
  Kind kind = Kind::kNone;
  size_t depth = 1;                 // 1 + the deepest value it holds
  int64_t number = 0;               // bool, int; the global's PickleGlobal; storage / tensor index
  int64_t storage_type = 0;         // kStorageClass: index into kTorchStorageTypes
  std::string text;                 // str; a global's "module.name"
  std::vector<PickleValue*> items;  // tuple and list; a dict as key, value, key, value, ...
};
using PickleKind = PickleValue::Kind;

const char* kind_name(PickleKind kind) {
  static const char* const names[] = {"None", "bool", "int",    "float",   "str",   "tuple",
                                      "list", "dict", "global", "storage", "tensor"};
  return names[static_cast<int>(kind)];
}

// Names of the opcodes this reader refuses, for its error messages.
const char* unsupported_opcode_name(uint8_t op) {
  switch (op) {
    case '0': return "POP";
    case '1': return "POP_MARK";
    case '2': return "DUP";
    case 'F': return "FLOAT";
    case 'I': return "INT";
    case 'L': return "LONG";
    case 'P': return "PERSID";
    case 'S': return "STRING";
    case 'T': return "BINSTRING";
    case 'U': return "SHORT_BINSTRING";
    case 'V': return "UNICODE";
    case 'g': return "GET";
    case 'i': return "INST";
    case 'o': return "OBJ";
    case 'p': return "PUT";
    case 0x81: return "NEWOBJ";
    case 0x82: return "EXT1";
    case 0x83: return "EXT2";
    case 0x84: return "EXT4";
    case 0x8b: return "LONG4";
    case 'B': return "BINBYTES";
    case 'C': return "SHORT_BINBYTES";
    case 0x8e: return "BINBYTES8";
    case 0x8f: return "EMPTY_SET";
    case 0x90: return "ADDITEMS";
    case 0x91: return "FROZENSET";
    case 0x92: return "NEWOBJ_EX";
    case 0x96: return "BYTEARRAY8";
    case 0x97: return "NEXT_BUFFER";
    case 0x98: return "READONLY_BUFFER";
    default: return nullptr;
  }
}

std::string dims_text(const std::vector<int64_t>& dims) {
  std::string out = "[";
  for (size_t i = 0; i < dims.size(); ++i) out += (i ? ", " : "") + std::to_string(dims[i]);
  return out + "]";
}

class StateDictUnpickler {
 public:
  StateDictUnpickler(std::string_view bytes, const std::string& where) : in_(bytes), where_(where) {}

  PickledStateDict run() {
    for (;;) {
      const size_t at = pos_;
      if (at == in_.size()) fail("ends at byte " + std::to_string(at) + " without a STOP opcode (truncated?)");
      const uint8_t op = read_u8();
      if (op == '.') return finish(pop());  // STOP
      step(op, at);
    }
  }

 private:
  using Limits = PickleLimits;

  [[noreturn]] void fail(const std::string& what) const { throw ModelError(where_ + "data.pkl: " + what); }

  // --- reading the byte stream ---
  void need(uint64_t n) const {
    if (n > in_.size() - pos_)
      fail("ends in the middle of an opcode at byte " + std::to_string(pos_) + " (truncated?)");
  }
  uint64_t read_le(size_t n) {
    need(n);
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(in_[pos_ + i])) << (8 * i);
    pos_ += n;
    return v;
  }
  uint8_t read_u8() { return static_cast<uint8_t>(read_le(1)); }
  std::string read_bytes(uint64_t n) {
    need(n);
    std::string out(in_.substr(pos_, static_cast<size_t>(n)));
    pos_ += static_cast<size_t>(n);
    return out;
  }
  std::string read_line() {
    const size_t end = in_.find('\n', pos_);
    if (end == std::string_view::npos) fail("GLOBAL at byte " + std::to_string(pos_) + " has no newline");
    if (end - pos_ > Limits::kMaxGlobalName)
      fail("GLOBAL name longer than " + std::to_string(Limits::kMaxGlobalName) + " bytes");
    std::string out(in_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return out;
  }

  // --- values and the stack ---
  PickleValue* make(PickleKind kind) {
    if (values_.size() >= Limits::kMaxObjects)
      fail("builds more than " + std::to_string(Limits::kMaxObjects) + " objects");
    values_.emplace_back();
    values_.back().kind = kind;
    return &values_.back();
  }
  PickleValue* make_int(int64_t v) {
    PickleValue* out = make(PickleKind::kInt);
    out->number = v;
    return out;
  }
  void push(PickleValue* v) {
    if (stack_.size() >= Limits::kMaxStack)
      fail("stack grows past " + std::to_string(Limits::kMaxStack) + " values");
    stack_.push_back(v);
  }
  PickleValue* pop() {
    if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) fail("pops from an empty stack (or across a MARK)");
    PickleValue* v = stack_.back();
    stack_.pop_back();
    return v;
  }
  PickleValue* top() {
    if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) fail("reads from an empty stack (or across a MARK)");
    return stack_.back();
  }
  std::vector<PickleValue*> pop_mark() {
    if (marks_.empty()) fail("an opcode needs a MARK but none is open");
    std::vector<PickleValue*> items(stack_.begin() + static_cast<std::ptrdiff_t>(marks_.back()), stack_.end());
    stack_.resize(marks_.back());
    marks_.pop_back();
    return items;
  }
  // `container` now holds `child`: its depth grows, within the limit.
  void hold(PickleValue* container, const PickleValue* child) {
    if (child->depth + 1 > container->depth) container->depth = child->depth + 1;
    if (container->depth > Limits::kMaxDepth)
      fail("objects nested deeper than " + std::to_string(Limits::kMaxDepth) + " levels");
  }
  PickleValue* make_sequence(PickleKind kind, const std::vector<PickleValue*>& items) {
    PickleValue* out = make(kind);
    for (PickleValue* v : items) hold(out, v);
    out->items = items;
    return out;
  }
  void add_items(PickleValue* target, const std::vector<PickleValue*>& items, PickleKind kind, const char* op) {
    if (target->kind != kind)
      fail(std::string(op) + " on a " + kind_name(target->kind) + ", not a " + kind_name(kind));
    if (kind == PickleKind::kDict && items.size() % 2 != 0) fail(std::string(op) + " with an odd number of values");
    for (PickleValue* v : items) hold(target, v);
    target->items.insert(target->items.end(), items.begin(), items.end());
  }
  void memo_put(uint64_t index) {
    PickleValue* v = top();
    if (memo_.size() >= Limits::kMaxMemo && memo_.count(index) == 0)
      fail("memo grows past " + std::to_string(Limits::kMaxMemo) + " entries");
    memo_[index] = v;
  }
  PickleValue* memo_get(uint64_t index) const {
    auto it = memo_.find(index);
    if (it == memo_.end()) fail("memo entry " + std::to_string(index) + " read before it was written");
    return it->second;
  }

  void step(uint8_t op, size_t at);
  PickleValue* global(const std::string& module, const std::string& name);
  PickleValue* reduce(const PickleValue& callable, const PickleValue& args);
  PickleValue* persistent_load(const PickleValue& pid);
  PickleValue* rebuild_tensor(const PickleValue& args);
  PickledStateDict finish(const PickleValue* root);

  std::string_view in_;
  std::string where_;
  size_t pos_ = 0;
  std::deque<PickleValue> values_;  // every value built; the stack and memo point into it
  std::vector<PickleValue*> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, PickleValue*> memo_;
  PickledStateDict out_;
  std::vector<PickledTensor> tensors_;
  std::unordered_map<std::string, size_t> storage_by_key_;
};

void StateDictUnpickler::step(uint8_t op, size_t at) {
  switch (op) {
    case 0x80: {  // PROTO
      const uint8_t version = read_u8();
      if (version > 5) fail("pickle protocol " + std::to_string(version) + " is unknown (expected 2 to 5)");
      break;
    }
    case 0x95: read_le(8); break;  // FRAME: a length hint
    case '(':                      // MARK
      if (marks_.size() >= Limits::kMaxDepth)
        fail("MARKs nested deeper than " + std::to_string(Limits::kMaxDepth) + " levels");
      marks_.push_back(stack_.size());
      break;
    case '}': push(make(PickleKind::kDict)); break;                        // EMPTY_DICT
    case ']': push(make(PickleKind::kList)); break;                        // EMPTY_LIST
    case ')': push(make(PickleKind::kTuple)); break;                       // EMPTY_TUPLE
    case 't': push(make_sequence(PickleKind::kTuple, pop_mark())); break;  // TUPLE
    case 'l': push(make_sequence(PickleKind::kList, pop_mark())); break;   // LIST
    case 'd': {                                                            // DICT
      auto items = pop_mark();
      if (items.size() % 2 != 0) fail("DICT with an odd number of values");
      push(make_sequence(PickleKind::kDict, items));
      break;
    }
    case 0x85:
    case 0x86:
    case 0x87: {  // TUPLE1, TUPLE2, TUPLE3
      std::vector<PickleValue*> items(op - 0x84);
      for (size_t i = items.size(); i-- > 0;) items[i] = pop();
      push(make_sequence(PickleKind::kTuple, items));
      break;
    }
    case 'X':
    case 0x8c:
    case 0x8d: {  // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8
      const uint64_t n = read_le(op == 'X' ? 4 : op == 0x8c ? 1 : 8);
      PickleValue* s = make(PickleKind::kString);
      s->text = read_bytes(n);
      push(s);
      break;
    }
    case 'J': push(make_int(static_cast<int32_t>(static_cast<uint32_t>(read_le(4))))); break;  // BININT
    case 'K': push(make_int(read_u8())); break;                                                // BININT1
    case 'M': push(make_int(static_cast<int64_t>(read_le(2)))); break;                         // BININT2
    case 0x8a: {  // LONG1: n bytes, little-endian two's complement
      const uint8_t n = read_u8();
      if (n > 8) fail("integer of " + std::to_string(n) + " bytes at byte " + std::to_string(at) + " is too large");
      uint64_t v = n ? read_le(n) : 0;
      if (n > 0 && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~uint64_t{0} << (8 * n);
      push(make_int(static_cast<int64_t>(v)));
      break;
    }
    case 'G': {    // BINFLOAT: a big-endian IEEE double
      read_le(8);  // no float is used: hooks and metadata are not kept
      push(make(PickleKind::kFloat));
      break;
    }
    case 'N': push(make(PickleKind::kNone)); break;
    case 0x88:
    case 0x89: {  // NEWTRUE, NEWFALSE
      PickleValue* v = make(PickleKind::kBool);
      v->number = op == 0x88;
      push(v);
      break;
    }
    case 'c': {  // GLOBAL "module\nname\n"
      std::string module = read_line();
      push(global(module, read_line()));
      break;
    }
    case 0x93: {  // STACK_GLOBAL
      PickleValue* name = pop();
      PickleValue* module = pop();
      if (name->kind != PickleKind::kString || module->kind != PickleKind::kString)
        fail("STACK_GLOBAL needs two strings");
      push(global(module->text, name->text));
      break;
    }
    case 'Q': push(persistent_load(*pop())); break;  // BINPERSID
    case 'R': {                                      // REDUCE
      PickleValue* args = pop();
      PickleValue* callable = pop();
      push(reduce(*callable, *args));
      break;
    }
    case 'b': {  // BUILD: an OrderedDict's attributes (the state_dict's _metadata) are not kept
      pop();
      if (top()->kind != PickleKind::kDict)
        fail(std::string("BUILD on a ") + kind_name(top()->kind) + ", not a dict");
      break;
    }
    case 's': {  // SETITEM
      PickleValue* value = pop();
      PickleValue* key = pop();
      add_items(top(), {key, value}, PickleKind::kDict, "SETITEM");
      break;
    }
    case 'u': {
      auto items = pop_mark();
      add_items(top(), items, PickleKind::kDict, "SETITEMS");
      break;
    }
    case 'a': {
      PickleValue* v = pop();
      add_items(top(), {v}, PickleKind::kList, "APPEND");
      break;
    }
    case 'e': {
      auto items = pop_mark();
      add_items(top(), items, PickleKind::kList, "APPENDS");
      break;
    }
    case 'q': memo_put(read_u8()); break;         // BINPUT
    case 'r': memo_put(read_le(4)); break;        // LONG_BINPUT
    case 0x94: memo_put(memo_.size()); break;     // MEMOIZE
    case 'h': push(memo_get(read_u8())); break;   // BINGET
    case 'j': push(memo_get(read_le(4))); break;  // LONG_BINGET
    default: {
      const char* name = unsupported_opcode_name(op);
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02x", op);
      fail(std::string("unsupported pickle opcode ") + (name ? std::string(name) + " (" + hex + ")" : hex) +
           " at byte " + std::to_string(at) + " (not written by torch.save for a state_dict)");
    }
  }
}

PickleValue* StateDictUnpickler::global(const std::string& module, const std::string& name) {
  PickleValue* v = make(PickleKind::kGlobal);
  v->text = module + "." + name;
  if (v->text == "collections.OrderedDict") {
    v->number = static_cast<int64_t>(PickleGlobal::kOrderedDict);
  } else if (v->text == "torch._utils._rebuild_tensor_v2") {
    v->number = static_cast<int64_t>(PickleGlobal::kRebuildTensor);
  } else if (v->text == "torch._utils._rebuild_parameter") {
    v->number = static_cast<int64_t>(PickleGlobal::kRebuildParameter);
  } else if (v->text == "torch.jit._pickle.restore_type_tag") {  // LibTorch's pickle_save
    v->number = static_cast<int64_t>(PickleGlobal::kRestoreTypeTag);
  } else {
    int64_t found = -1;
    for (size_t i = 0; module == "torch" && i < std::size(kTorchStorageTypes); ++i)
      if (name == kTorchStorageTypes[i].name) found = static_cast<int64_t>(i);
    if (found < 0)
      fail("global \"" + v->text +
           "\" is not allowed (a state_dict holds only OrderedDicts, tensors and "
           "torch.<Type>Storage of float, double, half, bfloat16, long, int, short, char, byte, bool)");
    v->number = static_cast<int64_t>(PickleGlobal::kStorageClass);
    v->storage_type = found;
  }
  return v;
}

PickleValue* StateDictUnpickler::reduce(const PickleValue& callable, const PickleValue& args) {
  if (callable.kind != PickleKind::kGlobal) fail(std::string("REDUCE calls a ") + kind_name(callable.kind));
  if (args.kind != PickleKind::kTuple)
    fail("REDUCE of " + callable.text + " with a " + kind_name(args.kind) + " of arguments");
  switch (static_cast<PickleGlobal>(callable.number)) {
    case PickleGlobal::kOrderedDict:
      if (!args.items.empty()) fail("collections.OrderedDict called with arguments");
      return make(PickleKind::kDict);
    case PickleGlobal::kRebuildTensor: return rebuild_tensor(args);
    case PickleGlobal::kRebuildParameter:  // (tensor, requires_grad, backward_hooks)
      if (args.items.size() != 3 || args.items[0]->kind != PickleKind::kTensor)
        fail("torch._utils._rebuild_parameter expects (tensor, requires_grad, backward_hooks)");
      return args.items[0];
    case PickleGlobal::kRestoreTypeTag:  // (value, type name)
      if (args.items.size() != 2) fail("torch.jit._pickle.restore_type_tag expects (value, type)");
      return args.items[0];
    case PickleGlobal::kStorageClass: break;
  }
  fail("REDUCE calls " + callable.text + ", which is only a storage type");
}

PickleValue* StateDictUnpickler::persistent_load(const PickleValue& pid) {
  const auto& f = pid.items;
  if (pid.kind != PickleKind::kTuple || f.size() != 5 || f[0]->kind != PickleKind::kString ||
      f[0]->text != "storage" || f[1]->kind != PickleKind::kGlobal ||
      static_cast<PickleGlobal>(f[1]->number) != PickleGlobal::kStorageClass || f[2]->kind != PickleKind::kString ||
      f[3]->kind != PickleKind::kString || f[4]->kind != PickleKind::kInt)
    fail("persistent id is not ('storage', torch.<Type>Storage, key, location, numel)");
  const TorchStorageType& type = kTorchStorageTypes[f[1]->storage_type];
  if (f[4]->number < 0) fail("storage \"" + f[2]->text + "\" has " + std::to_string(f[4]->number) + " elements");
  auto [it, added] = storage_by_key_.emplace(f[2]->text, out_.storages.size());
  if (added) {
    out_.storages.push_back({f[2]->text, type.dtype, type.size, static_cast<uint64_t>(f[4]->number)});
  } else {
    const PickledStorage& seen = out_.storages[it->second];
    if (seen.dtype != type.dtype || seen.numel != static_cast<uint64_t>(f[4]->number))
      fail("storage \"" + f[2]->text + "\" is declared twice with different types or sizes");
  }
  PickleValue* v = make(PickleKind::kStorage);
  v->number = static_cast<int64_t>(it->second);
  return v;
}

// _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad,
// backward_hooks[, metadata]): a strided view of the storage.
PickleValue* StateDictUnpickler::rebuild_tensor(const PickleValue& args) {
  const auto& a = args.items;
  if ((a.size() != 6 && a.size() != 7) || a[0]->kind != PickleKind::kStorage || a[1]->kind != PickleKind::kInt ||
      a[2]->kind != PickleKind::kTuple || a[3]->kind != PickleKind::kTuple)
    fail("torch._utils._rebuild_tensor_v2 expects (storage, offset, size, stride, requires_grad, hooks)");
  const PickledStorage& storage = out_.storages[static_cast<size_t>(a[0]->number)];
  PickledTensor t;
  t.storage = static_cast<size_t>(a[0]->number);
  t.offset = a[1]->number;
  if (a[2]->items.size() != a[3]->items.size() || a[2]->items.size() > Limits::kMaxDims)
    fail("tensor of storage \"" + storage.key + "\" has " + std::to_string(a[2]->items.size()) + " sizes and " +
         std::to_string(a[3]->items.size()) + " strides (expected the same number, at most " +
         std::to_string(Limits::kMaxDims) + ")");
  for (size_t i = 0; i < a[2]->items.size(); ++i) {
    const PickleValue* size = a[2]->items[i];
    const PickleValue* stride = a[3]->items[i];
    if (size->kind != PickleKind::kInt || stride->kind != PickleKind::kInt || size->number < 0 ||
        stride->number < 0)
      fail("tensor of storage \"" + storage.key + "\": sizes and strides must be non-negative integers");
    t.sizes.push_back(size->number);
    t.strides.push_back(stride->number);
  }
  const std::string view = "tensor of storage \"" + storage.key + "\" (offset " + std::to_string(t.offset) +
                           ", sizes " + dims_text(t.sizes) + ", strides " + dims_text(t.strides) + ")";
  if (t.offset < 0) fail(view + ": negative offset");
  // Elements, and the last element the view reaches: offset + sum (size_i - 1) * stride_i.
  // A view may not hold more elements than its storage (no overlapping views).
  uint64_t numel = 1, last = static_cast<uint64_t>(t.offset);
  bool empty = false;
  for (int64_t size : t.sizes) empty = empty || size == 0;
  for (size_t i = 0; !empty && i < t.sizes.size(); ++i) {
    const auto size = static_cast<uint64_t>(t.sizes[i]);
    uint64_t reach = 0;
    if (__builtin_mul_overflow(numel, size, &numel) || numel > storage.numel ||
        __builtin_mul_overflow(size - 1, static_cast<uint64_t>(t.strides[i]), &reach) ||
        __builtin_add_overflow(last, reach, &last))
      fail(view + " needs more elements than storage \"" + storage.key + "\" holds (" +
           std::to_string(storage.numel) + ")");
  }
  if (empty) numel = 0;
  if (empty ? last > storage.numel : last >= storage.numel)
    fail(view + " reaches past the end of storage \"" + storage.key + "\" (" + std::to_string(storage.numel) +
         " elements)");
  t.numel = static_cast<int64_t>(numel);
  PickleValue* v = make(PickleKind::kTensor);
  v->number = static_cast<int64_t>(tensors_.size());
  tensors_.push_back(std::move(t));
  return v;
}

PickledStateDict StateDictUnpickler::finish(const PickleValue* root) {
  if (root->kind != PickleKind::kDict)
    fail(std::string("the pickled object is a ") + kind_name(root->kind) + ", not a state_dict");
  for (size_t i = 0; i + 1 < root->items.size(); i += 2) {
    const PickleValue* key = root->items[i];
    const PickleValue* value = root->items[i + 1];
    if (key->kind != PickleKind::kString)
      fail(std::string("a state_dict key is a ") + kind_name(key->kind) + ", not a string");
    if (value->kind != PickleKind::kTensor)
      fail("\"" + key->text + "\" is a " + kind_name(value->kind) + ", not a tensor");
    out_.tensors[key->text] = tensors_[static_cast<size_t>(value->number)];  // a later key wins, as in Python
  }
  return std::move(out_);
}

}  // namespace

PickledStateDict read_state_dict_pickle(std::string_view pickle, const std::string& where) {
  return StateDictUnpickler(pickle, where).run();
}

}  // namespace gliclass::io

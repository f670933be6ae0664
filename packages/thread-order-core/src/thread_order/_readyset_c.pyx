# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The ready-set core, compiled: the twin of ``_readyset_py.ReadySet``.

It must behave exactly like the pure-Python reference (same results, same list orders, same
errors); ``_readyset.py`` selects between them. The bookkeeping lives in flat C arrays allocated
with ``PyMem_Malloc`` (so ``tracemalloc`` sees them):

* ``succ_off`` (n + 1) and ``succ`` (E): the successor CSR, int32;
* ``indeg`` (n): remaining indegrees, int32 (``_NEVER`` once a task is skipped or cancelled);
* ``state`` (n): task states, uint8;
* ``flags`` (n): the trigger rule (2 bits, normalised) and the "a dependency did not pass" bit;
* the ready queue: ``rank`` (n) and ``byrank`` (n), int32, and a 64-ary bitset tree over ranks.

The dispatch order (priority desc, then id asc) is static for a run, so the ids are sorted by
it once (``byrank[r]`` is the id of rank ``r``, ``rank[i]`` its inverse): by the default
priority when the graph is built, by a given one in ``reset()``. The queue
is the set of queued ranks: a push sets a bit, a pop finds the lowest set bit with one
count-trailing-zeros per level (3 levels up to 262144 tasks, 4 up to 16.7M). That costs a few
dependent loads and no data-dependent branches, where a binary heap of ids costs ~2 log2(size)
indirect priority loads and mispredicted comparisons per pop.

That is 34 bytes per task (plus 1/63 of a byte of bitset) and 4 per dependency edge. The
priorities themselves are not kept (the default, the longest-chain lengths, is recomputed by
``chain_lengths()``), nor is the predecessor CSR (initial indegrees are recounted from ``succ``).
Small scratch buffers (the skip stack, the newly-ready ids of one ``finish`` call and the
pending skips) grow on demand.

No method releases the GIL and nothing calls back into Python code while the state is being
mutated: result lists are built before the mutation starts or after it is complete.
"""

cimport cython
from cpython cimport array as carray
from cpython.dict cimport PyDict_GetItemWithError, PyDict_Next
from cpython.object cimport PyObject
from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.list cimport PyList_New, PyList_SET_ITEM
from cpython.long cimport PyLong_FromLong
from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from cpython.ref cimport Py_INCREF
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.string cimport memset

from array import array as _array

cdef carray.array _OFF_TEMPLATE = _array("i")

# Task states. The first three are live; the rest are terminal.
cdef enum:
    S_PENDING = 0
    S_QUEUED = 1
    S_RUNNING = 2
    S_PASSED = 3
    S_FAILED = 4
    S_SKIPPED = 5
    S_CANCELLED = 6
    S_TIMED_OUT = 7

# Trigger rules. Internally any rule byte other than ALL_PASSED / ANY_FAILED acts as ALL_DONE,
# exactly as in the Python reference (which only ever compares with those two).
cdef enum:
    R_ALL_PASSED = 0
    R_ALL_DONE = 1
    R_ANY_FAILED = 2
    F_RULE = 3  # mask of the rule bits in ``flags``
    F_BAD = 4  # a dependency failed or was skipped

cdef enum:
    C_NEVER = 1 << 30
    C_MAX_TASKS = 0x7FFFFFFE

PENDING = S_PENDING
QUEUED = S_QUEUED
RUNNING = S_RUNNING
PASSED = S_PASSED
FAILED = S_FAILED
SKIPPED = S_SKIPPED
CANCELLED = S_CANCELLED
TIMED_OUT = S_TIMED_OUT

ALL_PASSED = R_ALL_PASSED
ALL_DONE = R_ALL_DONE
ANY_FAILED = R_ANY_FAILED

_NEVER = C_NEVER

_CYCLE = "the graph has a cycle"


# -- small C helpers --------------------------------------------------------------------------

cdef extern from *:
    """
    #if defined(_MSC_VER)
    #include <intrin.h>
    static __inline int thread_order_ctz64(unsigned __int64 x) {
        unsigned long i; _BitScanForward64(&i, x); return (int)i;
    }
    #else
    static inline int thread_order_ctz64(unsigned long long x) { return __builtin_ctzll(x); }
    #endif
    """
    int _ctz64 "thread_order_ctz64"(uint64_t x) noexcept nogil


cdef enum:
    MAX_LEVELS = 8
    # ``dependency_csr``'s table of recently seen names has 2**bits slots, bits growing with
    # the graph (one slot per 8 tasks) between these bounds: 64 slots to 768 KiB in all.
    _SEEN_MIN_BITS = 6
    _SEEN_MAX_BITS = 16


cdef inline size_t _seen_slot(PyObject *obj, int shift) noexcept:
    """The table slot of an object, by its address (Fibonacci hashing of the pointer)."""
    return <size_t> ((<uint64_t> <size_t> obj * 0x9E3779B97F4A7C15ULL) >> shift)


cdef inline int32_t *_alloc32(Py_ssize_t count) except NULL:
    cdef int32_t *p = <int32_t *> PyMem_Malloc((count if count > 0 else 1) * sizeof(int32_t))
    if p == NULL:
        raise MemoryError()
    return p


cdef int _grow(int32_t **buf, Py_ssize_t *cap, Py_ssize_t need) except -1:
    """Make ``*buf`` hold at least ``need`` int32 entries (capacity doubles)."""
    cdef Py_ssize_t new_cap = cap[0] * 2
    cdef int32_t *p
    if new_cap < 16:
        new_cap = 16
    if new_cap < need:
        new_cap = need
    p = <int32_t *> PyMem_Realloc(buf[0], new_cap * sizeof(int32_t))
    if p == NULL:
        raise MemoryError()
    buf[0] = p
    cap[0] = new_cap
    return 0


cdef list _int_list(const int32_t *values, Py_ssize_t count):
    """A new list of Python ints from ``count`` C ints (no Python code runs meanwhile)."""
    cdef list out = PyList_New(count)
    cdef Py_ssize_t k
    cdef object v
    for k in range(count):
        v = PyLong_FromLong(values[k])
        Py_INCREF(v)
        PyList_SET_ITEM(out, k, v)
    return out


@cython.final
cdef class _Ints:
    """An int sequence read from C: a contiguous C-int buffer when it has one, else a list."""

    cdef const int[::1] view
    cdef const int *ptr
    cdef list seq
    cdef Py_ssize_t length

    def __cinit__(self, obj):
        self.ptr = NULL
        try:
            self.view = obj
        except (TypeError, ValueError, BufferError):
            self.seq = obj if type(obj) is list else list(obj)
            self.length = len(self.seq)
        else:
            self.length = self.view.shape[0]
            if self.length > 0:
                self.ptr = &self.view[0]

    cdef inline long get(self, Py_ssize_t k) except? -1:
        if self.ptr != NULL:
            return self.ptr[k]
        return self.seq[k]


cdef inline bint _ran(uint8_t s) noexcept:
    """The task has started (running or finished after running)."""
    return s == S_RUNNING or s == S_PASSED or s == S_FAILED or s == S_TIMED_OUT


cdef int _realloc32(int32_t **buf, Py_ssize_t count) except -1:
    cdef int32_t *p = <int32_t *> PyMem_Realloc(buf[0], (count if count > 0 else 1) * sizeof(int32_t))
    if p == NULL:
        raise MemoryError()
    buf[0] = p
    return 0


cdef int _realloc8(uint8_t **buf, Py_ssize_t count) except -1:
    cdef uint8_t *p = <uint8_t *> PyMem_Realloc(buf[0], count if count > 0 else 1)
    if p == NULL:
        raise MemoryError()
    buf[0] = p
    return 0


cdef int _check_part(str what, _Ints off, _Ints items, Py_ssize_t n, Py_ssize_t k) except -1:
    """``grow()``'s checks of one offsets/ids pair, worded as in the Python twin."""
    cdef Py_ssize_t j, e
    cdef long a, b, t
    if off.length != k + 1:
        raise ValueError(f"{what} must have {k + 1} entries, got {off.length}")
    a = off.get(0)
    b = off.get(k)
    if a != 0 or b != items.length:
        raise ValueError(f"{what} must run from 0 to {items.length}, got {a}..{b}")
    for j in range(k):
        a = off.get(j)
        b = off.get(j + 1)
        if b < a:
            raise ValueError(f"{what} must be non-decreasing, got {a} then {b}")
        for e in range(a, b):
            t = items.get(e)
            if t < 0 or t >= n + j:
                raise ValueError(f"task id {t} is out of range 0..{n + j - 1}")
    return 0


# -- the class ---------------------------------------------------------------------------------

cdef class ReadySet:
    """Indegree counters, task states and a priority queue of ready tasks for one DAG."""

    cdef Py_ssize_t n
    cdef Py_ssize_t n_edges
    cdef int32_t *succ_off
    cdef int32_t *succ
    cdef int32_t *indeg
    cdef int32_t *rank
    cdef int32_t *byrank
    cdef uint64_t *bits
    cdef Py_ssize_t level_off[MAX_LEVELS]
    cdef int levels
    cdef uint8_t *state
    cdef uint8_t *flags
    cdef Py_ssize_t queued
    cdef Py_ssize_t left
    cdef bint skip
    cdef bint has_special
    cdef bint was_reset
    cdef bint ranked  # rank/byrank hold the default order (longest chain first) for this graph
    # growable scratch: the skip stack, the newly ready ids of one call, the pending skips
    cdef int32_t *stack
    cdef Py_ssize_t stack_len
    cdef Py_ssize_t stack_cap
    cdef int32_t *ready
    cdef Py_ssize_t ready_len
    cdef Py_ssize_t ready_cap
    cdef int32_t *skipped
    cdef Py_ssize_t skipped_len
    cdef Py_ssize_t skipped_cap

    cdef readonly bint acyclic
    cdef object _lock, _lock_acquire, _lock_release  # complete_store's lock and its bound methods

    # Cython starts every C attribute at NULL / 0, so there is no __cinit__.

    def __dealloc__(self):
        self._free_all()

    cdef void _free_all(self) noexcept:
        PyMem_Free(self.succ_off)
        PyMem_Free(self.succ)
        PyMem_Free(self.indeg)
        PyMem_Free(self.rank)
        PyMem_Free(self.byrank)
        PyMem_Free(self.bits)
        PyMem_Free(self.state)
        PyMem_Free(self.flags)
        PyMem_Free(self.stack)
        PyMem_Free(self.ready)
        PyMem_Free(self.skipped)
        self.succ_off = NULL
        self.succ = NULL
        self.indeg = NULL
        self.rank = NULL
        self.byrank = NULL
        self.bits = NULL
        self.state = NULL
        self.flags = NULL
        self.stack = NULL
        self.ready = NULL
        self.skipped = NULL
        self.stack_len = self.stack_cap = 0
        self.ready_len = self.ready_cap = 0
        self.skipped_len = self.skipped_cap = 0
        self.queued = 0
        self.levels = 0
        self.n = 0
        self.n_edges = 0

    @staticmethod
    def dependency_csr(list afters, dict index):
        """``(pred_off, preds)`` as ``array('i')`` from dependency names: ``afters[i]`` is task
        ``i``'s tuple of names, ``index`` maps each name to its id. Raises ``KeyError(name)``
        for the first name that ``index`` does not hold (the caller resolves those itself).

        Dependencies mostly name tasks registered shortly before, and usually by the very string
        object the task was registered under. So the index is walked alongside ``afters`` and
        each name it holds goes into a small table keyed by the string's address, which answers
        most lookups from cache; only a miss looks in ``index`` (a random access into a table
        of the size of the graph). A hit is exact: the same object is the same name."""
        cdef Py_ssize_t n = len(afters)
        cdef Py_ssize_t i, k, m, total = 0, pos = 0
        cdef tuple names
        cdef PyObject *found
        cdef PyObject *key
        cdef PyObject *value
        cdef PyObject *name
        cdef size_t h, size
        cdef int walking = 1, bits = _SEEN_MIN_BITS, shift
        cdef PyObject **seen_key
        cdef int32_t *seen_id
        cdef carray.array offs = carray.clone(_OFF_TEMPLATE, n + 1, False)
        cdef carray.array prds
        cdef int32_t *o = <int32_t *> offs.data.as_ints
        cdef int32_t *p
        for i in range(n):
            if type(afters[i]) is not tuple:
                afters = [tuple(a) for a in afters]  # a copy: the caller's list is not changed
                break
        for i in range(n):
            total += len(<tuple> afters[i])
        if total > 2147483647:
            raise OverflowError("more than 2**31 - 1 dependencies")
        prds = carray.clone(_OFF_TEMPLATE, total, False)
        p = <int32_t *> prds.data.as_ints
        while bits < _SEEN_MAX_BITS and (n >> (bits + 3)) > 0:
            bits += 1
        size = (<size_t> 1) << bits
        shift = 64 - bits
        seen_key = <PyObject **> PyMem_Malloc(size * sizeof(PyObject *))
        seen_id = <int32_t *> PyMem_Malloc(size * sizeof(int32_t))
        if seen_key == NULL or seen_id == NULL:
            PyMem_Free(seen_key)
            PyMem_Free(seen_id)
            raise MemoryError()
        memset(seen_key, 0, size * sizeof(PyObject *))
        try:
            o[0] = 0
            k = 0
            for i in range(n):
                if walking:  # the index's next name: usually task i's own
                    walking = PyDict_Next(index, &pos, &key, &value)
                    if walking:
                        h = _seen_slot(key, shift)
                        seen_key[h] = key
                        seen_id[h] = <int32_t> (<object> value)
                names = <tuple> afters[i]
                for m in range(len(names)):
                    name = <PyObject *> names[m]
                    h = _seen_slot(name, shift)
                    if seen_key[h] == name:
                        p[k] = seen_id[h]
                    else:
                        found = PyDict_GetItemWithError(index, <object> name)
                        if found == NULL:
                            raise KeyError(<object> name)
                        p[k] = <int32_t> (<object> found)
                        seen_key[h] = name
                        seen_id[h] = p[k]
                    k += 1
                o[i + 1] = <int32_t> k
        finally:
            PyMem_Free(seen_key)
            PyMem_Free(seen_id)
        return offs, prds

    def __init__(self, Py_ssize_t n, pred_off, preds, rules=None):
        cdef _Ints offs
        cdef _Ints prds
        cdef Py_ssize_t i, k, e, n_edges, start, end
        cdef long a, b, p
        cdef bytes rule_bytes
        cdef const unsigned char *rb
        cdef int32_t *succ_off
        cdef int32_t *succ
        cdef int32_t *indeg
        cdef int32_t *fill
        cdef uint8_t r

        if n < 0:
            raise ValueError(f"task count must be >= 0, got {n}")
        if len(pred_off) != n + 1:
            raise ValueError(f"pred_off must have n + 1 = {n + 1} entries, got {len(pred_off)}")
        if rules is not None and len(rules) != n:
            raise ValueError(f"rules must have n = {n} entries, got {len(rules)}")
        n_edges = len(preds)
        offs = _Ints(pred_off)
        prds = _Ints(preds)
        a = offs.get(0)
        b = offs.get(n)
        if a != 0 or b != n_edges:
            raise ValueError(
                f"pred_off must run from 0 to len(preds) = {n_edges}, got {a}..{b}"
            )
        if n > C_MAX_TASKS or n_edges > C_MAX_TASKS:
            raise OverflowError("too many tasks or dependencies for the compiled core")

        self._free_all()
        self.n = n
        self.n_edges = n_edges
        self.succ_off = succ_off = _alloc32(n + 1)
        self.succ = succ = _alloc32(n_edges)
        self.indeg = indeg = _alloc32(n)
        self.rank = _alloc32(n)
        self.byrank = fill = _alloc32(n)
        self._alloc_bits()
        self.state = <uint8_t *> PyMem_Malloc(n if n > 0 else 1)
        self.flags = <uint8_t *> PyMem_Malloc(n if n > 0 else 1)
        if self.state == NULL or self.flags == NULL:
            raise MemoryError()

        # Indegrees from the predecessor offsets (which must be non-decreasing).
        for i in range(n):
            b = offs.get(i + 1)
            if b < a:
                raise ValueError(
                    f"pred_off must be non-decreasing, got {a} then {b} at index {i}"
                )
            indeg[i] = <int32_t> (b - a)
            a = b

        # Transpose the predecessor CSR into a successor CSR (counting sort by source).
        memset(succ_off, 0, (n + 1) * sizeof(int32_t))
        for k in range(n_edges):
            p = prds.get(k)
            if p < 0 or p >= n:
                raise ValueError(f"dependency id {p} is out of range 0..{n - 1}")
            succ_off[p + 1] += 1
        for i in range(n):
            succ_off[i + 1] += succ_off[i]
        for i in range(n):
            fill[i] = succ_off[i]
        k = 0
        for i in range(n):
            end = k + indeg[i]
            while k < end:
                p = prds.get(k)
                succ[fill[p]] = <int32_t> i
                fill[p] += 1
                k += 1

        # Rules, normalised to 2 bits; nothing is "bad" yet.
        self.has_special = False
        if rules is None:
            memset(self.flags, 0, n if n > 0 else 1)
        else:
            rule_bytes = bytes(rules)
            rb = <const unsigned char *> rule_bytes
            for i in range(n):
                r = rb[i]
                if r == R_ALL_PASSED:
                    self.flags[i] = R_ALL_PASSED
                elif r == R_ANY_FAILED:
                    self.flags[i] = R_ANY_FAILED
                    self.has_special = True
                else:
                    self.flags[i] = R_ALL_DONE

        # Cycle check, using indeg/rank/byrank as scratch; on an acyclic graph the chain
        # lengths left in ``rank`` are ranked at once (the default order of every run), so
        # ``reset()`` only recounts the indegrees.
        self.acyclic = self._chains(self.rank, indeg, self.byrank)
        self.ranked = False
        if self.acyclic:
            self._rank_by(self.rank)
            self.ranked = True

        # Before the first reset(): nothing queued, every task pending.
        self._count_indeg(indeg)
        memset(self.state, S_PENDING, n if n > 0 else 1)
        self.queued = 0
        self.left = n
        self.skip = False
        self.was_reset = False

    cdef int _alloc_bits(self) except -1:
        """The bitset tree over ranks: level 0 has a bit per rank, each level above a bit per
        word of the level below, up to a single word."""
        cdef Py_ssize_t words = (self.n + 63) >> 6
        cdef Py_ssize_t total = 0
        cdef int lv = 0
        if words < 1:
            words = 1
        while True:
            self.level_off[lv] = total
            total += words
            lv += 1
            if words == 1:
                break
            words = (words + 63) >> 6
        self.levels = lv
        self.bits = <uint64_t *> PyMem_Malloc(total * sizeof(uint64_t))
        if self.bits == NULL:
            raise MemoryError()
        memset(self.bits, 0, total * sizeof(uint64_t))
        return 0

    @cython.final
    cdef inline void _qpush(self, int32_t i) noexcept:
        cdef uint64_t *bits = self.bits
        cdef Py_ssize_t r = self.rank[i]
        cdef Py_ssize_t w
        cdef uint64_t word
        cdef int lv
        self.queued += 1
        for lv in range(self.levels):
            w = self.level_off[lv] + (r >> 6)
            word = bits[w]
            bits[w] = word | ((<uint64_t> 1) << (r & 63))
            if word != 0:
                break
            r >>= 6

    @cython.final
    cdef inline void _qunset(self, Py_ssize_t r) noexcept:
        """Clear queued rank ``r`` (and the summary bits of words left empty)."""
        cdef uint64_t *bits = self.bits
        cdef Py_ssize_t w
        cdef uint64_t word
        cdef int lv
        self.queued -= 1
        for lv in range(self.levels):
            w = self.level_off[lv] + (r >> 6)
            word = bits[w] & ~((<uint64_t> 1) << (r & 63))
            bits[w] = word
            if word != 0:
                break
            r >>= 6

    @cython.final
    cdef inline int32_t _qpop(self) noexcept:
        """Remove and return the queued id of the lowest rank; the queue must not be empty."""
        cdef uint64_t *bits = self.bits
        cdef Py_ssize_t r = 0
        cdef int lv
        for lv in range(self.levels - 1, -1, -1):
            r = (r << 6) | _ctz64(bits[self.level_off[lv] + r])
        self._qunset(r)
        return self.byrank[r]

    cdef void _qclear(self) noexcept:
        cdef Py_ssize_t total = self.level_off[self.levels - 1] + 1
        memset(self.bits, 0, total * sizeof(uint64_t))
        self.queued = 0

    cdef int _rank_by(self, const int32_t *prio) except -1:
        """Sort the ids by (priority desc, id asc) into ``byrank``; ``rank`` is the inverse.

        ``prio`` may be ``self.rank`` itself. A stable counting sort when the priorities span
        at most ~2n values (always so for the longest-chain lengths), else a stable LSD radix
        sort in two 16-bit passes using ``indeg`` as scratch (``reset`` recounts it after).
        """
        cdef Py_ssize_t n = self.n
        cdef Py_ssize_t i, r, span
        cdef int64_t top, low
        cdef uint32_t key
        cdef uint32_t *count
        cdef int32_t *tmp = self.indeg
        cdef int32_t *byrank = self.byrank
        cdef Py_ssize_t c, t, shift
        if n == 0:
            return 0
        top = low = prio[0]
        for i in range(1, n):
            if prio[i] > top:
                top = prio[i]
            if prio[i] < low:
                low = prio[i]
        span = <Py_ssize_t> (top - low) + 1
        if span <= 2 * n + 64:
            count = <uint32_t *> PyMem_Malloc((span + 1) * sizeof(uint32_t))
            if count == NULL:
                raise MemoryError()
            memset(count, 0, (span + 1) * sizeof(uint32_t))
            for i in range(n):
                count[<Py_ssize_t> (top - prio[i]) + 1] += 1
            for i in range(span):
                count[i + 1] += count[i]
            for i in range(n):
                key = <uint32_t> (top - prio[i])
                byrank[count[key]] = <int32_t> i
                count[key] += 1
            PyMem_Free(count)
        else:
            count = <uint32_t *> PyMem_Malloc(65537 * sizeof(uint32_t))
            if count == NULL:
                raise MemoryError()
            for shift in (0, 16):
                memset(count, 0, 65537 * sizeof(uint32_t))
                for i in range(n):
                    t = i if shift == 0 else tmp[i]
                    key = <uint32_t> (top - prio[t])
                    count[((key >> shift) & 0xFFFF) + 1] += 1
                for c in range(65536):
                    count[c + 1] += count[c]
                for i in range(n):
                    t = i if shift == 0 else tmp[i]
                    key = (<uint32_t> (top - prio[t]) >> shift) & 0xFFFF
                    if shift == 0:
                        tmp[count[key]] = <int32_t> t
                    else:
                        byrank[count[key]] = <int32_t> t
                    count[key] += 1
            PyMem_Free(count)
        for r in range(n):
            self.rank[byrank[r]] = <int32_t> r
        return 0

    # -- graph facts --------------------------------------------------------------------------

    cdef void _count_indeg(self, int32_t *deg) noexcept:
        cdef Py_ssize_t e
        memset(deg, 0, (self.n if self.n > 0 else 1) * sizeof(int32_t))
        for e in range(self.n_edges):
            deg[self.succ[e]] += 1

    cdef Py_ssize_t _kahn(self, int32_t *deg, int32_t *order) noexcept:
        """Kahn's order into ``order``, sources in id order first; returns its length.

        ``deg`` is scratch; afterwards ``deg[i] != 0`` exactly for the ids not reached.
        """
        cdef Py_ssize_t n = self.n
        cdef const int32_t *off = self.succ_off
        cdef const int32_t *succ = self.succ
        cdef Py_ssize_t i, head = 0, count = 0
        cdef int32_t t, s, e, end
        self._count_indeg(deg)
        for i in range(n):
            if deg[i] == 0:
                order[count] = <int32_t> i
                count += 1
        while head < count:
            t = order[head]
            head += 1
            e = off[t]
            end = off[t + 1]
            while e < end:
                s = succ[e]
                e += 1
                deg[s] -= 1
                if deg[s] == 0:
                    order[count] = s
                    count += 1
        return count

    cdef bint _chains(self, int32_t *out, int32_t *deg, int32_t *order) noexcept:
        """Longest-chain lengths into ``out``; False (``out`` undefined) on a cycle."""
        cdef Py_ssize_t n = self.n
        cdef const int32_t *off = self.succ_off
        cdef const int32_t *succ = self.succ
        cdef Py_ssize_t k
        cdef int32_t i, best, e, end, c
        if self._kahn(deg, order) != n:
            return False
        for k in range(n - 1, -1, -1):
            i = order[k]
            best = 0
            e = off[i]
            end = off[i + 1]
            while e < end:
                c = out[succ[e]]
                if c > best:
                    best = c
                e += 1
            out[i] = best + 1
        return True

    def topo_order(self):
        """All ids in a topological order; raises ValueError on a cycle."""
        cdef int32_t *deg = _alloc32(self.n)
        cdef int32_t *order = NULL
        try:
            order = _alloc32(self.n)
            if self._kahn(deg, order) != self.n:
                raise ValueError(_CYCLE)
            return _int_list(order, self.n)
        finally:
            PyMem_Free(deg)
            PyMem_Free(order)

    def unresolved(self):
        """Ids that no topological order reaches: the tasks on or behind a cycle."""
        cdef int32_t *deg = _alloc32(self.n)
        cdef int32_t *order = NULL
        cdef Py_ssize_t i, count = 0
        try:
            order = _alloc32(self.n)
            self._kahn(deg, order)
            for i in range(self.n):
                if deg[i] != 0:
                    order[count] = <int32_t> i
                    count += 1
            return _int_list(order, count)
        finally:
            PyMem_Free(deg)
            PyMem_Free(order)

    def successors(self, Py_ssize_t i):
        if i < 0 or i >= self.n:
            raise IndexError("task id out of range")
        return _int_list(self.succ + self.succ_off[i], self.succ_off[i + 1] - self.succ_off[i])

    def chain_lengths(self):
        """Per task, the number of tasks on the longest chain from it to a leaf."""
        cdef int32_t *out
        cdef int32_t *deg
        cdef int32_t *order
        if not self.acyclic:
            raise ValueError(_CYCLE)
        out = _alloc32(self.n)
        deg = order = NULL
        try:
            deg = _alloc32(self.n)
            order = _alloc32(self.n)
            self._chains(out, deg, order)
            return _int_list(out, self.n)
        finally:
            PyMem_Free(out)
            PyMem_Free(deg)
            PyMem_Free(order)

    def depths(self):
        """Per task, its level: 0 for roots, else 1 + the deepest dependency's level."""
        cdef Py_ssize_t n = self.n
        cdef const int32_t *off = self.succ_off
        cdef const int32_t *succ = self.succ
        cdef int32_t *deg = _alloc32(n)
        cdef int32_t *order = NULL
        cdef Py_ssize_t k
        cdef int32_t i, d, e, end, s
        try:
            order = _alloc32(n)
            if self._kahn(deg, order) != n:
                raise ValueError(_CYCLE)
            memset(deg, 0, (n if n > 0 else 1) * sizeof(int32_t))  # deg becomes depth
            for k in range(n):
                i = order[k]
                d = deg[i] + 1
                e = off[i]
                end = off[i + 1]
                while e < end:
                    s = succ[e]
                    if deg[s] < d:
                        deg[s] = d
                    e += 1
            return _int_list(deg, n)
        finally:
            PyMem_Free(deg)
            PyMem_Free(order)

    def critical_path(self, weights=None):
        """The heaviest root-to-leaf chain (unit weights by default), as ids from root to leaf."""
        cdef Py_ssize_t n = self.n
        cdef const int32_t *off = self.succ_off
        cdef const int32_t *succ = self.succ
        cdef int32_t *deg = _alloc32(n)
        cdef int32_t *order = NULL
        cdef int32_t *nxt = NULL
        cdef double *best = NULL
        cdef double *w = NULL
        cdef double tail
        cdef Py_ssize_t k, count
        cdef int32_t i, e, end, s, pick, start
        cdef list wl
        try:
            order = _alloc32(n)
            if self._kahn(deg, order) != n:
                raise ValueError(_CYCLE)
            if n == 0:
                return []
            nxt = _alloc32(n)
            best = <double *> PyMem_Malloc(n * sizeof(double))
            w = <double *> PyMem_Malloc(n * sizeof(double))
            if best == NULL or w == NULL:
                raise MemoryError()
            if weights is None:
                for k in range(n):
                    w[k] = 1.0
            else:
                wl = [float(x) for x in weights]
                if len(wl) < n:
                    raise IndexError("list index out of range")
                for k in range(n):
                    w[k] = wl[k]
            for k in range(n - 1, -1, -1):
                i = order[k]
                tail = 0.0
                pick = -1
                e = off[i]
                end = off[i + 1]
                while e < end:
                    s = succ[e]
                    if best[s] > tail or pick < 0:
                        tail = best[s]
                        pick = s
                    e += 1
                best[i] = w[i] + tail
                nxt[i] = pick
            # The best root: the heaviest chain, ties to the lowest id (max by (best, -id)).
            self._count_indeg(deg)
            start = -1
            for k in range(n):
                if deg[k] == 0 and (start < 0 or best[k] > best[start]):
                    start = <int32_t> k
            count = 0
            i = start
            while i >= 0:
                order[count] = i
                count += 1
                i = nxt[i]
            return _int_list(order, count)
        finally:
            PyMem_Free(deg)
            PyMem_Free(order)
            PyMem_Free(nxt)
            PyMem_Free(best)
            PyMem_Free(w)

    # -- running ------------------------------------------------------------------------------

    def reset(self, skip_dependents, priority=None):
        """Prepare a new run: all tasks pending, roots queued.

        ``priority`` (higher runs first) defaults to the longest-chain lengths.
        """
        cdef Py_ssize_t n = self.n
        cdef Py_ssize_t i, hl, k
        cdef _Ints ps
        cdef long v
        cdef int32_t *newp = NULL
        cdef int32_t *indeg
        cdef uint8_t *flags
        cdef uint8_t *state
        cdef bint skip
        if not self.acyclic:
            raise ValueError(_CYCLE)
        skip = skip_dependents
        if priority is not None:
            ps = _Ints(priority)
            k = ps.length
            if k != n:
                raise ValueError(f"priority must have {n} entries, got {k}")
            newp = _alloc32(n)
            try:
                for i in range(n):
                    v = ps.get(i)
                    if v < -0x80000000 or v > 0x7FFFFFFF:
                        raise OverflowError(f"priority {v} does not fit in 32 bits")
                    newp[i] = <int32_t> v
            except BaseException:
                PyMem_Free(newp)
                raise

        # From here on no Python code runs.
        try:
            if newp == NULL:
                if not self.ranked:  # the default priority, unless still ranked by it
                    self._chains(self.rank, self.indeg, self.byrank)
                    self._rank_by(self.rank)
                    self.ranked = True
            else:
                self._rank_by(newp)
                self.ranked = False
        finally:
            PyMem_Free(newp)
        indeg = self.indeg
        flags = self.flags
        state = self.state
        self._count_indeg(indeg)
        memset(state, S_PENDING, n if n > 0 else 1)
        for i in range(n):
            flags[i] &= F_RULE
        self.skipped_len = 0
        self.ready_len = 0
        self.stack_len = 0
        self.skip = skip
        self.was_reset = True
        self.left = n
        self._qclear()
        for i in range(n):
            if indeg[i] == 0 and flags[i] != R_ANY_FAILED:
                state[i] = S_QUEUED
                self._qpush(<int32_t> i)
        if self.has_special:
            for i in range(n):
                # an on-failure task with no dependencies never runs
                if indeg[i] == 0 and flags[i] == R_ANY_FAILED:
                    self._skip_node(<int32_t> i, -1)
        self.ready_len = 0

    def grow(self, pred_off, preds, rules=None, before_off=None, before=()):
        """Add ``k = len(pred_off) - 1`` tasks to the run in progress, as ids ``n .. n+k-1``.

        The twin of ``_readyset_py.ReadySet.grow`` (same arguments, results and errors). The
        successor CSR is rebuilt with the new edges after each task's old ones, and the queue's
        bitset is sized anew; new tasks take the ranks after every existing one, in id order.
        """
        cdef Py_ssize_t n0 = self.n
        cdef Py_ssize_t k, j, e, x, new_n, total
        cdef _Ints po, pr, bo, bf
        cdef long t, p
        cdef bytes rule_bytes
        cdef const unsigned char *rb = NULL
        cdef int32_t *off2 = NULL
        cdef int32_t *succ2 = NULL
        cdef int32_t *fill = NULL
        cdef uint8_t r
        cdef int32_t live, cause

        k = len(pred_off) - 1
        if k < 0:
            raise ValueError("pred_off must have at least one entry")
        if before_off is None:
            before_off = [0] * (k + 1)
        po = _Ints(pred_off)
        pr = _Ints(preds)
        bo = _Ints(before_off)
        bf = _Ints(before)
        _check_part("pred_off", po, pr, n0, k)
        _check_part("before_off", bo, bf, n0, k)
        if rules is not None:
            rule_bytes = bytes(rules)
            if len(rule_bytes) != k:
                raise ValueError(f"rules must have {k} entries, got {len(rule_bytes)}")
            rb = rule_bytes
        if not self.was_reset:
            raise ValueError("grow() needs a run in progress (call reset() first)")
        for e in range(bf.length):
            t = bf.get(e)
            if t < n0 and _ran(self.state[t]):
                raise ValueError(f"task {t} has already started: nothing can precede it")
        new_n = n0 + k
        total = self.n_edges + pr.length + bf.length
        if new_n > C_MAX_TASKS or total > C_MAX_TASKS:
            raise OverflowError("too many tasks or dependencies for the compiled core")

        # The merged successor CSR: old edges first, then the new ones in the order given.
        off2 = _alloc32(new_n + 1)
        try:
            memset(off2, 0, (new_n + 1) * sizeof(int32_t))
            for x in range(n0):
                off2[x + 1] = self.succ_off[x + 1] - self.succ_off[x]
            for j in range(k):
                for e in range(po.get(j), po.get(j + 1)):
                    off2[pr.get(e) + 1] += 1
                off2[n0 + j + 1] += <int32_t> (bo.get(j + 1) - bo.get(j))
            for x in range(new_n):
                off2[x + 1] += off2[x]
            succ2 = _alloc32(total)
            fill = _alloc32(new_n)
            for x in range(new_n):
                fill[x] = off2[x]
            for x in range(n0):
                for e in range(self.succ_off[x], self.succ_off[x + 1]):
                    succ2[fill[x]] = self.succ[e]
                    fill[x] += 1
            for j in range(k):
                x = n0 + j
                for e in range(po.get(j), po.get(j + 1)):
                    p = pr.get(e)
                    succ2[fill[p]] = <int32_t> x
                    fill[p] += 1
                for e in range(bo.get(j), bo.get(j + 1)):
                    succ2[fill[x]] = <int32_t> bf.get(e)
                    fill[x] += 1
            _realloc32(&self.indeg, new_n)
            _realloc32(&self.rank, new_n)
            _realloc32(&self.byrank, new_n)
            _realloc8(&self.state, new_n)
            _realloc8(&self.flags, new_n)
        except BaseException:
            PyMem_Free(off2)
            PyMem_Free(succ2)
            PyMem_Free(fill)
            raise
        PyMem_Free(fill)
        PyMem_Free(self.succ_off)
        PyMem_Free(self.succ)
        self.succ_off = off2
        self.succ = succ2
        self.n_edges = total
        self.ranked = False  # the new tasks rank last, not by their chains
        for x in range(n0, new_n):
            self.rank[x] = <int32_t> x
            self.byrank[x] = <int32_t> x
            self.state[x] = S_PENDING
        # A bitset sized for the new ranks, holding the tasks queued before.
        PyMem_Free(self.bits)
        self.bits = NULL
        self.n = new_n
        self._alloc_bits()
        self.queued = 0
        for x in range(n0):
            if self.state[x] == S_QUEUED:
                self._qpush(<int32_t> x)

        # From here on no Python code runs. Pass 1, structure: indegrees count only
        # unfinished dependencies; a dependency that did not pass marks the task.
        for j in range(k):
            x = n0 + j
            r = rb[j] if rb != NULL else R_ALL_PASSED
            if r == R_ALL_PASSED:
                self.flags[x] = R_ALL_PASSED
            elif r == R_ANY_FAILED:
                self.flags[x] = R_ANY_FAILED
                self.has_special = True
            else:
                self.flags[x] = R_ALL_DONE
            live = 0
            for e in range(po.get(j), po.get(j + 1)):
                p = pr.get(e)
                if self.state[p] < S_PASSED:
                    live += 1
                elif self.state[p] != S_PASSED:
                    self.flags[x] |= F_BAD
            self.indeg[x] = live
            self.left += 1
            for e in range(bo.get(j), bo.get(j + 1)):
                t = bf.get(e)
                if self.state[t] == S_QUEUED:
                    self._qunset(self.rank[t])
                    self.state[t] = S_PENDING
                if self.state[t] < S_RUNNING:  # else skipped or cancelled: it never runs anyway
                    self.indeg[t] += 1
        # Pass 2, in id order: skip what cannot run, queue what is ready.
        self.ready_len = 0
        for j in range(k):
            x = n0 + j
            if self.state[x] != S_PENDING:
                continue
            if (self.flags[x] & F_BAD) and self.skip and (self.flags[x] & F_RULE) == R_ALL_PASSED:
                cause = -1
                for e in range(po.get(j), po.get(j + 1)):
                    p = pr.get(e)
                    if self.state[p] > S_PASSED:
                        cause = <int32_t> p
                        break
                self._skip_node(<int32_t> x, cause)
            elif self.indeg[x] == 0:
                if self.flags[x] == R_ANY_FAILED:
                    self._skip_node(<int32_t> x, -1)
                else:
                    self.state[x] = S_QUEUED
                    self._qpush(<int32_t> x)
        self.ready_len = 0

    def pop(self):
        """Take the highest-priority ready task and mark it running; -1 if none is ready."""
        cdef int32_t j
        if self.queued == 0:
            return -1
        j = self._qpop()
        self.state[j] = S_RUNNING
        return j

    def requeue(self, Py_ssize_t i):
        """Put running task ``i`` back among the ready ones (it waited for a resource)."""
        if <size_t> i >= <size_t> self.n:
            raise IndexError("task id out of range")
        if self.state[i] != S_RUNNING:
            return False
        self.state[i] = S_QUEUED
        self._qpush(<int32_t> i)
        return True

    @cython.always_allow_keywords(False)
    def complete(self, Py_ssize_t i):
        """``finish(i, PASSED)`` then ``pop()`` in one call: the workers' fast path."""
        if <size_t> i >= <size_t> self.n:
            raise IndexError("task id out of range")
        return self._complete(<int32_t> i)

    def complete_store(self, Py_ssize_t i, dict results, object key, object value, object lock):
        """Store ``results[key] = value`` holding ``lock``, then ``complete(i)``; one call.

        The lock is only tried, never waited for: if someone else holds it, nothing is done
        and -2 is returned, so the caller can wait for it in Python. Because this runs as one
        C call, a worker never holds ``lock`` while another thread has the GIL, so workers do
        not queue up behind each other on it.
        """
        if <size_t> i >= <size_t> self.n:
            raise IndexError("task id out of range")
        if lock is not self._lock:  # bound once per lock, not looked up on every call
            self._lock_acquire, self._lock_release = lock.acquire, lock.release
            self._lock = lock
        if not self._lock_acquire(False):
            return -2
        try:
            results[key] = value
        finally:
            self._lock_release()
        return self._complete(<int32_t> i)

    @cython.final
    cdef int32_t _complete(self, int32_t i) except -2:
        cdef const int32_t *succ = self.succ
        cdef int32_t *indeg = self.indeg
        cdef uint8_t *state = self.state
        cdef const uint8_t *flags = self.flags
        cdef int32_t e, end, s, d, j
        if state[i] != S_RUNNING:
            return -1  # settled meanwhile (cancelled after the grace)
        state[i] = S_PASSED
        self.left -= 1
        e = self.succ_off[i]
        end = self.succ_off[i + 1]
        while e < end:
            s = succ[e]
            e += 1
            d = indeg[s] - 1
            indeg[s] = d
            if d == 0:
                if flags[s] == R_ANY_FAILED:  # an on-failure task whose dependencies all passed
                    self.ready_len = 0
                    self._skip_node(s, -1)
                    self.ready_len = 0
                    continue
                state[s] = S_QUEUED
                self._qpush(s)
        if self.queued == 0:
            return -1
        j = self._qpop()
        state[j] = S_RUNNING
        return j

    def finish(self, Py_ssize_t i, long status):
        """Record that running task ``i`` ended with ``status``; return the newly ready ids.

        A passed task releases its dependents. A task that did not pass releases dependents that
        may still run (``ALL_DONE`` and ``ANY_FAILED`` rules, or every dependent when
        ``skip_dependents`` is off) and skips the others, transitively. Skips are collected for
        ``take_skipped()``.
        """
        cdef uint8_t *state = self.state
        cdef uint8_t *flags = self.flags
        cdef const int32_t *succ = self.succ
        cdef int32_t e, end, s
        cdef bint ok
        if <size_t> i >= <size_t> self.n:
            raise IndexError("task id out of range")
        if state[i] >= S_PASSED:
            return []
        if status < 0 or status > 255:
            raise ValueError("byte must be in range(0, 256)")
        # From here on no Python code runs until the result list is built.
        state[i] = <uint8_t> status
        self.left -= 1
        self.ready_len = 0
        ok = status == S_PASSED
        e = self.succ_off[i]
        end = self.succ_off[i + 1]
        while e < end:
            s = succ[e]
            e += 1
            if state[s] >= S_PASSED:
                continue
            if not ok:
                flags[s] |= F_BAD
                if self.skip and (flags[s] & F_RULE) == R_ALL_PASSED:
                    self._skip_node(s, <int32_t> i)
                    continue
            self._release(s)
        out = _int_list(self.ready, self.ready_len)
        self.ready_len = 0
        return out

    cdef int _release(self, int32_t s) except -1:
        cdef int32_t d = self.indeg[s] - 1
        self.indeg[s] = d
        if d == 0:
            if self.flags[s] == R_ANY_FAILED:  # on-failure task, no dependency failed
                return self._skip_node(s, -1)
            self.state[s] = S_QUEUED
            self._qpush(s)
            if self.ready_len >= self.ready_cap:
                _grow(&self.ready, &self.ready_cap, self.ready_len + 1)
            self.ready[self.ready_len] = s
            self.ready_len += 1
        return 0

    cdef int _skip_node(self, int32_t first, int32_t root) except -1:
        """Skip ``first`` and every dependent that cannot run without it (depth first).

        Dependents that may run anyway (``ALL_DONE``/``ANY_FAILED``) are released into the
        ready buffer. The stack may hold an id more than once, exactly like the reference.
        """
        cdef Py_ssize_t base = self.stack_len
        cdef uint8_t *state = self.state
        cdef uint8_t *flags = self.flags
        cdef const int32_t *succ = self.succ
        cdef int32_t s, c, e, end
        if self.stack_len >= self.stack_cap:
            _grow(&self.stack, &self.stack_cap, self.stack_len + 1)
        self.stack[self.stack_len] = first
        self.stack_len += 1
        while self.stack_len > base:
            self.stack_len -= 1
            s = self.stack[self.stack_len]
            if state[s] >= S_PASSED:
                continue
            state[s] = S_SKIPPED
            self.indeg[s] = C_NEVER
            self.left -= 1
            if self.skipped_len + 2 > self.skipped_cap:
                _grow(&self.skipped, &self.skipped_cap, self.skipped_len + 2)
            self.skipped[self.skipped_len] = s
            self.skipped[self.skipped_len + 1] = root
            self.skipped_len += 2
            e = self.succ_off[s]
            end = self.succ_off[s + 1]
            while e < end:
                c = succ[e]
                e += 1
                if state[c] >= S_PASSED:
                    continue
                flags[c] |= F_BAD
                if not self.skip or (flags[c] & F_RULE) != R_ALL_PASSED:
                    self._release(c)
                else:
                    if self.stack_len >= self.stack_cap:
                        _grow(&self.stack, &self.stack_cap, self.stack_len + 1)
                    self.stack[self.stack_len] = c
                    self.stack_len += 1
        return 0

    def take_skipped(self):
        """Skips since the last call, flat: ``[task, cause, task, cause, ...]``.

        ``cause`` is the failed task the skip goes back to, or -1 for an ``ANY_FAILED`` task
        none of whose dependencies failed.
        """
        out = _int_list(self.skipped, self.skipped_len)
        self.skipped_len = 0
        return out

    def cancel(self, keep=None):
        """Cancel every task that is neither running nor finished; return their ids.

        Tasks flagged in ``keep`` (bytes, one per task) stay pending; a cancelled dependency
        counts as finished for them, so they run once their other dependencies are done.
        """
        cdef Py_ssize_t n = self.n
        cdef uint8_t *state = self.state
        cdef Py_ssize_t i, count = 0, k = 0
        cdef int32_t e, end, s
        cdef list out
        cdef object v
        cdef const unsigned char *kept = NULL
        cdef bytes keep_bytes
        if keep is not None:
            keep_bytes = bytes(keep)
            if len(keep_bytes) != n:
                raise ValueError(f"keep must have n = {n} entries, got {len(keep_bytes)}")
            kept = keep_bytes
        for i in range(n):
            if state[i] < S_RUNNING and (kept == NULL or not kept[i]):
                count += 1
        out = PyList_New(count)
        for i in range(n):
            if state[i] < S_RUNNING and (kept == NULL or not kept[i]):
                v = PyLong_FromLong(i)
                Py_INCREF(v)
                PyList_SET_ITEM(out, k, v)
                k += 1
        # From here on no Python code runs.
        for i in range(n):
            if state[i] < S_RUNNING and (kept == NULL or not kept[i]):
                state[i] = S_CANCELLED
                self.indeg[i] = C_NEVER  # a later release must not queue it again
        self.left -= count
        self._qclear()
        if kept != NULL:
            for i in range(n):  # kept tasks that were queued stay queued
                if kept[i] and state[i] == S_QUEUED:
                    self._qpush(<int32_t> i)
            for i in range(n):  # cancelled dependencies release the kept tasks
                if state[i] != S_CANCELLED or self.indeg[i] != C_NEVER:
                    continue
                e = self.succ_off[i]
                end = self.succ_off[i + 1]
                while e < end:
                    s = self.succ[e]
                    e += 1
                    if kept[s] and state[s] == S_PENDING:
                        self.indeg[s] -= 1
                        if self.indeg[s] == 0:
                            state[s] = S_QUEUED
                            self._qpush(s)
            for i in range(n):  # mark them so a second cancel does not release twice
                if state[i] == S_CANCELLED and self.indeg[i] == C_NEVER:
                    self.indeg[i] = C_NEVER + 1
        return out

    def status(self, Py_ssize_t i):
        if i < 0:
            i += self.n
        if <size_t> i >= <size_t> self.n:
            raise IndexError("bytearray index out of range")
        return self.state[i]

    def states(self):
        return PyBytes_FromStringAndSize(<char *> self.state, self.n)

    @property
    def size(self):
        return self.n

    @property
    def ready_count(self):
        return self.queued

    @property
    def remaining(self):
        """Tasks not yet in a terminal state (queued, running and pending)."""
        return self.left

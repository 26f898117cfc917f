/**
 * 128-bit SIMD kernels for the dense hot loops of `ml`, as a WebAssembly module assembled here from
 * a readable opcode list (no toolchain, no binary blob). V8 compiles it to SSE/AVX code that runs
 * several times faster than the scalar JavaScript loop over Float32Arrays.
 *
 * Each kernel works inside one `WebAssembly.Memory`; callers copy inputs in and results out with
 * `Float32Array` views on `memory.buffer` (byte offsets must be multiples of 16).
 */

// --- a minimal WebAssembly binary writer ---------------------------------------------------------

const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;

const op = {
  block: 0x02,
  loop: 0x03,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  localGet: 0x20,
  localSet: 0x21,
  i32Load: 0x28,
  i32Const: 0x41,
  i32Eqz: 0x45,
  i32GtS: 0x4a,
  i32GeS: 0x4e,
  i32Add: 0x6a,
  i32Mul: 0x6c,
  i32Shl: 0x74,
} as const;

const EMPTY_BLOCK = 0x40;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

function str(s: string): number[] {
  const bytes = [...new TextEncoder().encode(s)];
  return [...uleb(bytes.length), ...bytes];
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

// SIMD instructions: 0xfd prefix then a LEB128 opcode
const simd = (code: number): number[] => [0xfd, ...uleb(code)];
const v128Load = (offset: number): number[] => [...simd(0x00), 4, ...uleb(offset)];
const v128Store = (offset: number): number[] => [...simd(0x0b), 4, ...uleb(offset)];
const v128Load32Splat = (offset: number): number[] => [...simd(0x09), 2, ...uleb(offset)];
const f32x4Splat = simd(0x13);
const f32x4Add = simd(0xe4);
const f32x4Mul = simd(0xe6);
const get = (l: number): number[] => [op.localGet, ...uleb(l)];
const set = (l: number): number[] => [op.localSet, ...uleb(l)];
const i32c = (v: number): number[] => [op.i32Const, ...sleb(v)];
/** local l += v (i32) */
const incr = (l: number, v: number): number[] => [...get(l), ...i32c(v), op.i32Add, ...set(l)];

interface FuncDef {
  readonly name: string;
  readonly params: number[];
  readonly locals: number[]; // one type per extra local
  readonly body: number[];
}

/** The 32-bit WebAssembly address space in 64 KiB pages (4 GiB). */
const MAX_PAGES = 65536;

/**
 * `shared`: the module imports a shared memory (limits flag 3: minimum 1 page, maximum 4 GiB), which worker
 * threads instantiate over the same `WebAssembly.Memory`; a non-shared memory cannot be imported by it, nor the
 * other way round.
 */
function assembleModule(funcs: FuncDef[], shared = false): Uint8Array<ArrayBuffer> {
  const types = funcs.map((f) => [0x60, ...uleb(f.params.length), ...f.params, 0]);
  const limits = shared ? [0x03, ...uleb(1), ...uleb(MAX_PAGES)] : [0x00, 1];
  const imports = [[...str('env'), ...str('memory'), 0x02, ...limits]];
  const funcIdx = funcs.map((_, i) => uleb(i));
  const exports = funcs.map((f, i) => [...str(f.name), 0x00, ...uleb(i)]);
  const codes = funcs.map((f) => {
    const locals = vec(f.locals.map((t) => [1, t]));
    const body = [...locals, ...f.body, op.end];
    return [...uleb(body.length), ...body];
  });
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vec(types)),
    ...section(2, vec(imports)),
    ...section(3, vec(funcIdx)),
    ...section(7, vec(exports)),
    ...section(10, vec(codes)),
  ]);
}

const i32Load = (offset: number): number[] => [op.i32Load, 2, ...uleb(offset)];

// --- kernels -------------------------------------------------------------------------------------

/**
 * gemmPanel4x8(a, w, c, k, chunks, ldc, quads): C (+)= A x W for `quads` groups of 4 rows and
 * `chunks` panels of 8 columns:
 *   C[4g + r, 8q + j] = sum_p A_g[p, r] * W_q[p, j]
 * A_g is packed k x 4 (p-major) at a + g * k * 16 bytes; panel W_q is packed k x 8 (p-major) at
 * w + q * k * 32 bytes; C is row-major with row stride `ldc` bytes starting at byte c. Overwrites C.
 * Panels are the outer loop so each 8-column panel stays in L1 while every row group uses it.
 */
function gemmPanel4x8(): FuncDef {
  // params: 0 a, 1 w, 2 c, 3 k, 4 chunks, 5 ldc, 6 quads
  // locals: 7 q, 8 g, 9 p, 10 ap, 11 wp, 12 cp, 13 wq, 14..21 acc, 22 w0, 23 w1, 24 s
  const [A, W, C, K, CH, LDC, QU, Q, G, P, AP, WP, CP, WQ] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];
  const acc = (r: number, h: number): number => 14 + r * 2 + h;
  const W0 = 22;
  const W1 = 23;
  const S = 24;
  const zero = [...simd(0x0c), ...new Array<number>(16).fill(0)]; // v128.const 0
  const body: number[] = [];
  body.push(...i32c(0), ...set(Q));
  body.push(...get(W), ...set(WQ));
  body.push(op.block, EMPTY_BLOCK, op.loop, EMPTY_BLOCK); // panels
  body.push(...get(Q), ...get(CH), op.i32GeS, op.brIf, 1);
  body.push(...i32c(0), ...set(G));
  body.push(...get(A), ...set(AP));
  // cp = c + q * 32
  body.push(...get(C), ...get(Q), ...i32c(5), op.i32Shl, op.i32Add, ...set(CP));
  body.push(op.block, EMPTY_BLOCK, op.loop, EMPTY_BLOCK); // row groups
  body.push(...get(G), ...get(QU), op.i32GeS, op.brIf, 1);
  for (let r = 0; r < 4; r++) for (let h = 0; h < 2; h++) body.push(...zero, ...set(acc(r, h)));
  body.push(...get(WQ), ...set(WP));
  body.push(...get(K), ...set(P));
  body.push(op.block, EMPTY_BLOCK, op.loop, EMPTY_BLOCK); // p
  body.push(...get(P), op.i32Eqz, op.brIf, 1);
  body.push(...get(WP), ...v128Load(0), ...set(W0));
  body.push(...get(WP), ...v128Load(16), ...set(W1));
  for (let r = 0; r < 4; r++) {
    body.push(...get(AP), ...v128Load32Splat(r * 4), ...set(S));
    for (let h = 0; h < 2; h++) {
      body.push(...get(acc(r, h)), ...get(S), ...get(h === 0 ? W0 : W1), ...f32x4Mul, ...f32x4Add, ...set(acc(r, h)));
    }
  }
  body.push(...incr(AP, 16), ...incr(WP, 32), ...incr(P, -1));
  body.push(op.br, 0, op.end, op.end);
  for (let r = 0; r < 4; r++) {
    for (let h = 0; h < 2; h++) body.push(...get(CP), ...get(acc(r, h)), ...v128Store(h * 16));
    body.push(...get(CP), ...get(LDC), op.i32Add, ...set(CP));
  }
  body.push(...incr(G, 1));
  body.push(op.br, 0, op.end, op.end);
  // next panel: wq += k * 32
  body.push(...get(WQ), ...get(K), ...i32c(5), op.i32Shl, op.i32Add, ...set(WQ));
  body.push(...incr(Q, 1));
  body.push(op.br, 0, op.end, op.end);
  const locals = [I32, I32, I32, I32, I32, I32, I32, ...new Array<number>(8).fill(V128), V128, V128, V128];
  return { name: 'gemmPanel4x8', params: [I32, I32, I32, I32, I32, I32, I32], locals, body };
}

/**
 * axpyF32(y, x, alpha, n): y[0..n) += alpha * x[0..n), n a multiple of 4, pointers in bytes
 * (16-byte aligned).
 */
function axpyF32(): FuncDef {
  // params: 0 y, 1 x, 2 alpha(f32), 3 n ; locals: 4 a (v128), 5 end
  const [Y, X, AL, N, AV, END] = [0, 1, 2, 3, 4, 5];
  const body: number[] = [];
  body.push(...get(AL), ...f32x4Splat, ...set(AV));
  body.push(...get(Y), ...get(N), ...i32c(2), op.i32Shl, op.i32Add, ...set(END));
  body.push(op.block, EMPTY_BLOCK, op.loop, EMPTY_BLOCK);
  body.push(...get(Y), ...get(END), op.i32GeS, op.brIf, 1);
  body.push(...get(Y), ...get(Y), ...v128Load(0), ...get(X), ...v128Load(0), ...get(AV), ...f32x4Mul, ...f32x4Add, ...v128Store(0));
  body.push(...incr(Y, 16), ...incr(X, 16));
  body.push(op.br, 0, op.end, op.end);
  return { name: 'axpyF32', params: [I32, I32, F32, I32], locals: [V128, I32], body };
}

/**
 * spmmAccumulate(indptr, indices, data, rows, x, y, width) with CSR arrays (int32, int32, f32):
 * - spmmRows:       y[r, :]          += sum_p data[p] * x[indices[p], :]   (y = A x)
 * - spmmRowsScatter: y[indices[p], :] += data[p] * x[r, :]                  (y = Aᵀ x)
 * x and y are row-major with `width` floats per row (a multiple of 4); pointers in bytes.
 */
function spmm(name: string, scatter: boolean): FuncDef {
  // params: 0 indptr, 1 indices, 2 data, 3 rows, 4 x, 5 y, 6 width
  // locals: 7 r, 8 p, 9 pend, 10 own (row of the walked side), 11 other, 12 j, 13 wb, 14 v (v128)
  const [IP, IX, DA, ROWS, X, Y, WID, R, P, PEND, OWN, OTHER, J, WB, V] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14];
  const body: number[] = [];
  body.push(...get(WID), ...i32c(2), op.i32Shl, ...set(WB));
  body.push(...i32c(0), ...set(R));
  body.push(...get(scatter ? X : Y), ...set(OWN));
  body.push(op.block, EMPTY_BLOCK, op.loop, EMPTY_BLOCK); // rows
  body.push(...get(R), ...get(ROWS), op.i32GeS, op.brIf, 1);
  body.push(...get(IP), ...get(R), ...i32c(2), op.i32Shl, op.i32Add, ...set(P));
  body.push(...get(P), ...i32Load(4), ...set(PEND));
  body.push(...get(P), ...i32Load(0), ...set(P));
  body.push(op.block, EMPTY_BLOCK, op.loop, EMPTY_BLOCK); // entries
  body.push(...get(P), ...get(PEND), op.i32GeS, op.brIf, 1);
  body.push(...get(DA), ...get(P), ...i32c(2), op.i32Shl, op.i32Add, ...v128Load32Splat(0), ...set(V));
  // other = (scatter ? y : x) + indices[p] * wb
  body.push(
    ...get(scatter ? Y : X),
    ...get(IX),
    ...get(P),
    ...i32c(2),
    op.i32Shl,
    op.i32Add,
    ...i32Load(0),
    ...get(WB),
    op.i32Mul,
    op.i32Add,
    ...set(OTHER),
  );
  body.push(...i32c(0), ...set(J));
  body.push(op.block, EMPTY_BLOCK, op.loop, EMPTY_BLOCK); // columns
  body.push(...get(J), ...get(WB), op.i32GeS, op.brIf, 1);
  const dst = scatter ? OTHER : OWN;
  const src = scatter ? OWN : OTHER;
  // dst[j] += v * src[j]
  body.push(...get(dst), ...get(J), op.i32Add);
  body.push(...get(dst), ...get(J), op.i32Add, ...v128Load(0));
  body.push(...get(src), ...get(J), op.i32Add, ...v128Load(0), ...get(V), ...f32x4Mul, ...f32x4Add, ...v128Store(0));
  body.push(...incr(J, 16));
  body.push(op.br, 0, op.end, op.end);
  body.push(...incr(P, 1));
  body.push(op.br, 0, op.end, op.end);
  body.push(...get(OWN), ...get(WB), op.i32Add, ...set(OWN));
  body.push(...incr(R, 1));
  body.push(op.br, 0, op.end, op.end);
  return { name, params: [I32, I32, I32, I32, I32, I32, I32], locals: [I32, I32, I32, I32, I32, I32, I32, V128], body };
}

/**
 * spmmPull(indptr, indices, data, rows, x, y, width): y[r, :] = sum_p data[p] * x[indices[p], :] for r < rows,
 * OVERWRITING y's rows (CSR arrays int32, int32, f32; x and y row-major with `width` floats per row, a multiple of
 * 4; pointers in bytes). The sums run in registers, 16 columns at a time (then 4 at a time for the rest), over the
 * row's entries in order: the same additions in the same order as zeroing y and running `spmmRows`, so the same
 * bits, without loading and storing y's row once per entry.
 */
function spmmPull(): FuncDef {
  // params: 0 indptr, 1 indices, 2 data, 3 rows, 4 x, 5 y, 6 width
  // locals: 7 r, 8 p, 9 pstart, 10 pend, 11 yrow, 12 j, 13 wb, 14 xrow, 15 v, 16..19 acc (v128)
  const [IP, IX, DA, ROWS, X, Y, WID, R, P, PS, PEND, YR, J, WB, XR, V] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
  const acc = (g: number): number => 16 + g;
  const zero = [...simd(0x0c), ...new Array<number>(16).fill(0)]; // v128.const 0
  const body: number[] = [];
  /** The loop over the row's entries, accumulating `groups` chunks of 4 floats from column byte offset j. */
  const entries = (groups: number): void => {
    for (let g = 0; g < groups; g++) body.push(...zero, ...set(acc(g)));
    body.push(...get(PS), ...set(P));
    body.push(op.block, EMPTY_BLOCK, op.loop, EMPTY_BLOCK);
    body.push(...get(P), ...get(PEND), op.i32GeS, op.brIf, 1);
    body.push(...get(DA), ...get(P), ...i32c(2), op.i32Shl, op.i32Add, ...v128Load32Splat(0), ...set(V));
    // xrow = x + indices[p] * wb + j
    body.push(...get(X), ...get(IX), ...get(P), ...i32c(2), op.i32Shl, op.i32Add, ...i32Load(0), ...get(WB), op.i32Mul, op.i32Add);
    body.push(...get(J), op.i32Add, ...set(XR));
    for (let g = 0; g < groups; g++) {
      body.push(...get(acc(g)), ...get(XR), ...v128Load(g * 16), ...get(V), ...f32x4Mul, ...f32x4Add, ...set(acc(g)));
    }
    body.push(...incr(P, 1));
    body.push(op.br, 0, op.end, op.end);
    for (let g = 0; g < groups; g++) body.push(...get(YR), ...get(J), op.i32Add, ...get(acc(g)), ...v128Store(g * 16));
    body.push(...incr(J, groups * 16));
  };
  body.push(...get(WID), ...i32c(2), op.i32Shl, ...set(WB));
  body.push(...i32c(0), ...set(R));
  body.push(...get(Y), ...set(YR));
  body.push(op.block, EMPTY_BLOCK, op.loop, EMPTY_BLOCK); // rows
  body.push(...get(R), ...get(ROWS), op.i32GeS, op.brIf, 1);
  body.push(...get(IP), ...get(R), ...i32c(2), op.i32Shl, op.i32Add, ...set(P));
  body.push(...get(P), ...i32Load(4), ...set(PEND));
  body.push(...get(P), ...i32Load(0), ...set(PS));
  body.push(...i32c(0), ...set(J));
  body.push(op.block, EMPTY_BLOCK, op.loop, EMPTY_BLOCK); // 16 columns at a time
  body.push(...get(J), ...i32c(64), op.i32Add, ...get(WB), op.i32GtS, op.brIf, 1);
  entries(4);
  body.push(op.br, 0, op.end, op.end);
  body.push(op.block, EMPTY_BLOCK, op.loop, EMPTY_BLOCK); // then 4 at a time
  body.push(...get(J), ...get(WB), op.i32GeS, op.brIf, 1);
  entries(1);
  body.push(op.br, 0, op.end, op.end);
  body.push(...get(YR), ...get(WB), op.i32Add, ...set(YR));
  body.push(...incr(R, 1));
  body.push(op.br, 0, op.end, op.end);
  const locals = [I32, I32, I32, I32, I32, I32, I32, I32, V128, V128, V128, V128, V128];
  return { name: 'spmmPull', params: [I32, I32, I32, I32, I32, I32, I32], locals, body };
}

let cachedModule: WebAssembly.Module | undefined;
let cachedSharedModule: WebAssembly.Module | undefined;

const kernels = (): FuncDef[] => [gemmPanel4x8(), axpyF32(), spmm('spmmRows', false), spmm('spmmRowsScatter', true), spmmPull()];

/** The compiled SIMD module (compiled once per thread). */
export function simdModule(): WebAssembly.Module {
  cachedModule ??= new WebAssembly.Module(assembleModule(kernels()));
  return cachedModule;
}

/** The same kernels importing a shared memory (see `createSharedSimdMemory`), compiled once per thread. */
export function sharedSimdModule(): WebAssembly.Module {
  cachedSharedModule ??= new WebAssembly.Module(assembleModule(kernels(), true));
  return cachedSharedModule;
}

export interface SimdKernels {
  readonly memory: WebAssembly.Memory;
  /** See gemmPanel4x8 above: C = A x W over packed panels; byte pointers into `memory`. */
  readonly gemmPanel4x8: (a: number, w: number, c: number, k: number, chunks: number, ldc: number, quads: number) => void;
  readonly axpyF32: (y: number, x: number, alpha: number, n: number) => void;
  /** y += A x for CSR A (int32 indptr and indices, f32 data), dense rows of `width` floats. */
  readonly spmmRows: (indptr: number, indices: number, data: number, rows: number, x: number, y: number, width: number) => void;
  /** y += Aᵀ x (scatter form; walks A's rows). */
  readonly spmmRowsScatter: (indptr: number, indices: number, data: number, rows: number, x: number, y: number, width: number) => void;
  /** y = A x, overwriting y's rows; sums in registers (the same bits as zeroing y and `spmmRows`). */
  readonly spmmPull: (indptr: number, indices: number, data: number, rows: number, x: number, y: number, width: number) => void;
}

/**
 * Instantiates the kernels over a fresh memory of at least `bytes` bytes (rounded up to 64 KiB
 * pages; at most 4 GiB).
 */
export function createSimdKernels(bytes: number): SimdKernels {
  const pages = Math.max(1, Math.ceil(bytes / 65536));
  if (pages > 65536) throw new RangeError(`createSimdKernels: ${bytes} bytes exceed the 4 GiB WebAssembly memory`);
  const memory = new WebAssembly.Memory({ initial: pages });
  const instance = new WebAssembly.Instance(simdModule(), { env: { memory } });
  return kernelsOf(instance, memory);
}

function kernelsOf(instance: WebAssembly.Instance, memory: WebAssembly.Memory): SimdKernels {
  const ex = instance.exports as unknown as Omit<SimdKernels, 'memory'>;
  return {
    memory,
    gemmPanel4x8: ex.gemmPanel4x8,
    axpyF32: ex.axpyF32,
    spmmRows: ex.spmmRows,
    spmmRowsScatter: ex.spmmRowsScatter,
    spmmPull: ex.spmmPull,
  };
}

/**
 * A fixed-size shared memory of at least `bytes` bytes (its `buffer` is a SharedArrayBuffer; it can be
 * posted to worker threads, each of which calls `createSharedSimdKernels` over it).
 */
export function createSharedSimdMemory(bytes: number): WebAssembly.Memory {
  const pages = Math.max(1, Math.ceil(bytes / 65536));
  if (pages > MAX_PAGES) throw new RangeError(`createSharedSimdMemory: ${bytes} bytes exceed the 4 GiB WebAssembly memory`);
  return new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
}

/**
 * The kernels over a shared memory from `createSharedSimdMemory`, in this thread. Threads running them on
 * disjoint output rows need no other synchronisation than the task boundaries.
 */
export function createSharedSimdKernels(memory: WebAssembly.Memory): SimdKernels {
  if (!(memory.buffer instanceof SharedArrayBuffer)) throw new TypeError('createSharedSimdKernels: the memory is not shared');
  return kernelsOf(new WebAssembly.Instance(sharedSimdModule(), { env: { memory } }), memory);
}

/**
 * Packs columns [col0, col0 + 8 * chunks) of a row-major k x n matrix `w` into 8-wide panels
 * (panel q is k x 8, p-major) at `out[outOffset ..]`; columns past n are zero. O(k x 8 x chunks).
 */
export function packPanels8(
  w: Float32Array | Float64Array,
  k: number,
  n: number,
  col0: number,
  chunks: number,
  out: Float32Array,
  outOffset: number,
): void {
  let o = outOffset;
  for (let q = 0; q < chunks; q++) {
    const c0 = col0 + q * 8;
    for (let p = 0; p < k; p++) {
      const row = p * n;
      for (let j = 0; j < 8; j++) {
        const c = c0 + j;
        out[o++] = c < n ? w[row + c]! : 0;
      }
    }
  }
}

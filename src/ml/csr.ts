/**
 * Compressed sparse row matrix: the one sparse layout every kernel in `ml` shares.
 * Row r's entries are `indices[indptr[r] .. indptr[r + 1])` (column ids, ascending) with
 * values `data[...]` at the same positions. Shapes are explicit; nothing is hidden.
 */
export interface Csr {
  readonly rows: number;
  readonly cols: number;
  readonly indptr: Int32Array; // length rows + 1
  readonly indices: Int32Array; // length nnz, ascending within a row
  readonly data: Float32Array; // length nnz
}

/**
 * Builds a CSR matrix from coordinate triples. Duplicate (row, col) pairs are summed.
 * O(nnz log nnz_row). `values` defaults to 1 for every pair.
 */
export function csrFromCoo(
  rows: number,
  cols: number,
  rowIds: ArrayLike<number>,
  colIds: ArrayLike<number>,
  values?: ArrayLike<number>,
): Csr {
  const n = rowIds.length;
  if (colIds.length !== n || (values && values.length !== n)) {
    throw new RangeError(`csrFromCoo: lengths differ (rows ${n}, cols ${colIds.length}, values ${values?.length ?? n})`);
  }
  const counts = new Int32Array(rows + 1);
  for (let k = 0; k < n; k++) {
    const r = rowIds[k]!;
    const c = colIds[k]!;
    if (r < 0 || r >= rows || c < 0 || c >= cols) throw new RangeError(`csrFromCoo: (${r}, ${c}) outside ${rows}x${cols}`);
    counts[r + 1]!++;
  }
  for (let r = 0; r < rows; r++) counts[r + 1]! += counts[r]!;
  const cursor = counts.slice(0, rows);
  const idx = new Int32Array(n);
  const val = new Float32Array(n);
  for (let k = 0; k < n; k++) {
    const p = cursor[rowIds[k]!]!++;
    idx[p] = colIds[k]!;
    val[p] = values ? values[k]! : 1;
  }
  // sort each row by column and merge duplicates
  const indptr = new Int32Array(rows + 1);
  const outIdx = new Int32Array(n);
  const outVal = new Float32Array(n);
  let w = 0;
  const order: number[] = [];
  for (let r = 0; r < rows; r++) {
    const start = counts[r]!;
    const end = counts[r + 1]!;
    order.length = 0;
    for (let p = start; p < end; p++) order.push(p);
    order.sort((a, b) => idx[a]! - idx[b]!);
    let last = -1;
    for (const p of order) {
      if (idx[p] === last) {
        outVal[w - 1]! += val[p]!;
      } else {
        outIdx[w] = idx[p]!;
        outVal[w] = val[p]!;
        last = idx[p]!;
        w++;
      }
    }
    indptr[r + 1] = w;
  }
  return { rows, cols, indptr, indices: outIdx.slice(0, w), data: outVal.slice(0, w) };
}

/** Transpose in O(nnz). */
export function csrTranspose(m: Csr): Csr {
  const nnz = m.indices.length;
  const indptr = new Int32Array(m.cols + 1);
  for (let p = 0; p < nnz; p++) indptr[m.indices[p]! + 1]!++;
  for (let c = 0; c < m.cols; c++) indptr[c + 1]! += indptr[c]!;
  const cursor = indptr.slice(0, m.cols);
  const indices = new Int32Array(nnz);
  const data = new Float32Array(nnz);
  for (let r = 0; r < m.rows; r++) {
    for (let p = m.indptr[r]!; p < m.indptr[r + 1]!; p++) {
      const q = cursor[m.indices[p]!]!++;
      indices[q] = r;
      data[q] = m.data[p]!;
    }
  }
  return { rows: m.cols, cols: m.rows, indptr, indices, data };
}

/**
 * out (rows x width, row-major) = m (rows x cols) * x (cols x width, row-major). `out` is
 * overwritten; pass one to reuse a buffer. O(nnz x width).
 */
export function csrMatMulDense<T extends Float32Array | Float64Array>(m: Csr, x: T, width: number, out?: T): T {
  if (x.length < m.cols * width) throw new RangeError(`csrMatMulDense: x has ${x.length} values, needs ${m.cols} x ${width}`);
  const y = out ?? new (x.constructor as new (n: number) => T)(m.rows * width);
  if (y.length < m.rows * width) throw new RangeError('csrMatMulDense: out too short');
  y.fill(0, 0, m.rows * width);
  const { indptr, indices, data } = m;
  for (let r = 0; r < m.rows; r++) {
    const yo = r * width;
    for (let p = indptr[r]!; p < indptr[r + 1]!; p++) {
      const v = data[p]!;
      const xo = indices[p]! * width;
      for (let j = 0; j < width; j++) y[yo + j]! += v * x[xo + j]!;
    }
  }
  return y;
}

/**
 * out (cols x width, row-major) = mᵀ (cols x rows) * x (rows x width, row-major), without forming
 * the transpose. `out` is overwritten. O(nnz x width).
 */
export function csrTransposeMatMulDense<T extends Float32Array | Float64Array>(m: Csr, x: T, width: number, out?: T): T {
  if (x.length < m.rows * width) throw new RangeError(`csrTransposeMatMulDense: x has ${x.length} values, needs ${m.rows} x ${width}`);
  const y = out ?? new (x.constructor as new (n: number) => T)(m.cols * width);
  if (y.length < m.cols * width) throw new RangeError('csrTransposeMatMulDense: out too short');
  y.fill(0, 0, m.cols * width);
  const { indptr, indices, data } = m;
  for (let r = 0; r < m.rows; r++) {
    const xo = r * width;
    for (let p = indptr[r]!; p < indptr[r + 1]!; p++) {
      const v = data[p]!;
      const yo = indices[p]! * width;
      for (let j = 0; j < width; j++) y[yo + j]! += v * x[xo + j]!;
    }
  }
  return y;
}

/** Row sums (length rows) and column sums (length cols) of m. O(nnz). */
export function csrRowColSums(m: Csr): { rowSums: Float64Array; colSums: Float64Array } {
  const rowSums = new Float64Array(m.rows);
  const colSums = new Float64Array(m.cols);
  for (let r = 0; r < m.rows; r++) {
    let s = 0;
    for (let p = m.indptr[r]!; p < m.indptr[r + 1]!; p++) {
      const v = m.data[p]!;
      s += v;
      colSums[m.indices[p]!]! += v;
    }
    rowSums[r] = s;
  }
  return { rowSums, colSums };
}

/**
 * A copy of m with entry (r, c) multiplied by rowScale[r] * colScale[c] (D_r m D_c). O(nnz).
 */
export function csrScale(m: Csr, rowScale: ArrayLike<number>, colScale: ArrayLike<number>): Csr {
  if (rowScale.length !== m.rows || colScale.length !== m.cols) throw new RangeError('csrScale: scale lengths differ from shape');
  const data = new Float32Array(m.data.length);
  for (let r = 0; r < m.rows; r++) {
    const rs = rowScale[r]!;
    for (let p = m.indptr[r]!; p < m.indptr[r + 1]!; p++) data[p] = m.data[p]! * rs * colScale[m.indices[p]!]!;
  }
  return { rows: m.rows, cols: m.cols, indptr: m.indptr, indices: m.indices, data };
}

/** Row r as a dense vector of length cols (zeros elsewhere). O(cols). */
export function csrRowToDense(m: Csr, r: number, out: Float32Array | Float64Array = new Float64Array(m.cols)): Float32Array | Float64Array {
  out.fill(0, 0, m.cols);
  for (let p = m.indptr[r]!; p < m.indptr[r + 1]!; p++) out[m.indices[p]!] = m.data[p]!;
  return out;
}

/**
 * The head of a chosen file for the import preview: decompressed in the browser when it is gzip (magic bytes),
 * with an estimate of its rows from the head's lines and the file's (decompressed) size.
 */
const HEAD_BYTES = 64 * 1024;

export interface FileHead {
  text: string;
  gzip: boolean;
  /** Estimated data rows (header excluded); null when nothing can be said. */
  expectedRows: number | null;
}

const isGzip = (b: Uint8Array) => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
const countLines = (t: string) => {
  let n = 0;
  for (let i = t.indexOf('\n'); i !== -1; i = t.indexOf('\n', i + 1)) n++;
  return n;
};

/** Reads the first 64 KiB of decompressed text; a gzip's ISIZE trailer gives its decompressed size (mod 4 GiB). */
export async function readFileHead(file: File): Promise<FileHead> {
  const magic = new Uint8Array(await file.slice(0, 2).arrayBuffer());
  if (!isGzip(magic)) {
    const head = new Uint8Array(await file.slice(0, HEAD_BYTES).arrayBuffer());
    const text = new TextDecoder().decode(head);
    return { text, gzip: false, expectedRows: estimate(text, head.length, file.size) };
  }
  const reader = file.stream().pipeThrough(new DecompressionStream('gzip')).getReader();
  const chunks: Uint8Array[] = [];
  let n = 0;
  try {
    while (n < HEAD_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      n += value.length;
    }
  } catch {
    // A corrupt or truncated gzip: preview what was read; the server reports the problem on upload.
  } finally {
    void reader.cancel().catch(() => undefined);
  }
  const all = new Uint8Array(n);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  const head = all.subarray(0, HEAD_BYTES);
  const text = new TextDecoder().decode(head);
  const trailer = new DataView(await file.slice(-4).arrayBuffer());
  const size = file.size >= 18 ? trailer.getUint32(0, true) : 0;
  return { text, gzip: true, expectedRows: estimate(text, head.length, Math.max(size, head.length)) };
}

function estimate(text: string, headBytes: number, totalBytes: number): number | null {
  if (!headBytes) return 0;
  const lines = countLines(text);
  if (headBytes >= totalBytes) return Math.max(0, lines - (text.endsWith('\n') ? 1 : 0));
  if (lines === 0) return null;
  return Math.round((lines * totalBytes) / headBytes) - 1;
}

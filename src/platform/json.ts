/**
 * JSON helpers for payloads written by others (Shopify ids, CSV-exported JSON) whose integers exceed 2^53.
 */

/** Quotes integer literals of 16+ digits outside strings so JSON.parse keeps them exact (as text). */
export function quoteBigIntegers(text: string): string {
  let out = '';
  let last = 0;
  let inStr = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inStr) {
      if (c === 92) i++;
      else if (c === 34) inStr = false;
      continue;
    }
    if (c === 34) {
      inStr = true;
      continue;
    }
    if ((c >= 48 && c <= 57) || c === 45) {
      let j = i + (c === 45 ? 1 : 0);
      while (j < text.length && text.charCodeAt(j) >= 48 && text.charCodeAt(j) <= 57) j++;
      const next = text[j];
      const digits = j - i - (c === 45 ? 1 : 0);
      if (digits >= 16 && next !== '.' && next !== 'e' && next !== 'E') {
        out += `${text.slice(last, i)}"${text.slice(i, j)}"`;
        last = j;
      }
      i = j - 1;
    }
  }
  return last === 0 ? text : out + text.slice(last);
}

/**
 * JSON.parse that keeps integers beyond 2^53 exact: integer literals of 16 or more digits outside strings
 * become strings before parsing (Shopify ids such as 820982911946154508). Throws SyntaxError like JSON.parse.
 */
export function parseJsonLossless(text: string): unknown {
  return JSON.parse(/\d{16}/.test(text) ? quoteBigIntegers(text) : text);
}

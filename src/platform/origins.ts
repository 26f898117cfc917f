/**
 * The one form of a web origin compared on requests: `scheme://host[:port]`, lower case, default port
 * dropped. Undefined when `input` is not an http(s) origin (a path, query, credentials or wildcard).
 */
export function normalizeOrigin(input: string): string | undefined {
  if (input.length > 300 || /[\s*]/.test(input)) return undefined;
  let u: URL;
  try {
    u = new URL(input);
  } catch {
    return undefined;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
  if (u.username || u.password || u.search || u.hash || (u.pathname !== '/' && u.pathname !== '')) return undefined;
  return u.origin.toLowerCase();
}

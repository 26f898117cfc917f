/**
 * HTTP conditional requests (RFC 9110 section 13): whether an If-None-Match header matches an entity tag: a list,
 * weak validators and `*` included (the weak comparison GET uses). A header past 2,000 characters never matches.
 */
export function notModified(header: string | string[] | undefined, etag: string): boolean {
  if (typeof header !== 'string' || header.length > 2000) return false;
  return header
    .split(',')
    .map((t) => t.trim().replace(/^W\//, ''))
    .some((t) => t === '*' || t === etag);
}

/**
 * The `next=` target of the sign-in page: a path on this dashboard, never another origin and never the
 * sign-in page itself (a nested `next=` is unwrapped to the page the person was really on).
 */
export function safeNext(raw: string | null | undefined): string {
  let target = raw ?? '';
  for (let i = 0; i < 10; i++) {
    if (!target.startsWith('/') || target.startsWith('//') || target.startsWith('/\\')) return '/';
    const url = new URL(target, 'http://dashboard.invalid');
    if (url.origin !== 'http://dashboard.invalid') return '/';
    if (url.pathname !== '/sign-in') return url.pathname + url.search + url.hash;
    target = url.searchParams.get('next') ?? '/';
  }
  return '/';
}

/** The sign-in address that comes back to `pathname + search` afterwards. */
export function signInPath(pathname: string, search: string): string {
  const next = safeNext(pathname + search);
  return next === '/' ? '/sign-in' : `/sign-in?next=${encodeURIComponent(next)}`;
}

// The route in a URL's hash: #/<page>/<arg>…?<query>. The page and its arguments are
// URI-encoded path segments (a key with '/', '#', '?' or '%' survives), the query is
// URLSearchParams. No DOM: unit-tested under Node (test/unit/web/route.test.ts).

export interface Route {
  /** '' for #/ (the app then opens its first page). */
  page: string;
  /** The path segments after the page, decoded. */
  args: string[];
  query: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const text = hash.replace(/^#\/?/, '');
  const q = text.indexOf('?');
  const path = q >= 0 ? text.slice(0, q) : text;
  const segments = path.split('/').filter((s) => s !== '').map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  });
  return { page: segments[0] ?? '', args: segments.slice(1), query: new URLSearchParams(q >= 0 ? text.slice(q + 1) : '') };
}

/** `#/page/arg…?query`, leaving out empty query values. */
export function href(page: string, args: ReadonlyArray<string | undefined> = [], query: Record<string, string | number | boolean | undefined> = {}): string {
  const path = [page, ...args.filter((a): a is string => a !== undefined && a !== '')].map(encodeURIComponent).join('/');
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '' && v !== false) q.set(k, v === true ? '1' : String(v));
  const s = q.toString();
  return `#/${path}${s ? `?${s}` : ''}`;
}


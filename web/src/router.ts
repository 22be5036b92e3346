// Hash routing: #/<page>/<arg>?<query>, e.g. #/search/photos?key=a%2Fb.jpg&k=20.
// The page and its argument are URI-encoded path segments; the query is URLSearchParams.
import { useEffect, useState } from 'preact/hooks';

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

/** The search page for an indexed image (what clicking any image in the app opens). */
export const searchHref = (dataset: string, key: string): string => href('search', [dataset], { key });

export function navigate(to: string, replace = false): void {
  if (replace) history.replaceState(null, '', to);
  else location.hash = to.slice(1);
  if (replace) window.dispatchEvent(new HashChangeEvent('hashchange'));
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const onChange = (): void => setRoute(parseHash(location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

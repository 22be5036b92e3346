// Hash routing: #/<page>/<arg>?<query>, e.g. #/search/photos?key=a%2Fb.jpg&k=20 (the
// URL text itself: route.ts, pure and unit-tested); navigation and the current route.
import { useEffect, useState } from 'preact/hooks';
import { href, parseHash, type Route } from './route.js';

export { href, parseHash, type Route };

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

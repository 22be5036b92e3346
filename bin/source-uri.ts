// A source as given on the command line → a URI: folders become file:///absolute/path.
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export function toSourceUri(source: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) return source;
  return pathToFileURL(path.resolve(source)).href;
}

// Key-prefix filters of both vector indexes: a key prefix is a folder of keys.

/** A key prefix as the folder it denotes: '' stays '', 'a/b' and 'a/b/' become 'a/b/'. */
export function folderPrefix(prefix: string): string {
  const trimmed = prefix.replace(/^\/+/, '');
  return trimmed === '' || trimmed.endsWith('/') ? trimmed : `${trimmed}/`;
}

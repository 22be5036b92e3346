// Point ids and errors shared by the emulator's parts.

/** A Qdrant point id: an unsigned integer or a UUID (kept in canonical lowercase hyphenated form). */
export type PointId = number | string;

/** An error the emulator answers with: status + Qdrant-style message (`{status: {error}}`). */
export class EmulatorError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const UUID_HEX = /^[0-9a-f]{32}$/;

/** Qdrant accepts UUIDs with or without hyphens, any case, and answers in canonical form. */
export function canonicalId(id: unknown): PointId {
  if (typeof id === 'number' && Number.isInteger(id) && id >= 0) return id;
  if (typeof id === 'string') {
    const hex = id.toLowerCase().replaceAll('-', '');
    if (UUID_HEX.test(hex)) {
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    }
  }
  throw new EmulatorError(400, `Bad request: Unable to parse point id ${JSON.stringify(id)}`);
}

/** A map key for a canonical id. */
export function idKey(id: PointId): string {
  return typeof id === 'number' ? `n${id}` : `u${String(canonicalId(id))}`;
}

/** Qdrant's id order: integers ascending, then UUIDs by their 128-bit value (= canonical text order). */
export function compareIds(a: PointId, b: PointId): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'number') return -1;
  if (typeof b === 'number') return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

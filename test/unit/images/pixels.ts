// Helpers for the image tests: read one pixel of an HWC RGB image, compare colours.
import assert from 'node:assert/strict';

export type Rgb = [number, number, number];

/** Pixel (x, y) of a size×size HWC RGB image. */
export function pixel(data: ArrayLike<number>, size: number, x: number, y: number): Rgb {
  const i = (y * size + x) * 3;
  return [data[i] as number, data[i + 1] as number, data[i + 2] as number];
}

/** Asserts every channel is within `tolerance` of the expected value. */
export function assertColour(actual: Rgb, expected: Rgb, tolerance: number, what: string): void {
  const ok = actual.every((v, c) => Math.abs(v - (expected[c] as number)) <= tolerance);
  assert.ok(ok, `${what}: got [${actual.map((v) => v.toFixed(3)).join(', ')}], expected ≈ [${expected.join(', ')}] ±${tolerance}`);
}

// Small helpers for building SVG overlays that sharp (librsvg) renders to pixels:
// XML escaping of arbitrary text (file names, labels), fitting a line into a
// pixel width, and the fonts used. Rendering itself happens in the callers.

/** Proportional and monospace font stacks; DejaVu ships with most Linux images. */
export const SANS = "'DejaVu Sans', 'Liberation Sans', Arial, Helvetica, sans-serif";
export const MONO = "'DejaVu Sans Mono', 'Liberation Mono', Menlo, Consolas, monospace";

/** Advance width of one monospace character, as a fraction of the font size (DejaVu Sans Mono). */
export const MONO_CHAR_WIDTH = 0.61;

/**
 * Text made safe for SVG element content and attribute values: & < > " ' escaped,
 * characters XML 1.0 forbids (control characters, lone surrogates, U+FFFE/FFFF)
 * replaced by U+FFFD.
 */
export function escapeXml(text: string): string {
  return (
    text
      // eslint-disable-next-line no-control-regex -- stripping control characters is the point
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '\ufffd')
      .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
  );
}

/** How many monospace characters of `fontSize` fit in `width` pixels (at least 1). */
export function monoCharsFitting(width: number, fontSize: number): number {
  return Math.max(1, Math.floor(width / (fontSize * MONO_CHAR_WIDTH)));
}

/** `text` shortened to `maxChars` code points by replacing its start with "…" (keeps the file name end). */
export function ellipsizeStart(text: string, maxChars: number): string {
  const chars = [...text];
  if (chars.length <= maxChars) return text;
  if (maxChars <= 1) return '…';
  return '…' + chars.slice(chars.length - (maxChars - 1)).join('');
}

/** A finite number for SVG attributes, rounded to 0.01 px. */
export function px(value: number): string {
  return Number.isFinite(value) ? String(Math.round(value * 100) / 100) : '0';
}

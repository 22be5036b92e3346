// Colours of clusters: 20 distinct hand-picked ones first, then golden-angle hues at
// alternating lightness (beyond ~20 no palette keeps every pair apart; the legend and the
// per-cluster grids say which is which).
const BASE = [
  '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf',
  '#aec7e8', '#ffbb78', '#98df8a', '#ff9896', '#c5b0d5', '#c49c94', '#f7b6d2', '#393b79', '#dbdb8d', '#9edae5',
];

function hslHex(h: number, s: number, l: number): string {
  const a = s * Math.min(l, 1 - l);
  const f = (n: number): string => {
    const k = (n + h / 30) % 12;
    const c = l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    return Math.round(255 * c)
      .toString(16)
      .padStart(2, '0');
  };
  return `#${f(0)}${f(8)}${f(4)}`;
}

/** `n` colours (hex), the same for the same n. */
export function palette(n: number): string[] {
  const out = BASE.slice(0, n);
  for (let i = out.length; i < n; i++) out.push(hslHex((i * 137.508) % 360, 0.65, [0.45, 0.6, 0.35][i % 3] as number));
  return out;
}

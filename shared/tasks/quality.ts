// Image quality metrics for image-to-image tasks, on HWC RGB floats in [0, 1]
// (data range 1).
//
// PSNR = 10·log10(1 / MSE) over all values of one image (all 3 channels); identical
// images give Infinity.
//
// SSIM (Wang et al. 2004, the standard constants): Gaussian window 11×11, sigma 1.5,
// K1 = 0.01, K2 = 0.03, L = 1; local statistics with 'valid' filtering (windows that
// lie wholly inside the image, as the reference MATLAB code does), population
// (co)variances; the SSIM map is averaged per channel, then the 3 channel means are
// averaged (like scikit-image's channel_axis=-1). Images smaller than 11 px use the
// largest odd window that fits.

export interface Quality {
  psnr: number;
  ssim: number;
}

/** PSNR in dB of `a` against `b` (same length); Infinity when identical. */
export function psnr(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length || a.length === 0) throw new RangeError(`psnr: lengths differ or are zero (${a.length} vs ${b.length})`);
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] as number) - (b[i] as number);
    sum += d * d;
  }
  const mse = sum / a.length;
  return mse === 0 ? Infinity : 10 * Math.log10(1 / mse);
}

const K1 = 0.01;
const K2 = 0.03;
const C1 = K1 * K1;
const C2 = K2 * K2;

function gaussianWindow(side: number, sigma: number): Float64Array {
  const w = new Float64Array(side);
  const c = (side - 1) / 2;
  let sum = 0;
  for (let i = 0; i < side; i++) {
    w[i] = Math.exp(-((i - c) ** 2) / (2 * sigma * sigma));
    sum += w[i] as number;
  }
  for (let i = 0; i < side; i++) w[i] = (w[i] as number) / sum;
  return w;
}

/** Mean SSIM of two size×size RGB images (HWC, [0, 1]). */
export function ssim(a: Float32Array, b: Float32Array, size: number): number {
  if (a.length !== size * size * 3 || b.length !== a.length) {
    throw new RangeError(`ssim: expected two ${size}×${size}×3 images, got ${a.length} and ${b.length} values`);
  }
  const win = Math.min(11, size % 2 === 1 ? size : size - 1);
  const w = gaussianWindow(win, 1.5);
  const out = size - win + 1;
  // Horizontal pass results for the 5 statistics, size rows × out columns.
  const h = Array.from({ length: 5 }, () => new Float64Array(size * out));
  let total = 0;
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < out; x++) {
        let mx = 0;
        let my = 0;
        let xx = 0;
        let yy = 0;
        let xy = 0;
        for (let k = 0; k < win; k++) {
          const o = (y * size + x + k) * 3 + c;
          const wk = w[k] as number;
          const va = a[o] as number;
          const vb = b[o] as number;
          mx += wk * va;
          my += wk * vb;
          xx += wk * va * va;
          yy += wk * vb * vb;
          xy += wk * va * vb;
        }
        const j = y * out + x;
        (h[0] as Float64Array)[j] = mx;
        (h[1] as Float64Array)[j] = my;
        (h[2] as Float64Array)[j] = xx;
        (h[3] as Float64Array)[j] = yy;
        (h[4] as Float64Array)[j] = xy;
      }
    }
    let sum = 0;
    for (let y = 0; y < out; y++) {
      for (let x = 0; x < out; x++) {
        const s = [0, 0, 0, 0, 0];
        for (let k = 0; k < win; k++) {
          const j = (y + k) * out + x;
          const wk = w[k] as number;
          for (let m = 0; m < 5; m++) s[m] = (s[m] as number) + wk * ((h[m] as Float64Array)[j] as number);
        }
        const [mx, my, xx, yy, xy] = s as [number, number, number, number, number];
        const vx = xx - mx * mx;
        const vy = yy - my * my;
        const cxy = xy - mx * my;
        sum += ((2 * mx * my + C1) * (2 * cxy + C2)) / ((mx * mx + my * my + C1) * (vx + vy + C2));
      }
    }
    total += sum / (out * out);
  }
  return total / 3;
}

/** PSNR and SSIM of one image against its target. */
export function quality(output: Float32Array, target: Float32Array, size: number): Quality {
  return { psnr: psnr(output, target), ssim: ssim(output, target, size) };
}

/** Running means of per-image PSNR and SSIM (PSNR Infinity stays Infinity). */
export class QualityMeter {
  private n = 0;
  private psnrSum = 0;
  private ssimSum = 0;

  /** Adds n images of a batch (outputs and targets laid out one after the other). */
  addBatch(outputs: Float32Array, targets: Float32Array, n: number, size: number): void {
    const per = size * size * 3;
    for (let i = 0; i < n; i++) {
      const q = quality(outputs.subarray(i * per, (i + 1) * per), targets.subarray(i * per, (i + 1) * per), size);
      this.psnrSum += q.psnr;
      this.ssimSum += q.ssim;
      this.n++;
    }
  }

  get count(): number {
    return this.n;
  }

  mean(): Quality {
    return this.n === 0 ? { psnr: NaN, ssim: NaN } : { psnr: this.psnrSum / this.n, ssim: this.ssimSum / this.n };
  }
}

/**
 * "31.42 dB"; "identical" for an output equal to its target (PSNR Infinity, null in
 * JSON); "n/a" when there was nothing to measure (NaN). Human output never shows ∞ or NaN.
 */
export function formatPsnr(v: number | null): string {
  if (v === null || v === Infinity) return 'identical';
  return Number.isFinite(v) ? `${v.toFixed(2)} dB` : 'n/a';
}

/** SSIM with 3 decimals, "n/a" when not a number. */
export function formatSsim(v: number): string {
  return Number.isFinite(v) ? v.toFixed(3) : 'n/a';
}

/**
 * The quality of a task's output and of its baseline, for people:
 * "output PSNR 24.10 dB SSIM 0.812  vs baseline (input) PSNR 20.02 dB SSIM 0.655", with
 * "(worse than the baseline)" when it is; a baseline identical to its target (reconstruct:
 * the input is the target) is "baseline: input = target (no baseline)", never "∞".
 */
export function formatQuality(m: {
  output: { psnr: number | null; ssim: number };
  baseline: { psnr: number | null; ssim: number; method: string };
}): string {
  const output = `output PSNR ${formatPsnr(m.output.psnr)} SSIM ${formatSsim(m.output.ssim)}`;
  const b = m.baseline;
  if (b.psnr === null || b.psnr === Infinity) return `${output}; baseline: ${b.method} = target (no baseline)`;
  const worse = m.output.psnr !== null && Number.isFinite(m.output.psnr) && Number.isFinite(b.psnr) && m.output.psnr < b.psnr;
  return `${output}  vs baseline (${b.method}) PSNR ${formatPsnr(b.psnr)} SSIM ${formatSsim(b.ssim)}${worse ? ' (worse than the baseline)' : ''}`;
}

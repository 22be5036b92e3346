// The edited copies of the near-duplicate evals (shared/images/edits.ts): every kind made
// from the upright picture of an EXIF-rotated photo (sharp keeps the auto-orientation when
// rotate(angle) follows it), sizes within each kind's range, the same bytes for the same seed.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { DUPLICATE_KINDS, EDIT_KINDS } from '../../../shared/features/defaults.js';
import { makeDuplicate } from '../../../shared/images/edits.js';
import { createRng } from '../../../shared/random.js';

const W = 200;
const H = 100;

/** A 200 × 100 picture stored sideways: left half red, right half blue, with a green ramp down each column. */
async function sideways(orientation: number): Promise<Buffer> {
  const raw = Buffer.alloc(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = (y * W + x) * 3;
      raw[i] = x < W / 2 ? 240 : 0;
      raw[i + 1] = Math.round((y * 255) / H);
      raw[i + 2] = x < W / 2 ? 0 : 240;
    }
  }
  return sharp(raw, { raw: { width: W, height: H, channels: 3 } })
    .png()
    .withMetadata({ orientation })
    .toBuffer();
}

async function rgb(bytes: Buffer, upright = false): Promise<{ data: Buffer; width: number; height: number; at: (x: number, y: number) => number[] }> {
  const { data, info } = await (upright ? sharp(bytes).autoOrient() : sharp(bytes)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, at: (x, y) => [...data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3)] };
}

/** Mean absolute difference of `part` placed at the best offset inside `whole` (red and blue channels, every 3rd pixel). */
function bestPlacement(part: Awaited<ReturnType<typeof rgb>>, whole: Awaited<ReturnType<typeof rgb>>): number {
  let best = Infinity;
  for (let top = 0; top + part.height <= whole.height; top++) {
    for (let left = 0; left + part.width <= whole.width; left++) {
      let sum = 0;
      let n = 0;
      for (let y = 0; y < part.height; y += 3) {
        for (let x = 0; x < part.width; x += 3) {
          const p = part.at(x, y);
          const q = whole.at(x + left, y + top);
          sum += Math.abs((p[0] as number) - (q[0] as number)) + Math.abs((p[2] as number) - (q[2] as number));
          n += 2;
        }
      }
      best = Math.min(best, sum / n);
    }
  }
  return best;
}

describe('edited copies (makeDuplicate)', () => {
  test('eval-features keeps its five kinds; eval-duplicates adds flip, aspect and exact', () => {
    assert.deepEqual([...DUPLICATE_KINDS], ['crop', 'rotate', 'scale', 'jpeg', 'brightness']);
    assert.deepEqual([...EDIT_KINDS], ['crop', 'rotate', 'scale', 'jpeg', 'brightness', 'flip', 'aspect', 'exact']);
  });

  for (const orientation of [6, 8]) {
    test(`EXIF orientation ${orientation}: every edit is of the upright (portrait) picture`, async () => {
      const bytes = await sideways(orientation);
      const upright = await rgb(bytes, true);
      assert.deepEqual([upright.width, upright.height], [H, W], 'upright is portrait');
      for (const kind of EDIT_KINDS) {
        const out = await makeDuplicate(bytes, kind, createRng(5));
        const e = await rgb(out, true);
        if (kind !== 'aspect') assert.ok(e.height > e.width, `${kind}: ${e.width}×${e.height} is portrait`);
      }
      // Rotated by 10–35°: the canvas is the upright picture's turned bounding box, and the
      // top and bottom halves keep the upright picture's colours at the centre line.
      const rotated = await rgb(await makeDuplicate(bytes, 'rotate', createRng(5)));
      const topColour = upright.at(H / 2, W / 4);
      const bottomColour = upright.at(H / 2, (3 * W) / 4);
      const near = (a: number[], b: number[]): boolean => Math.abs((a[0] as number) - (b[0] as number)) < 40 && Math.abs((a[2] as number) - (b[2] as number)) < 40;
      assert.ok(near(rotated.at(Math.floor(rotated.width / 2), Math.floor(rotated.height * 0.3)), topColour), 'top of the rotated copy is the upright top');
      assert.ok(near(rotated.at(Math.floor(rotated.width / 2), Math.floor(rotated.height * 0.7)), bottomColour), 'bottom of the rotated copy is the upright bottom');
      // A crop is a window of the upright picture.
      const crop = await rgb(await makeDuplicate(bytes, 'crop', createRng(5)));
      assert.ok(bestPlacement(crop, upright) < 6, 'the crop is found in the upright picture');
      // A flip is the upright picture mirrored.
      const flip = await rgb(await makeDuplicate(bytes, 'flip', createRng(5)));
      const mirrored = await rgb(await sharp(bytes).autoOrient().flop().png().toBuffer());
      assert.ok(bestPlacement(flip, mirrored) < 6, 'the flip is the mirrored upright picture');
    });
  }

  test('sizes stay within each kind’s range; exact is the same bytes; the same seed gives the same copy', async () => {
    const bytes = await sideways(1);
    for (let seed = 1; seed <= 8; seed++) {
      const size = async (kind: (typeof EDIT_KINDS)[number]): Promise<[number, number]> => {
        const m = await sharp(await makeDuplicate(bytes, kind, createRng(seed))).metadata();
        return [m.width, m.height];
      };
      const [cw, ch] = await size('crop');
      assert.ok(cw >= 0.6 * W - 1 && cw <= 0.8 * W + 1 && ch >= 0.6 * H - 1 && ch <= 0.8 * H + 1, `crop ${cw}×${ch}`);
      const [sw, sh] = await size('scale');
      assert.ok(sw >= 0.45 * W - 1 && sw <= 0.7 * W + 1 && Math.abs(sw / W - sh / H) < 0.02, `scale ${sw}×${sh}`);
      const [aw, ah] = await size('aspect');
      const stretched = aw !== W ? aw / W : ah / H;
      assert.ok((aw === W) !== (ah === H) || stretched === 1, `aspect changes one side: ${aw}×${ah}`);
      assert.ok(stretched >= 0.7 - 0.01 && stretched <= 1.4 + 0.01, `aspect ×${stretched}`);
      assert.deepEqual(await size('flip'), [W, H]);
    }
    assert.equal(await makeDuplicate(bytes, 'exact', createRng(1)), bytes);
    for (const kind of EDIT_KINDS) assert.ok((await makeDuplicate(bytes, kind, createRng(3))).equals(await makeDuplicate(bytes, kind, createRng(3))), kind);
  });
});

// Draws two images side by side with their ORB keypoints (small circles) and the good
// matches between them as lines: RANSAC inliers green, other ratio-test matches red.
// A header above each image carries its label. One SVG overlay rendered by sharp
// (librsvg) on top of the two images, both shown at the same display height.

import sharp, { type OverlayOptions } from 'sharp';
import { escapeXml, ellipsizeStart, MONO, monoCharsFitting, px } from '../images/svg.js';
import type { FeatureMatch } from './match.js';
import type { OrbFeatures, WorkingImage } from './orb.js';

export interface MatchPanel {
  /** RGB image at the working size the features were detected at. */
  image: WorkingImage;
  features: OrbFeatures;
  /** Up to two lines ("\n"). */
  label: string;
}

const HEADER = 40;
const GAP = 16;
const FONT = 13;
const MAX_LINES = 200;

/** PNG: left and right images, keypoints and match lines. `height` is the display height of the images. */
export async function renderMatchPng(left: MatchPanel, right: MatchPanel, match: FeatureMatch, height = 360): Promise<Buffer> {
  const sl = height / left.image.height;
  const sr = height / right.image.height;
  const wl = Math.round(left.image.width * sl);
  const wr = Math.round(right.image.width * sr);
  const ox = wl + GAP;
  const width = ox + wr;
  const total = HEADER + height;

  const tiles = await Promise.all(
    [
      { panel: left, w: wl },
      { panel: right, w: wr },
    ].map(({ panel, w }) =>
      sharp(panel.image.data, { raw: { width: panel.image.width, height: panel.image.height, channels: panel.image.channels } })
        .resize(w, height, { fit: 'fill' })
        .png()
        .toBuffer(),
    ),
  );

  const label = (text: string, x: number, w: number): string =>
    text
      .split('\n')
      .slice(0, 2)
      .map(
        (line, i) =>
          `<text x="${x + 2}" y="${15 + i * 16}" font-family="${MONO}" font-size="${FONT}" fill="#222">${escapeXml(ellipsizeStart(line, monoCharsFitting(w - 4, FONT)))}</text>`,
      )
      .join('');
  const circles = (f: OrbFeatures, s: number, x0: number): string =>
    f.keypoints
      .map((k) => `<circle cx="${px(x0 + k.x * s)}" cy="${px(HEADER + k.y * s)}" r="3" fill="none" stroke="#ffd400" stroke-opacity="0.8" stroke-width="1"/>`)
      .join('');
  const ordered = [...match.matches].sort((a, b) => Number(b.inlier) - Number(a.inlier) || a.distance - b.distance).slice(0, MAX_LINES);
  const lines = ordered
    .map((m) => {
      const ka = left.features.keypoints[m.a];
      const kb = right.features.keypoints[m.b];
      if (!ka || !kb) return '';
      const colour = m.inlier ? '#00d000' : '#ff3030';
      return `<line x1="${px(ka.x * sl)}" y1="${px(HEADER + ka.y * sl)}" x2="${px(ox + kb.x * sr)}" y2="${px(HEADER + kb.y * sr)}" stroke="${colour}" stroke-opacity="${m.inlier ? 0.85 : 0.55}" stroke-width="1.2"/>`;
    })
    .join('');
  const overlay = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${total}">`,
    label(left.label, 0, wl),
    label(right.label, ox, wr),
    circles(left.features, sl, 0),
    circles(right.features, sr, ox),
    lines,
    '</svg>',
  ].join('');
  const layers: OverlayOptions[] = [
    { input: tiles[0], left: 0, top: HEADER },
    { input: tiles[1], left: ox, top: HEADER },
    { input: Buffer.from(overlay), left: 0, top: 0 },
  ];
  return sharp({ create: { width, height: total, channels: 3, background: { r: 245, g: 245, b: 245 } } })
    .composite(layers)
    .png()
    .toBuffer();
}

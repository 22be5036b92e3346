// Duplicates: the groups of the dataset's latest duplicates report (GET …/duplicates, paged,
// largest first), each with its members' thumbnails (suggested keeper marked), its pairs'
// tier and evidence, and "not a duplicate" per pair (POST …/dismiss: stored with the
// dataset, so later passes leave the pair out; the page reloads and the group updates).
// No report yet: queued — a button starts a pass and its progress is polled; local — the
// command that writes one.
import { useEffect, useState } from 'preact/hooks';
import { api, messageOf, TIERS, type AppInfo, type DuplicateGroup, type DuplicatePair, type DuplicatePass, type Tier } from '../api.js';
import { DatasetPicker } from '../components/dataset-picker.js';
import { ErrorLine, Loading, Note, ProgressBar } from '../components/status.js';
import { Thumb } from '../components/thumbs.js';
import { fmtBytes, fmtInt, fmtTime } from '../format.js';
import { useAsync } from '../hooks.js';
import { offsetPastEnd } from '../paging.js';

const GROUPS_PER_PAGE = 10;
const POLL_MS = 2000;
const passActive = (p: DuplicatePass | undefined): boolean => p !== undefined && p.status !== 'completed' && p.status !== 'failed';

const TIER_TEXT: Record<Tier, string> = {
  exact: 'exact: identical bytes or pixels',
  perceptual: 'perceptual: hashes within a few bits',
  verified: 'verified: ORB keypoints agree on one transform',
  learned: 'learned: the learned tier (weakest)',
};

export function DuplicatesPage({ info, dataset }: { info: AppInfo; dataset: string | undefined }) {
  if (!dataset) {
    return (
      <section data-testid="page-duplicates">
        <h1>Duplicates</h1>
        <DatasetPicker page="duplicates" current={undefined} />
      </section>
    );
  }
  return <Duplicates key={dataset} info={info} dataset={dataset} />;
}

function Duplicates({ info, dataset }: { info: AppInfo; dataset: string }) {
  const [tier, setTier] = useState<Tier | undefined>(undefined);
  const [offset, setOffset] = useState(0);
  const [starting, setStarting] = useState<{ busy: boolean; error?: unknown }>({ busy: false });
  const page = useAsync((signal) => api.duplicates(dataset, { limit: GROUPS_PER_PAGE, offset, tier }, signal), [dataset, offset, tier], (d) =>
    passActive(d.pass) ? POLL_MS : undefined,
  );

  // "Not a duplicate" on the last page's last group: back to the page that is left.
  const back = page.data ? offsetPastEnd(offset, page.data.total, GROUPS_PER_PAGE) : undefined;
  useEffect(() => {
    if (back !== undefined) setOffset(back);
  }, [back]);

  const start = (): void => {
    setStarting({ busy: true });
    api.startDuplicates(dataset).then(
      () => {
        setStarting({ busy: false });
        page.reload();
      },
      (error: unknown) => setStarting({ busy: false, error }),
    );
  };

  const data = page.data;
  return (
    <section data-testid="page-duplicates">
      <h1>
        Duplicates <DatasetPicker page="duplicates" current={dataset} />
      </h1>
      {page.error && <ErrorLine error={page.error} />}
      {!data && !page.error && <Loading what="Loading duplicates" />}
      {data?.pass && (passActive(data.pass) || data.pass.status === 'failed' || !data.report) && <PassLine pass={data.pass} />}
      {data && !data.report && (
        <div class="card" data-testid="no-report">
          <p>
            <strong>No duplicates report for {dataset} yet.</strong>
          </p>
          {info.mode === 'local' ? (
            <LocalHint dataset={dataset} />
          ) : (
            <p>
              A duplicates pass fingerprints every image of the live collection and groups exact, perceptual and verified copies.{' '}
              <button type="button" data-testid="find-duplicates" disabled={starting.busy || passActive(data.pass)} onClick={start}>
                {passActive(data.pass) ? 'Finding duplicates…' : 'Find duplicates'}
              </button>
              {starting.error !== undefined && <span class="error-inline"> {messageOf(starting.error)}</span>}
            </p>
          )}
        </div>
      )}
      {data?.report && (
        <>
          <p class="sub" data-testid="duplicates-summary">
            {fmtInt(data.total)} group{data.total === 1 ? '' : 's'}
            {tier ? ` whose strongest tier is ${tier}` : ''} · {fmtInt(data.report.images)} images compared · pairs{' '}
            {Object.entries(data.report.pairsByTier)
              .map(([t, n]) => `${t} ${fmtInt(n)}`)
              .join(', ')}{' '}
            · {fmtInt(data.report.dismissed)} dismissed · report of {fmtTime(data.report.finishedAt)}
          </p>
          <label class="picker">
            Tier{' '}
            <select
              data-testid="tier-filter"
              value={tier ?? ''}
              onChange={(e) => {
                const v = (e.currentTarget).value;
                setTier(v === '' ? undefined : (v as Tier));
                setOffset(0);
              }}
            >
              <option value="">all (exact, perceptual, verified)</option>
              {TIERS.map((t) => (
                <option key={t} value={t}>
                  {TIER_TEXT[t]}
                </option>
              ))}
            </select>
          </label>
          {data.groups.length === 0 ? (
            <Note testid="no-groups">No duplicate groups{tier ? ` of tier ${tier}` : ''}.</Note>
          ) : (
            data.groups.map((g) => <Group key={`${g.keeper}:${g.members.length}`} dataset={dataset} group={g} onChange={page.reload} />)
          )}
          {data.total > GROUPS_PER_PAGE && (
            <div class="pager">
              <button type="button" data-testid="duplicates-prev" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - GROUPS_PER_PAGE))}>
                ← previous
              </button>
              <span>
                {fmtInt(offset + 1)}–{fmtInt(Math.min(data.total, offset + data.groups.length))} of {fmtInt(data.total)}
              </span>
              <button type="button" data-testid="duplicates-next" disabled={data.nextOffset === undefined} onClick={() => setOffset(data.nextOffset ?? offset)}>
                next →
              </button>
            </div>
          )}
        </>
      )}
    </section>
  );
}

function PassLine({ pass }: { pass: DuplicatePass }) {
  const total = pass.toFingerprint ?? 0;
  return (
    <div class="pass" data-testid="pass-status" data-status={pass.status}>
      Duplicates pass <span class="mono">{pass.passId}</span>: <span class={`status status-${pass.status}`}>{pass.status}</span>
      {pass.status === 'fingerprinting' && total > 0 && (
        <>
          <ProgressBar done={pass.fingerprinted ?? 0} failed={pass.failed ?? 0} total={total} />
          <span class="sub">
            {fmtInt(pass.fingerprinted ?? 0)} of {fmtInt(total)} fingerprinted
          </span>
        </>
      )}
      {pass.status === 'pairing' && pass.phase === 'verifying' && (pass.chunks ?? 0) > 0 && (
        <>
          <ProgressBar done={pass.verified ?? 0} failed={0} total={pass.chunks ?? 0} />
          <span class="sub">
            verifying {fmtInt(pass.candidatePairs ?? 0)} candidate pairs: {fmtInt(pass.verified ?? 0)} of {fmtInt(pass.chunks ?? 0)} jobs
          </span>
        </>
      )}
      {pass.status === 'pairing' && pass.phase !== 'verifying' && <span class="sub"> {pass.phase === 'merging' ? 'merging the verified pairs' : 'finding candidate pairs'}</span>}
      {pass.error && <span class="error-inline"> {pass.error}</span>}
    </div>
  );
}

function LocalHint({ dataset }: { dataset: string }) {
  const detail = useAsync((signal) => api.dataset(dataset, signal), [dataset]);
  const dir = detail.data?.collection ?? '<index folder>';
  return (
    <p>
      Make one with <code data-testid="duplicates-command">imgsim duplicates --index {dir}</code>, then reload this page.
    </p>
  );
}

function evidence(p: DuplicatePair): string {
  const parts: string[] = [];
  if (p.identical) parts.push(`identical ${p.identical}`);
  if (p.distance !== undefined) parts.push(`hash distance ${p.distance} bits`);
  if (p.mirrored) parts.push('mirrored');
  if (p.inliers !== undefined) parts.push(`${p.inliers} inliers`);
  if (p.correlation !== undefined) parts.push(`correlation ${p.correlation.toFixed(2)}`);
  if (p.cosine !== undefined) parts.push(`cosine ${p.cosine.toFixed(3)}`);
  return parts.join(' · ');
}

function Group({ dataset, group, onChange }: { dataset: string; group: DuplicateGroup; onChange: () => void }) {
  const [busy, setBusy] = useState<string | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const dismiss = (p: DuplicatePair): void => {
    setBusy(`${p.a}\n${p.b}`);
    setError(undefined);
    api.dismiss(dataset, p.a, p.b).then(
      () => {
        setBusy(undefined);
        onChange();
      },
      (e: unknown) => {
        setBusy(undefined);
        setError(e);
      },
    );
  };
  return (
    <article class="group" data-testid="duplicate-group" data-tier={group.tier} data-keeper={group.keeper}>
      <h3>
        <span class={`tier tier-${group.tier}`}>{group.tier}</span> {group.members.length} images
      </h3>
      <ul class="grid">
        {group.members.map((m) => (
          <li key={m.key} class={m.keeper ? 'cell marked' : 'cell'} data-testid="group-member" data-key={m.key} data-keeper={m.keeper ? 'true' : 'false'}>
            <Thumb dataset={dataset} keyName={m.key} />
            <div class="caption">
              {m.keeper && <span class="keeper">suggested keeper</span>}
              <span class="key" title={m.key}>
                {m.key}
              </span>
              <span class="sub">
                {m.width}×{m.height} · {fmtBytes(m.bytes)}
              </span>
            </div>
          </li>
        ))}
      </ul>
      <table class="table pairs">
        <tbody>
          {group.pairs.map((p) => (
            <tr key={`${p.a}\n${p.b}`} data-testid="pair-row" data-a={p.a} data-b={p.b}>
              <td class="mono">
                {p.a} ↔ {p.b}
              </td>
              <td>
                <span class={`tier tier-${p.tier}`}>{p.tier}</span>
              </td>
              <td data-testid="pair-evidence">{evidence(p)}</td>
              <td>
                <button type="button" data-testid="dismiss" disabled={busy !== undefined} onClick={() => dismiss(p)}>
                  {busy === `${p.a}\n${p.b}` ? 'Saving…' : 'Not a duplicate'}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {error !== undefined && <ErrorLine error={error} />}
    </article>
  );
}

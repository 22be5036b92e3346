// Runs: the list with live progress (polled every 2 s while a run is active), the
// schedules, and one run's page with its failures (paged, with reasons) and "retry failed".
import { useEffect, useState } from 'preact/hooks';
import { api, messageOf, type Run } from '../api.js';
import { ErrorLine, Loading, Note, ProgressBar } from '../components/status.js';
import { fmtDuration, fmtInt, fmtTime } from '../format.js';
import { useAsync } from '../hooks.js';
import { offsetPastEnd } from '../paging.js';
import { href } from '../router.js';

const POLL_MS = 2000;
const RUNS_PER_PAGE = 20;
const FAILURES_PER_PAGE = 50;

/** Still changing: the run itself, or its cluster map after it went live. */
export const isActive = (run: Run): boolean =>
  (run.status !== 'completed' && run.status !== 'failed') || run.map?.status === 'pending' || run.map?.status === 'running';

function Progress({ run }: { run: Run }) {
  return (
    <div class="run-progress">
      <ProgressBar done={run.done} failed={run.failed} total={run.total} testid="run-progress" />
      <span class="sub">
        {fmtInt(run.done)} done · {fmtInt(run.failed)} failed · {fmtInt(run.total)} total
      </span>
    </div>
  );
}

function mapText(run: Run): string {
  const m = run.map;
  if (!m) return '';
  switch (m.status) {
    case 'pending':
      return 'map: pending';
    case 'running':
      return `map: ${m.phase ?? 'running'}${m.total ? ` ${fmtInt(m.done ?? 0)}/${fmtInt(m.total)}` : ''}`;
    case 'done':
      return `map: ${m.k ?? '?'} clusters${m.points !== undefined ? `, ${fmtInt(m.points)} points` : ''}`;
    case 'failed':
      return `map failed: ${m.error ?? 'unknown error'}`;
  }
}

export function RunsPage() {
  const [offset, setOffset] = useState(0);
  const runs = useAsync((signal) => api.runs(RUNS_PER_PAGE, offset, signal), [offset], (d) => (d.runs.some(isActive) ? POLL_MS : undefined));
  return (
    <section data-testid="page-runs">
      <h1>Runs</h1>
      {runs.error && <ErrorLine error={runs.error} />}
      {!runs.data && !runs.error && <Loading what="Loading runs" />}
      {runs.data && runs.data.runs.length === 0 && <Note testid="no-runs">No runs{offset > 0 ? ' on this page' : ' yet: imgsim enqueue --source … --dataset … starts one'}.</Note>}
      {runs.data && runs.data.runs.length > 0 && (
        <table class="table">
          <thead>
            <tr>
              <th>Run</th>
              <th>Dataset</th>
              <th>Status</th>
              <th class="wide">Progress</th>
              <th class="num">Throughput</th>
              <th class="num">ETA</th>
              <th>Started</th>
            </tr>
          </thead>
          <tbody>
            {runs.data.runs.map((run) => (
              <tr key={run.id} data-testid="run-row" data-run={run.id}>
                <td class="mono">
                  <a href={href('runs', [run.id])}>{run.id}</a>
                </td>
                <td>{run.dataset}</td>
                <td data-testid="run-status">
                  <span class={`status status-${run.status}`}>{run.status}</span>
                  {run.map && <div class="sub">{mapText(run)}</div>}
                </td>
                <td>
                  <Progress run={run} />
                </td>
                <td class="num" data-testid="run-throughput">
                  {run.imagesPerSecond !== undefined ? `${run.imagesPerSecond.toFixed(1)} img/s` : '–'}
                </td>
                <td class="num" data-testid="run-eta">
                  {run.etaSeconds !== undefined && isActive(run) ? fmtDuration(run.etaSeconds) : '–'}
                </td>
                <td>{fmtTime(run.startedAt ?? run.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div class="pager">
        <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - RUNS_PER_PAGE))}>
          ← newer
        </button>
        <button type="button" disabled={(runs.data?.runs.length ?? 0) < RUNS_PER_PAGE} onClick={() => setOffset(offset + RUNS_PER_PAGE)}>
          older →
        </button>
      </div>
      <Schedules />
    </section>
  );
}

function Schedules() {
  const list = useAsync((signal) => api.schedules(signal), []);
  return (
    <>
      <h2>Schedules</h2>
      {list.error ? (
        <ErrorLine error={list.error} />
      ) : !list.data ? (
        <Loading what="Loading schedules" />
      ) : list.data.schedules.length === 0 ? (
        <Note testid="no-schedules">No schedules (imgsim schedule add … creates one).</Note>
      ) : (
        <table class="table">
          <thead>
            <tr>
              <th>Schedule</th>
              <th>Job</th>
              <th>Dataset</th>
              <th>Mode</th>
              <th>Cron</th>
              <th>Next</th>
              <th class="num">Fired</th>
            </tr>
          </thead>
          <tbody>
            {list.data.schedules.map((s) => (
              <tr key={s.schedule} data-testid="schedule-row">
                <td class="mono">{s.schedule}</td>
                <td>{s.job ?? 'run'}</td>
                <td>
                  {s.dataset}
                  {s.source && <div class="sub">{s.source}</div>}
                </td>
                <td>{s.mode}</td>
                <td class="mono">
                  {s.cron}
                  {s.tz ? ` (${s.tz})` : ''}
                </td>
                <td>{fmtTime(s.next)}</td>
                <td class="num">{s.iterations ?? '–'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

export function RunPage({ id }: { id: string }) {
  const [offset, setOffset] = useState(0);
  const [retry, setRetry] = useState<{ busy: boolean; text?: string; error?: unknown }>({ busy: false });
  const detail = useAsync((signal) => api.run(id, FAILURES_PER_PAGE, offset, signal), [id, offset], (d) => (isActive(d.run) ? POLL_MS : undefined));
  // Retried failures leave the list: a page past its end goes back to the last one.
  const back = detail.data ? offsetPastEnd(offset, detail.data.failures.total, FAILURES_PER_PAGE) : undefined;
  useEffect(() => {
    if (back !== undefined) setOffset(back);
  }, [back]);

  const onRetry = (): void => {
    setRetry({ busy: true });
    api.retryFailed(id).then(
      (r) => {
        setRetry({ busy: false, text: `${fmtInt(r.retried)} item${r.retried === 1 ? '' : 's'} re-enqueued` });
        detail.reload();
      },
      (error: unknown) => setRetry({ busy: false, error }),
    );
  };

  if (detail.error && !detail.data) return <ErrorLine error={detail.error} />;
  if (!detail.data) return <Loading what="Loading the run" />;
  const { run, failures } = detail.data;
  const others = Object.entries(failures.summary.other);
  return (
    <section data-testid="page-run">
      <h1>
        Run <span class="mono">{run.id}</span>
      </h1>
      {detail.error && <ErrorLine error={detail.error} prefix="refresh failed" />}
      <dl class="facts">
        <div>
          <dt>Dataset</dt>
          <dd>{run.dataset}</dd>
        </div>
        <div>
          <dt>Source</dt>
          <dd class="mono">{run.source}</dd>
        </div>
        <div>
          <dt>Status</dt>
          <dd data-testid="run-status">
            <span class={`status status-${run.status}`}>{run.status}</span> {mapText(run)}
          </dd>
        </div>
        {run.modelId && (
          <div>
            <dt>Model</dt>
            <dd class="mono">{run.modelId}</dd>
          </div>
        )}
        {run.collection && (
          <div>
            <dt>Collection</dt>
            <dd class="mono">{run.collection}</dd>
          </div>
        )}
        <div>
          <dt>Throughput</dt>
          <dd data-testid="run-throughput">{run.imagesPerSecond !== undefined ? `${run.imagesPerSecond.toFixed(1)} images/s` : '–'}</dd>
        </div>
        <div>
          <dt>ETA</dt>
          <dd data-testid="run-eta">{run.etaSeconds !== undefined && isActive(run) ? fmtDuration(run.etaSeconds) : '–'}</dd>
        </div>
        <div>
          <dt>Created / finished</dt>
          <dd>
            {fmtTime(run.createdAt)} / {fmtTime(run.finishedAt)}
          </dd>
        </div>
      </dl>
      <Progress run={run} />
      {run.error && <p class="error">{run.error}</p>}
      {run.heldBack && <p class="warning">Not live: {run.heldBack}</p>}

      <h2>
        Failures <span class="count">{fmtInt(failures.total)}</span>
      </h2>
      <p class="sub">
        {fmtInt(failures.summary.badInput)} bad input (the image's own bytes: never retried)
        {others.map(([reason, n]) => ` · ${fmtInt(n)} ${reason}`).join('')}
      </p>
      <p>
        <button type="button" data-testid="retry-failed" disabled={retry.busy || failures.total === 0} onClick={onRetry}>
          {retry.busy ? 'Retrying…' : 'Retry failed'}
        </button>{' '}
        {retry.text && <span data-testid="retry-result">{retry.text}</span>}
        {retry.error !== undefined && <span class="error-inline" data-testid="retry-result">{messageOf(retry.error)}</span>}
      </p>
      {failures.items.length > 0 && (
        <table class="table">
          <thead>
            <tr>
              <th>Key</th>
              <th>Reason</th>
              <th>Message</th>
              <th>At</th>
            </tr>
          </thead>
          <tbody>
            {failures.items.map((f) => (
              <tr key={f.key} data-testid="failure-row" data-key={f.key}>
                <td class="mono">{f.key}</td>
                <td data-testid="failure-reason">{f.reason}</td>
                <td>{f.message}</td>
                <td>{fmtTime(f.at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {failures.total > FAILURES_PER_PAGE && (
        <div class="pager">
          <button type="button" data-testid="failures-prev" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - FAILURES_PER_PAGE))}>
            ← previous
          </button>
          <span>
            {fmtInt(offset + 1)}–{fmtInt(Math.min(failures.total, offset + failures.items.length))} of {fmtInt(failures.total)}
          </span>
          <button type="button" data-testid="failures-next" disabled={offset + FAILURES_PER_PAGE >= failures.total} onClick={() => setOffset(offset + FAILURES_PER_PAGE)}>
            next →
          </button>
        </div>
      )}
    </section>
  );
}

// imgsim serve: the web app at /, the HTTP API, Bull Board, /metrics and /openapi.json
// (workers/server); with --index <dir>, the web app and the API over one local index
// folder, without Redis, S3 or Qdrant (workers/server/local).
import type { Command } from 'commander';
import { settings } from '../../shared/config/index.js';
import { UsageError } from '../../shared/errors.js';
import { baseCommand } from './catalog.js';
import { helpAfter, valueOption } from '../help.js';
import { addConfigFlags, attributeOf, BACKEND_SETTINGS, contextFrom, SERVICE_SETTINGS } from '../options.js';

export function serveCommand(): Command {
  const cmd = baseCommand('serve')
    .addOption(
      valueOption('-i, --index <dir>', 'serve one local index folder (written by imgsim run or embed) instead of the queued datasets: no Redis, S3 or Qdrant; its dataset name is the folder\'s base name', {
        default: 'none (the queued datasets)',
      }),
    )
    .option('--insecure', 'allow running without credentials (IMGSIM_API_TOKEN / IMGSIM_BASIC_AUTH); only when bound to localhost')
    .addHelpText(
      'after',
      helpAfter(
        [
          'imgsim serve --index imgsim-demo/run --insecure    # the demo in the browser: http://127.0.0.1:8080/',
          'IMGSIM_BASIC_AUTH=admin:change-me imgsim serve --host 0.0.0.0 --port 8080',
          'imgsim serve --insecure        # 127.0.0.1:8080, no authentication',
        ],
        [
          'The web app is at / (Datasets, Runs, Search, Map, Duplicates; docs/web.md), the API under /v1 (/openapi.json),',
          'Bull Board at /admin/queues. With --index there are no runs, schedules or Bull Board.',
          'Credentials come from the environment only (a flag would show in `ps`):',
          '  IMGSIM_BASIC_AUTH=user:password (what a browser sends)   IMGSIM_API_TOKEN=…  (Authorization: Bearer …, API clients)',
        ],
      ),
    );
  addConfigFlags(cmd, [...BACKEND_SETTINGS, ...SERVICE_SETTINGS, 'serverHost', 'serverPort', 'uploadLimitBytes', 'maxPixels']);
  return cmd.action(async (opts: Record<string, unknown>) => {
    if (typeof opts.index === 'string') {
      const given = SERVICE_SETTINGS.map((name) => settings[name].flag).filter((flag): flag is string => flag !== undefined && opts[attributeOf(flag)] !== undefined);
      if (given.length > 0) throw new UsageError(`${given.join(', ')} ${given.length > 1 ? 'apply' : 'applies'} to imgsim serve without --index (a local index folder needs no Redis, S3 or Qdrant)`);
    }
    const ctx = contextFrom(opts);
    const insecure = opts.insecure === true;
    if (typeof opts.index === 'string') {
      const { startLocalServer } = await import('../../workers/server/local/local-app.js');
      await startLocalServer(opts.index, ctx.config, ctx.logger, { insecure });
      return;
    }
    const { startServer } = await import('../../workers/server/start.js');
    await startServer(ctx.config, ctx.logger, { insecure });
  });
}

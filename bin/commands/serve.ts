// imgsim serve: the HTTP API, Bull Board, /metrics and /openapi.json (workers/server).
import type { Command } from 'commander';
import { baseCommand } from './catalog.js';
import { helpAfter } from '../help.js';
import { addConfigFlags, BACKEND_SETTINGS, contextFrom, SERVICE_SETTINGS } from '../options.js';

export function serveCommand(): Command {
  const cmd = baseCommand('serve')
    .option('--insecure', 'allow running without credentials (IMGSIM_API_TOKEN / IMGSIM_BASIC_AUTH); only when bound to localhost')
    .addHelpText(
      'after',
      helpAfter(
        ['IMGSIM_API_TOKEN=$(openssl rand -hex 24) imgsim serve --host 0.0.0.0 --port 8080', 'imgsim serve --insecure        # 127.0.0.1:8080, no authentication'],
        ['Credentials come from the environment only (a flag would show in `ps`):', '  IMGSIM_API_TOKEN=…  (Authorization: Bearer …)   IMGSIM_BASIC_AUTH=user:password'],
      ),
    );
  addConfigFlags(cmd, [...BACKEND_SETTINGS, ...SERVICE_SETTINGS, 'serverHost', 'serverPort', 'uploadLimitBytes', 'maxPixels']);
  return cmd.action(async (opts: Record<string, unknown>) => {
    const ctx = contextFrom(opts);
    const { startServer } = await import('../../workers/server/start.js');
    await startServer(ctx.config, ctx.logger, { insecure: opts.insecure === true });
  });
}

// docker-compose.yml and the Dockerfiles cannot run here (no Docker engine): parse them
// and check they agree with the code — images/builds that exist, commands the CLI has,
// IMGSIM_* variables the config schema knows with values it accepts, dependencies and
// volumes that are declared, the scaling and GPU rules of docs/operations.md's Deployment section.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { parse } from 'yaml';
import { CATALOG, COMMAND_NAMES } from '../../../bin/commands/catalog.js';
import { settings } from '../../../shared/config/schema.js';
import { STAGES } from '../../../shared/jobs/contracts.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const read = (rel: string): string => readFileSync(path.join(ROOT, rel), 'utf8');

interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  volumes?: Array<string | { type?: string; source?: string; target: string }>;
  ports?: Array<string | number>;
  profiles?: string[];
  container_name?: string;
  deploy?: { resources?: { reservations?: { devices?: Array<{ driver?: string; capabilities?: string[] }> } } };
}

interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const compose = parse(read('docker-compose.yml'), { merge: true }) as Compose;
const services = Object.entries(compose.services);
const settingByEnv = new Map(Object.values(settings).map((s) => [s.env, s]));

function envOf(s: Service): Record<string, string> {
  const env = s.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((line) => [line.split('=')[0] ?? '', line.split('=').slice(1).join('=')]));
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

function list(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : v.split(/\s+/);
}

function buildOf(s: Service): { context: string; dockerfile: string } | undefined {
  if (s.build === undefined) return undefined;
  if (typeof s.build === 'string') return { context: s.build, dockerfile: path.join(s.build, 'Dockerfile') };
  const context = s.build.context ?? '.';
  return { context, dockerfile: path.join(context, s.build.dockerfile ?? 'Dockerfile') };
}

/** Services running our image (built from one of our Dockerfiles). */
const imgsimServices = services.filter(([, s]) => buildOf(s) !== undefined);

/** `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?message}` references in a value. */
function references(value: string): Array<{ name: string; fallback?: string }> {
  return [...value.matchAll(/(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*)|(:?\?)[^}]*)?\}/g)].map((m) => ({
    name: m[1] ?? '',
    ...(m[2] !== undefined ? { fallback: m[3] ?? '' } : {}),
  }));
}

/** The CLI's top-level commands, as bin/imgsim.ts registers them (bin/commands/catalog.ts): name → Command. */
async function registeredCommands(): Promise<Map<string, Command>> {
  const out = new Map<string, Command>();
  for (const name of COMMAND_NAMES) {
    const cmd = await CATALOG[name].load();
    assert.equal(cmd.name(), name, `the catalog's ${name} loads the ${name} command`);
    out.set(name, cmd);
  }
  return out;
}

describe('docker-compose.yml', () => {
  test('every service has an image or a build whose Dockerfile exists', () => {
    for (const [name, s] of services) {
      assert.ok(s.image !== undefined || s.build !== undefined, `${name}: image or build`);
      const build = buildOf(s);
      if (build) {
        assert.ok(existsSync(path.join(ROOT, build.context)), `${name}: build context ${build.context}`);
        assert.ok(existsSync(path.join(ROOT, build.dockerfile)), `${name}: ${build.dockerfile} exists`);
      }
      if (s.image !== undefined && !build) {
        assert.match(s.image, /:[^:]+$/, `${name}: ${s.image} has a tag`);
        assert.doesNotMatch(s.image, /:latest$/, `${name}: third-party images are pinned, not :latest`);
      }
    }
    assert.match(compose.services.qdrant?.image ?? '', /^qdrant\/qdrant:v\d+\.\d+\.\d+$/, 'Qdrant pinned to a release');
  });

  test('commands name real CLI commands and worker stages, with options the command has', async () => {
    const commands = await registeredCommands();
    for (const [name, s] of imgsimServices) {
      const [command, ...rest] = list(s.command);
      assert.ok(command, `${name}: a command`);
      const cmd = commands.get(command);
      assert.ok(cmd, `${name}: "${command}" is an imgsim command (${[...commands.keys()].join(', ')})`);
      const args = rest.filter((a) => !a.startsWith('-'));
      if (command === 'worker') {
        assert.equal(args.length, 1, `${name}: worker <stage>`);
        assert.ok((STAGES as readonly string[]).includes(args[0] ?? ''), `${name}: "${args[0]}" is one of ${STAGES.join(', ')}`);
      }
      for (const flag of rest.filter((a) => a.startsWith('--'))) {
        const long = flag.split('=')[0];
        assert.ok(cmd.options.some((o) => o.long === long), `${name}: imgsim ${command} has ${long}`);
      }
    }
    // Every stage, one scalable service each (no fixed container name or host port).
    for (const stage of STAGES) {
      const found = imgsimServices.filter(([, s]) => list(s.command).join(' ') === `worker ${stage}` && !(s.profiles ?? []).length);
      assert.equal(found.length, 1, `one service runs "worker ${stage}"`);
      const [name, s] = found[0] as [string, Service];
      assert.equal(s.container_name, undefined, `${name}: no container_name (scales with --scale)`);
      assert.equal(s.ports, undefined, `${name}: no host ports (scales with --scale)`);
    }
  });

  test('every IMGSIM_* variable exists in the config schema and holds a value it accepts', () => {
    let checked = 0;
    for (const [name, s] of services) {
      const env = envOf(s);
      for (const [key, value] of Object.entries(env)) {
        for (const ref of references(value)) {
          if (ref.name.startsWith('IMGSIM_')) assert.ok(settingByEnv.has(ref.name), `${name}: \${${ref.name}} is a setting`);
        }
        if (!key.startsWith('IMGSIM_')) continue;
        const setting = settingByEnv.get(key);
        assert.ok(setting, `${name}: ${key} is a setting of shared/config/schema.ts`);
        const refs = references(value);
        // A literal, or one reference with a default: the value the container gets by default.
        let literal: string | undefined;
        if (refs.length === 0) literal = value.replace(/\$\$/g, '$');
        else if (refs.length === 1 && refs[0]?.fallback !== undefined && value === value.match(/\$\{[^}]*\}/)?.[0]) literal = refs[0].fallback;
        if (literal === undefined) continue;
        const parsed = setting.schema.safeParse(literal);
        assert.ok(parsed.success, `${name}: ${key}=${JSON.stringify(literal)}: ${parsed.success ? '' : parsed.error.issues[0]?.message}`);
        checked++;
      }
    }
    assert.ok(checked >= 10, `literal values checked (${checked})`);
  });

  test('depends_on targets exist; profiled services are not needed by default ones', () => {
    for (const [name, s] of services) {
      const deps = Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on ?? {});
      for (const dep of deps) {
        const target = compose.services[dep];
        assert.ok(target, `${name} depends on ${dep}, which exists`);
        if (!(s.profiles ?? []).length) assert.equal((target.profiles ?? []).length, 0, `${name} (default) depends on ${dep}, which is in a profile`);
      }
    }
  });

  test('named volumes are declared and bind-mounted files exist', () => {
    const declared = new Set(Object.keys(compose.volumes ?? {}));
    for (const [name, s] of services) {
      for (const v of s.volumes ?? []) {
        const source = typeof v === 'string' ? v.split(':')[0] ?? '' : v.source ?? '';
        if (source.startsWith('.') || source.startsWith('/')) {
          if (source.startsWith('.')) assert.ok(existsSync(path.join(ROOT, source)), `${name}: ${source} exists`);
        } else {
          assert.ok(declared.has(source), `${name}: volume ${source} is declared under volumes:`);
        }
      }
    }
    const qdrant = compose.services.qdrant?.volumes ?? [];
    assert.ok(qdrant.some((v) => typeof v === 'string' && v.endsWith(':/qdrant/storage')), 'Qdrant storage on a volume');
    assert.ok((compose.services.redis?.volumes ?? []).some((v) => typeof v === 'string' && v.endsWith(':/data')), 'Redis data on a volume');
  });

  test('Redis runs with AOF and noeviction', () => {
    const redis = compose.services.redis as Service;
    const conf = (redis.volumes ?? []).find((v): v is string => typeof v === 'string' && v.includes('redis.conf'));
    assert.ok(conf, 'redis.conf mounted');
    const target = conf.split(':')[1] ?? '';
    assert.ok(list(redis.command).includes(target), 'redis-server reads the mounted redis.conf');
    const text = readFileSync(path.join(ROOT, conf.split(':')[0] ?? ''), 'utf8');
    assert.match(text, /^maxmemory-policy noeviction$/m);
    assert.match(text, /^appendonly yes$/m);
  });

  test('the server listens on 0.0.0.0:8080 with credentials from the environment', () => {
    const server = imgsimServices.find(([, s]) => list(s.command)[0] === 'serve');
    assert.ok(server, 'a service runs imgsim serve');
    const [name, s] = server;
    const env = envOf(s);
    assert.equal(env.IMGSIM_SERVER_HOST, '0.0.0.0', name);
    const port = env.IMGSIM_SERVER_PORT ?? String(settings.serverPort.default);
    assert.ok((s.ports ?? []).some((p) => String(p).endsWith(`:${port}`)), `${name}: container port ${port} published`);
    assert.ok(references(env.IMGSIM_API_TOKEN ?? '').some((r) => r.name === 'IMGSIM_API_TOKEN'), `${name}: IMGSIM_API_TOKEN from the environment, never a literal`);
  });

  test('the gpu profile runs the train worker on an image with @tensorflow/tfjs-node-gpu', () => {
    const gpu = services.filter(([, s]) => (s.profiles ?? []).includes('gpu'));
    assert.ok(gpu.length >= 1, 'a service in the gpu profile');
    const train = gpu.find(([, s]) => list(s.command).join(' ') === 'worker train');
    assert.ok(train, 'the gpu profile has a train worker');
    const [name, s] = train;
    const build = buildOf(s);
    assert.ok(build, `${name}: built here`);
    const dockerfile = readFileSync(path.join(ROOT, build.dockerfile), 'utf8');
    const tfjs = (JSON.parse(read('package.json')) as { dependencies: Record<string, string> }).dependencies['@tensorflow/tfjs'];
    assert.ok(dockerfile.includes(`@tensorflow/tfjs-node-gpu@${tfjs}`), `${build.dockerfile} installs tfjs-node-gpu at the version of @tensorflow/tfjs (${tfjs})`);
    const devices = s.deploy?.resources?.reservations?.devices ?? [];
    assert.ok(devices.some((d) => d.driver === 'nvidia' && (d.capabilities ?? []).includes('gpu')), `${name}: reserves an NVIDIA GPU`);
    const backend = envOf(s).IMGSIM_BACKEND;
    assert.ok(backend === undefined || backend === 'tensorflow-gpu' || backend === 'auto', `${name}: backend ${backend}`);
  });
});

describe('Dockerfiles', () => {
  const dockerfiles = [...new Set(imgsimServices.map(([, s]) => buildOf(s)?.dockerfile ?? ''))];

  test('both the CPU and the GPU Dockerfile are used', () => {
    assert.deepEqual(dockerfiles.sort(), ['infra/Dockerfile', 'infra/Dockerfile.gpu']);
  });

  for (const file of dockerfiles) {
    test(`${file}: multi-stage, production dependencies only, non-root, copies what exists`, () => {
      const text = read(file)
        .split('\n')
        .filter((line) => !line.trimStart().startsWith('#'))
        .join('\n')
        .replace(/\\\n/g, ' ');
      const froms = text.match(/^FROM\s/gm) ?? [];
      assert.ok(froms.length >= 2, 'multi-stage');
      assert.match(text, /npm ci --omit=dev/, 'production dependencies only');
      const final = text.slice(text.lastIndexOf('\nFROM '));
      // The runtime's node_modules come from a stage (and the stages it builds on) whose every
      // npm install omits dev dependencies; a build stage may have them (the web app's bundle).
      const stages = new Map(
        text
          .split(/^FROM\s+/m)
          .slice(1)
          .map((chunk) => {
            const [image = '', , name = ''] = (chunk.split('\n')[0] ?? '').trim().split(/\s+/);
            return [name, { image, body: chunk }] as const;
          }),
      );
      const modulesFrom = /COPY --from=(\S+) (?:--\S+ )*\/app\/node_modules /.exec(final)?.[1];
      assert.ok(modulesFrom && stages.has(modulesFrom), `the runtime copies node_modules from a stage (${modulesFrom})`);
      for (let stage: string | undefined = modulesFrom; stage !== undefined && stages.has(stage); stage = stages.get(stage)?.image) {
        assert.doesNotMatch(stages.get(stage)?.body ?? '', /npm (ci|install)(?![^\n]*--omit=dev)[^\n]*$/m, `${stage}: every npm install omits dev dependencies`);
      }
      assert.doesNotMatch(final, /npm (ci|install)/, 'the runtime stage installs nothing');
      const user = [...final.matchAll(/^USER\s+(\S+)/gm)].pop()?.[1];
      assert.ok(user && user !== 'root' && user !== '0', `the runtime stage runs as a non-root user (USER ${user})`);
      for (const m of text.matchAll(/^COPY\s+(?!--from)(?:--\S+\s+)*(.+)$/gm)) {
        const parts = (m[1] ?? '').trim().split(/\s+/);
        for (const src of parts.slice(0, -1)) assert.ok(existsSync(path.join(ROOT, src)), `COPY ${src}: exists`);
      }
      assert.match(final, /ENTRYPOINT \["node", "dist\/bin\/imgsim\.js"\]/, 'the runtime runs the compiled build');
      assert.match(text, /node --import tsx infra\/scripts\/build\.ts/, 'a stage compiles the sources (npm run build)');
      assert.match(final, /COPY --from=\S+ (--\S+ )*\/app\/dist \.\/dist/, 'the runtime gets dist/');
      const node = /^ARG NODE_IMAGE=node:(\d+)-/m.exec(text)?.[1];
      assert.equal(node, '24', 'Node 24 LTS (Node 20 reached end of life in April 2026; 26 waits for @qdrant/js-client-rest 1.19)');
      assert.ok(existsSync(path.join(ROOT, `${file}.dockerignore`)), `${file}.dockerignore keeps the build context small`);
    });
  }
});

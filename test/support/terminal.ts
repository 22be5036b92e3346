// A small terminal emulator for tests: replays what a program wrote to a terminal and gives
// the lines a person would see, plus every write that changed a line after the cursor had
// left it with a newline (a log line overwritten by a progress bar, or the reverse). It
// knows what progress bars and loggers use: \r, \n (as a terminal with onlcr: column 0),
// backspace, CSI n A/B/C/D/G/H/J/K, ESC 7/8 (save/restore the cursor); colours and modes
// (CSI … m, CSI ? … h/l) change nothing on screen. No scrolling region: rows only grow.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface Screen {
  /** The rows, trailing blanks trimmed. */
  lines: string[];
  /** Rows written to after a newline had left them: `row: before → after`. */
  rewrites: string[];
}

export function replay(output: string): Screen {
  const rows: string[][] = [[]];
  const finished = new Set<number>();
  const rewrites: string[] = [];
  let row = 0;
  let col = 0;
  let saved = { row: 0, col: 0 };
  const line = (r: number): string[] => {
    while (rows.length <= r) rows.push([]);
    return rows[r] as string[];
  };
  const text = (r: number): string => line(r).join('').trimEnd();
  /** Any change to a finished row is recorded (a bar or a line drawn over it). */
  const change = (r: number, apply: () => void): void => {
    const before = text(r);
    apply();
    const after = text(r);
    if (finished.has(r) && before !== after) rewrites.push(`${r}: ${JSON.stringify(before)} → ${JSON.stringify(after)}`);
  };
  const chars = [...output];
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i] as string;
    if (ch === '\r') col = 0;
    else if (ch === '\n') {
      finished.add(row);
      row++;
      col = 0;
      line(row);
    } else if (ch === '\b') col = Math.max(0, col - 1);
    else if (ch === '\x1b') {
      const next = chars[i + 1];
      if (next === '7') {
        saved = { row, col };
        i++;
      } else if (next === '8') {
        ({ row, col } = saved);
        i++;
      } else if (next === '[') {
        let j = i + 2;
        let params = '';
        while (j < chars.length && /[0-9;?]/.test(chars[j] as string)) params += chars[j++];
        const cmd = chars[j];
        i = j;
        const n = Number(params.replace('?', '').split(';')[0] || '0');
        const r = row;
        switch (cmd) {
          case 'A':
            row = Math.max(0, row - Math.max(1, n));
            break;
          case 'B':
            row += Math.max(1, n);
            break;
          case 'C':
            col += Math.max(1, n);
            break;
          case 'D':
            col = Math.max(0, col - Math.max(1, n));
            break;
          case 'G':
            col = Math.max(0, n - 1);
            break;
          case 'H': {
            const [y, x] = params.split(';').map((v) => Number(v || '1'));
            row = (y ?? 1) - 1;
            col = (x ?? 1) - 1;
            break;
          }
          case 'K':
            change(r, () => {
              const l = line(r);
              if (n === 0) l.length = Math.min(l.length, col);
              else if (n === 1) for (let k = 0; k <= col && k < l.length; k++) l[k] = ' ';
              else l.length = 0;
            });
            break;
          case 'J':
            for (let k = r + 1; k < rows.length; k++) change(k, () => (line(k).length = 0));
            change(r, () => (line(r).length = Math.min(line(r).length, col)));
            break;
          case undefined: // the output ended inside a sequence
          default: // m, h, l: no change on screen
            break;
        }
      } else i++;
    } else {
      const r = row;
      const c = col;
      change(r, () => {
        const l = line(r);
        while (l.length < c) l.push(' ');
        l[c] = ch;
      });
      col++;
    }
  }
  const lines = rows.map((_, r) => text(r));
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return { lines, rewrites };
}

/** How this machine can run a command on a pseudo-terminal: util-linux `script`, or python3's pty module. */
export function ptyRunner(): 'script' | 'python' | undefined {
  if (spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0) return 'script';
  if (spawnSync('python3', ['-c', 'import pty'], { stdio: 'ignore' }).status === 0) return 'python';
  return undefined;
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Run `argv` with stdin, stdout and stderr on a pseudo-terminal of `columns` columns and
 * return what the terminal received (stdout and stderr together, as a person sees them).
 */
export async function runOnPty(argv: readonly string[], o: { cwd: string; env: NodeJS.ProcessEnv; columns?: number }): Promise<{ code: number | null; output: string }> {
  const runner = ptyRunner();
  if (!runner) throw new Error('no pseudo-terminal runner (script or python3) on this machine');
  const command = `stty cols ${o.columns ?? 100} rows 40; exec ${argv.map(shellQuote).join(' ')}`;
  const dir = await mkdtemp(path.join(tmpdir(), 'imgsim-pty-'));
  const file = path.join(dir, 'typescript');
  try {
    const [cmd, args] =
      runner === 'script'
        ? ['script', ['-qefc', command, file]]
        : ['python3', ['-c', 'import pty,sys\nf=open(sys.argv[1],"wb")\ndef r(fd):\n  d=__import__("os").read(fd,65536)\n  f.write(d); f.flush()\n  return d\nst=pty.spawn(["sh","-c",sys.argv[2]], r)\nsys.exit(st>>8)', file, command]];
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(cmd, args, { cwd: o.cwd, env: o.env, stdio: ['ignore', 'ignore', 'inherit'] });
      child.on('error', reject);
      child.on('close', resolve);
    });
    let output = await readFile(file, 'utf8');
    if (runner === 'script') output = output.replace(/^Script started[^\n]*\n/, '').replace(/\n?Script done[^\n]*\n?$/, '');
    return { code, output };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

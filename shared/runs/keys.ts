// Every Redis key the run store writes, in one place.
//
//   <prefix>:run:<id>          HASH  the run's fields (RunRecord without counts)
//   <prefix>:run:<id>:done     SET   keys processed successfully
//   <prefix>:run:<id>:failed   HASH  key → JSON {reason, message, at}
//   <prefix>:runs              ZSET  run ids scored by createdAt (ms)
//   <prefix>:runs:active       SET   ids of runs not completed/failed (for findActive)
//   <prefix>:dataset:<name>    HASH  the dataset's registry entry
//   <prefix>:datasets          SET   dataset names
//   <prefix>:lock:enqueue:<p>  STRING short-lived lock around createOrJoin (p = the run's parameters)

export interface RunKeys {
  run: string;
  done: string;
  failed: string;
}

export class StoreKeys {
  constructor(readonly prefix: string) {}

  run(id: string): RunKeys {
    const run = `${this.prefix}:run:${id}`;
    return { run, done: `${run}:done`, failed: `${run}:failed` };
  }

  get runs(): string {
    return `${this.prefix}:runs`;
  }

  get activeRuns(): string {
    return `${this.prefix}:runs:active`;
  }

  dataset(name: string): string {
    return `${this.prefix}:dataset:${name}`;
  }

  enqueueLock(params: string): string {
    return `${this.prefix}:lock:enqueue:${params}`;
  }

  get datasets(): string {
    return `${this.prefix}:datasets`;
  }
}

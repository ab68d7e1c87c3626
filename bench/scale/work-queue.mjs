// A FIFO of async jobs run by a fixed number of workers (the bare client's "reconcile workers").
export class WorkQueue {
  constructor(workers) {
    this.workers = workers;
    this.jobs = [];
    this.running = 0;
    this.done = 0;
    this.idle = [];
    this.errors = [];
    /** Rejects with the first job error (a run waiting for readiness stops there). */
    this.failed = new Promise((_, reject) => (this.fail = reject));
    this.failed.catch(() => {});
  }

  push(job) {
    this.jobs.push(job);
    this.pump();
  }

  pump() {
    while (this.running < this.workers && this.jobs.length > 0) {
      const job = this.jobs.shift();
      this.running++;
      job()
        .catch((e) => {
          this.errors.push(e);
          this.fail(e);
        })
        .finally(() => {
          this.running--;
          this.done++;
          this.pump();
          if (this.running === 0 && this.jobs.length === 0) for (const r of this.idle.splice(0)) r();
        });
    }
  }

  /** Resolves once nothing is queued or running; throws the first job error, if any. */
  async drain() {
    if (this.running > 0 || this.jobs.length > 0) await new Promise((r) => this.idle.push(r));
    if (this.errors.length) throw this.errors[0];
  }
}

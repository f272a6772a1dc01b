/**
 * Runs jobs one at a time, in the order given. The plotter's state (what is stored, what is drawn)
 * changes only inside these jobs, so a delivery, an HTTP plan and a redraw never interleave, and
 * there is no lock to get wrong.
 */
export class SerialWork {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(job: () => T | Promise<T>): Promise<T> {
    const result = this.tail.then(job);
    this.tail = result.catch(() => {});
    return result;
  }

  /** Resolves when everything queued so far has run. */
  idle(): Promise<void> {
    return this.tail.then(() => {});
  }
}

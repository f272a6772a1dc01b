/**
 * Cleanups run last-registered-first, like `defer`: a plotter started after the vhost is stopped
 * before the vhost is deleted. Each runs even if an earlier one failed.
 */
export function cleanupStack(t: { after: (fn: () => Promise<void>) => void }): (fn: () => unknown) => void {
  const stack: (() => unknown)[] = [];
  t.after(async () => {
    for (const fn of stack.reverse()) {
      try { await fn(); } catch { /* keep cleaning */ }
    }
  });
  return (fn) => { stack.push(fn); };
}

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { leaseStep, recordOf, type ElectionTiming, type Lease } from '../operator/leader-election.js';

/** The decision a candidate takes on each look at the Lease (the real API server part is in operator-cluster). */
const timing: ElectionTiming = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };
const T = Date.parse('2026-01-01T00:00:00Z');
const lease = (holderIdentity: string, renewTime = '2026-01-01T00:00:00.000000Z', leaseTransitions = 2): Lease => ({
  apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'hzz-operator', resourceVersion: '9' },
  spec: { holderIdentity, leaseDurationSeconds: 15, acquireTime: '2025-12-31T23:00:00.000000Z', renewTime, leaseTransitions },
});

test('no Lease: create it, holding it', () => {
  assert.deepEqual(leaseStep(undefined, undefined, 'me', T, timing), {
    kind: 'create',
    spec: { holderIdentity: 'me', leaseDurationSeconds: 15, acquireTime: '2026-01-01T00:00:00.000000Z', renewTime: '2026-01-01T00:00:00.000000Z', leaseTransitions: 0 },
  });
});

test('its own Lease: renew it, keeping when it was acquired and the transitions', () => {
  const step = leaseStep(lease('me'), undefined, 'me', T + 2_000, timing);
  assert.equal(step.kind, 'update');
  assert.ok(step.kind === 'update' && !step.takeOver);
  assert.deepEqual(step.kind === 'update' && step.spec, {
    holderIdentity: 'me', leaseDurationSeconds: 15, acquireTime: '2025-12-31T23:00:00.000000Z', renewTime: '2026-01-01T00:00:02.000000Z', leaseTransitions: 2,
  });
});

test('another holder, renewing: wait, however old its renewTime looks (its clock is not ours)', () => {
  const held = lease('other', '2020-01-01T00:00:00.000000Z');
  assert.deepEqual(leaseStep(held, undefined, 'me', T, timing), { kind: 'wait', holder: 'other' });
  // Seen first 14 s ago: not yet a whole lease duration.
  assert.deepEqual(leaseStep(held, { record: recordOf(held), sinceMs: T - 14_000 }, 'me', T, timing), { kind: 'wait', holder: 'other' });
  // A record seen long ago but since renewed (another record now) restarts the clock.
  assert.deepEqual(leaseStep(held, { record: 'old record', sinceMs: T - 60_000 }, 'me', T, timing), { kind: 'wait', holder: 'other' });
});

test('another holder, unrenewed for a whole lease duration of ours: take it over, counting a transition', () => {
  const held = lease('other');
  const step = leaseStep(held, { record: recordOf(held), sinceMs: T - 16_000 }, 'me', T, timing);
  assert.ok(step.kind === 'update' && step.takeOver);
  assert.deepEqual(step.kind === 'update' && [step.spec.holderIdentity, step.spec.leaseTransitions, step.spec.acquireTime], ['me', 3, '2026-01-01T00:00:00.000000Z']);
});

test('a Lease given up (no holder): take it over at once', () => {
  const step = leaseStep(lease(''), undefined, 'me', T, timing);
  assert.ok(step.kind === 'update' && step.takeOver && step.spec.holderIdentity === 'me');
});

// The pure parts of the prober: thresholds over consecutive attempts (probe-result.ts), the order
// and schedule of a container's probes with attempts supplied by the test (probes.ts), and the
// two grpc.health.v1 messages encoded by hand (probe-handlers.ts).
import { expect } from 'chai';
import { ContainerProber } from '../../agent/probes.js';
import { decodeHealthCheckResponse, encodeHealthCheckRequest, type ProbeAttempt } from '../../agent/probe-handlers.js';
import { initialVerdict, ProbeVerdicts, type ProbeOutcome } from '../../agent/probe-result.js';
import { ContainerSchema, type Probe } from '../../shared/api/core.js';
import { sleep, waitFor } from './helpers.js';

describe('probe verdicts', () => {
  const feed = (v: ProbeVerdicts, outcomes: ProbeOutcome[]) => outcomes.map((o) => [v.observe(o), v.verdict]);

  it('start as the kubelet starts them: liveness passing, readiness failing, startup undecided', () => {
    expect(['liveness', 'readiness', 'startup'].map((k) => initialVerdict(k as 'liveness'))).to.deep.equal(['success', 'failure', 'unknown']);
  });

  it('change only after failureThreshold consecutive failures', () => {
    const v = new ProbeVerdicts({ successThreshold: 1, failureThreshold: 3 }, 'success');
    expect(feed(v, ['failure', 'failure', 'success', 'failure', 'failure', 'failure', 'failure'])).to.deep.equal([
      [false, 'success'],
      [false, 'success'],
      [false, 'success'],
      [false, 'success'],
      [false, 'success'],
      [true, 'failure'],
      [false, 'failure'],
    ]);
  });

  it('change only after successThreshold consecutive successes; errors count for nothing', () => {
    const v = new ProbeVerdicts({ successThreshold: 2, failureThreshold: 1 }, 'failure');
    expect(feed(v, ['success', 'error', 'failure', 'success', 'error', 'success', 'failure'])).to.deep.equal([
      [false, 'failure'],
      [false, 'failure'],
      [false, 'failure'],
      [false, 'failure'],
      [false, 'failure'],
      [true, 'success'],
      [true, 'failure'],
    ]);
  });

  it('leave unknown for the first verdict reached either way', () => {
    const up = new ProbeVerdicts({ successThreshold: 1, failureThreshold: 2 }, 'unknown');
    expect(feed(up, ['failure', 'success'])).to.deep.equal([[false, 'unknown'], [true, 'success']]);
    const down = new ProbeVerdicts({ successThreshold: 1, failureThreshold: 2 }, 'unknown');
    expect(feed(down, ['failure', 'failure'])).to.deep.equal([[false, 'unknown'], [true, 'failure']]);
  });
});

describe('container prober schedule', () => {
  const target = { podIP: '127.0.0.1', ports: [], execContext: () => undefined };
  /** A container whose probes are told apart by their exec command's single word. */
  const container = (probes: Record<string, { command: string; periodSeconds?: number; failureThreshold?: number; initialDelaySeconds?: number }>) =>
    ContainerSchema.parse({
      name: 'main',
      image: 'x',
      ...Object.fromEntries(Object.entries(probes).map(([k, p]) => [k, { exec: { command: [p.command] }, periodSeconds: p.periodSeconds ?? 1, failureThreshold: p.failureThreshold ?? 1, initialDelaySeconds: p.initialDelaySeconds }])),
    });

  it('runs the startup probe alone until it passes, then liveness and readiness; reports the change', async () => {
    const calls: string[] = [];
    let startupPasses = false;
    let changes = 0;
    const prober = new ContainerProber(container({ startupProbe: { command: 'startup', failureThreshold: 100 }, livenessProbe: { command: 'liveness' }, readinessProbe: { command: 'readiness' } }), Date.now(), target, {
      run: (probe: Probe): Promise<ProbeAttempt> => {
        const word = probe.exec!.command![0]!;
        calls.push(word);
        const pass = word !== 'startup' || startupPasses;
        return Promise.resolve({ outcome: pass ? 'success' : 'failure', message: '' });
      },
      changed: () => changes++,
      failed: () => expect.fail('nothing fails here'),
      event: () => undefined,
    });
    try {
      expect([prober.started, prober.ready]).to.deep.equal([false, false]);
      await waitFor(() => calls.length >= 2, 'two startup attempts', 5_000, 10);
      expect(calls.every((c) => c === 'startup')).to.equal(true);
      startupPasses = true;
      await waitFor(() => prober.ready, 'ready', 5_000, 10);
      expect(prober.started).to.equal(true);
      expect(changes).to.be.greaterThanOrEqual(1);
      expect(calls).to.include.members(['liveness', 'readiness']);
    } finally {
      prober.stop();
    }
    // Stopped: nothing more runs.
    const seen = calls.length;
    await sleep(1200);
    expect(calls.length).to.equal(seen);
  });

  it('a liveness failure asks for the kill once and stops probing; an attempt in flight is aborted by stop()', async () => {
    const failed: string[] = [];
    const events: string[] = [];
    let attempts = 0;
    const prober = new ContainerProber(container({ livenessProbe: { command: 'liveness', failureThreshold: 2 } }), Date.now(), target, {
      run: () => {
        attempts++;
        return Promise.resolve({ outcome: 'failure', message: 'no' });
      },
      changed: () => undefined,
      failed: (kind) => failed.push(kind),
      event: (_type, reason, message) => events.push(`${reason}: ${message}`),
    });
    await waitFor(() => failed.length > 0, 'the liveness failure', 5_000, 10);
    await sleep(1200);
    expect(failed).to.deep.equal(['liveness']);
    expect(attempts).to.equal(2);
    expect(events).to.deep.equal(['Unhealthy: Liveness probe failed: no', 'Unhealthy: Liveness probe failed: no']);
    prober.stop();

    let aborted = false;
    const hanging = new ContainerProber(container({ readinessProbe: { command: 'readiness' } }), Date.now(), target, {
      run: (_p, _t, signal) => new Promise((resolve) => signal.addEventListener('abort', () => {
        aborted = true;
        resolve({ outcome: 'error', message: 'cancelled' });
      })),
      changed: () => expect.fail('no verdict after stop'),
      failed: () => expect.fail('no verdict after stop'),
      event: () => undefined,
    });
    await sleep(50);
    hanging.stop();
    expect(aborted).to.equal(true);
  });

  it('waits initialDelaySeconds after the container started before the first attempt', async () => {
    const at: number[] = [];
    const started = Date.now();
    const prober = new ContainerProber(container({ readinessProbe: { command: 'readiness', initialDelaySeconds: 1 } }), started, target, {
      run: () => {
        at.push(Date.now());
        return Promise.resolve({ outcome: 'success', message: '' });
      },
      changed: () => undefined,
      failed: () => undefined,
      event: () => undefined,
    });
    try {
      await waitFor(() => at.length > 0, 'the first attempt', 5_000, 10);
      expect(at[0]! - started).to.be.greaterThanOrEqual(1000);
      expect(prober.ready).to.equal(true);
    } finally {
      prober.stop();
    }
  });
});

describe('gRPC health messages', () => {
  it('encode the request\'s service and decode the response\'s status', () => {
    expect(encodeHealthCheckRequest('')).to.deep.equal(Buffer.alloc(0));
    expect(encodeHealthCheckRequest('db')).to.deep.equal(Buffer.from([0x0a, 2, 0x64, 0x62]));
    expect(encodeHealthCheckRequest('x'.repeat(200)).subarray(0, 3)).to.deep.equal(Buffer.from([0x0a, 0xc8, 0x01]));
    expect(decodeHealthCheckResponse(Buffer.from([0x08, 0x01]))).to.equal(1);
    expect(decodeHealthCheckResponse(Buffer.alloc(0))).to.equal(0);
    // An unknown length-delimited field before the status is skipped.
    expect(decodeHealthCheckResponse(Buffer.from([0x12, 0x01, 0x41, 0x08, 0x02]))).to.equal(2);
  });
});

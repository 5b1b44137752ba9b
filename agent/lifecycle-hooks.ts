// Lifecycle hooks, as the kubelet runs them: postStart right after a container's process started
// (the container is neither ready nor probed until it returned; a failed one kills the container),
// preStop before the SIGTERM that stops a running container, inside the grace period. exec and
// httpGet run through the probes' handlers (probe-handlers.ts: the container's environment, its own
// process group, recorded while it runs); sleep sleeps in the agent; tcpSocket is deprecated in
// Kubernetes, accepted by validation and failed when run, as the kubelet fails it.
import type { LifecycleHandler } from '../shared/api/core.js';
import { errorMessage } from '../shared/errors.js';
import { runAction, type ProbeTarget } from './probe-handlers.js';

/** Kubernetes' minimumGracePeriodInSeconds: what a container gets after its preStop hook, at least. */
export const MIN_GRACE_AFTER_PRE_STOP_MS = 2000;
/**
 * Kubernetes bounds a postStart hook by nothing but the pod's life; cell bounds it by the pod's
 * termination grace period, and 30 s at least, so a hung hook never holds a container unready for good.
 */
export const MIN_POST_START_TIMEOUT_MS = 30_000;

/** Who the hook is for, as the kubelet names them in its messages. */
export interface HookSubject {
  container: string;
  /** `name_namespace(uid)`, Kubernetes' format.Pod. */
  pod: string;
}

/** Sleeps `ms`; resolves early (false) when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve(false);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Runs one hook, ending within `timeoutMs` or when `signal` aborts (whatever it started is stopped
 * then). Resolves to undefined when it succeeded, else to the message of the kubelet's event.
 */
export async function runHook(handler: LifecycleHandler, target: ProbeTarget, subject: HookSubject, timeoutMs: number, signal: AbortSignal): Promise<string | undefined> {
  const where = `for Container "${subject.container}" in Pod "${subject.pod}"`;
  if (handler.sleep) {
    const slept = await sleep(Math.min(handler.sleep.seconds * 1000, timeoutMs), signal);
    return slept ? undefined : 'container terminated before sleep hook finished';
  }
  // The kubelet runs exec, httpGet and sleep handlers only; anything else is an invalid handler.
  if (!handler.exec && !handler.httpGet) return 'Cannot run handler: invalid handler: tcpSocket is not supported as a lifecycle handler';
  try {
    const result = await runAction(handler, target, timeoutMs, signal);
    if (!result) return 'Cannot run handler: invalid handler';
    if (result.outcome === 'success') return undefined;
    if (handler.exec) return `Exec lifecycle hook ([${(handler.exec.command ?? []).join(' ')}]) ${where} failed - error: ${result.message}`;
    return `HTTP lifecycle hook (${handler.httpGet?.path ?? '/'}) ${where} failed - error: ${result.message}`;
  } catch (err) {
    // A command the system cannot even spawn: the hook failed, with the reason.
    return `lifecycle hook ${where} failed - error: ${errorMessage(err)}`;
  }
}

/**
 * A preStop hook in progress for one container: when it returns, or the grace period runs out
 * first (the hook is then stopped), `then` is called once with what is left of the grace period —
 * at least MIN_GRACE_AFTER_PRE_STOP_MS — for the SIGTERM to SIGKILL wait. Runs on its own timer,
 * outside the pod worker's sync.
 */
export class PreStop {
  private readonly controller = new AbortController();
  private deadline: number;
  private timer: NodeJS.Timeout | undefined;
  private done = false;

  constructor(
    run: (signal: AbortSignal) => Promise<string | undefined>,
    graceMs: number,
    private readonly then: (remainingMs: number) => void,
    failed: (message: string) => void,
  ) {
    this.deadline = Date.now() + graceMs;
    this.arm();
    void run(this.controller.signal).then((failure) => {
      // A hook cut by the deadline (or abandoned) is no failure to report: the stop goes on.
      if (failure !== undefined && !this.controller.signal.aborted) failed(failure);
      this.finish();
    });
  }

  /** A shorter grace period (a second delete): the deadline comes forward, never back. */
  shorten(graceMs: number): void {
    const deadline = Date.now() + Math.max(0, graceMs);
    if (this.done || deadline >= this.deadline) return;
    this.deadline = deadline;
    this.arm();
  }

  /** The agent exits: the hook stops and the container is left as it is (a restarted agent stops it again). */
  abandon(): void {
    this.done = true;
    if (this.timer) clearTimeout(this.timer);
    this.controller.abort();
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.finish(), Math.max(0, this.deadline - Date.now()));
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    if (this.timer) clearTimeout(this.timer);
    this.controller.abort();
    this.then(Math.max(this.deadline - Date.now(), MIN_GRACE_AFTER_PRE_STOP_MS));
  }
}

// One scheduling attempt of one pod: the pod, and per-plugin scratch state that preFilter computes
// for filter and score to read (Kubernetes' CycleState). State is typed by its key.
import type { PodInfo } from '../cache/pod-info.js';
import type { QueuedPodInfo } from '../queue/scheduling-queue.js';

/** A typed slot in a cycle's state; create one per plugin module (`new StateKey<MyState>('MyPlugin')`). */
export class StateKey<T> {
  declare private readonly phantom: T;
  constructor(readonly name: string) {}
}

export class CycleContext {
  private readonly state = new Map<StateKey<unknown>, unknown>();

  constructor(
    readonly pod: PodInfo,
    readonly queued: QueuedPodInfo,
    /** Monotonic cycle number, for logs. */
    readonly cycle: number,
  ) {}

  write<T>(key: StateKey<T>, value: T): void {
    this.state.set(key, value);
  }

  read<T>(key: StateKey<T>): T | undefined {
    return this.state.get(key) as T | undefined;
  }
}

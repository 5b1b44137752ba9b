// Pods held at Permit, by group key (gangs): each holds its assumed room until the group is
// released — committed together — or rejected (a sibling fits nowhere, or the group's wait timed
// out), which sends every held pod back to the queue.
import type { Decision } from '../commit/committer.js';
import type { WaitingPods } from './plugin.js';

interface Held {
  decisions: Decision[];
  timer: NodeJS.Timeout;
}

export class WaitingGroups implements WaitingPods {
  private readonly groups = new Map<string, Held>();

  /** `onReject` undoes one held decision (unreserve, forget, requeue) with the reason. */
  constructor(private readonly onReject: (d: Decision, message: string) => void) {}

  count(group: string): number {
    return this.groups.get(group)?.decisions.length ?? 0;
  }

  /** Hold a decision; the group's first hold starts its clock. */
  hold(group: string, d: Decision, timeoutMs: number): void {
    const held = this.groups.get(group);
    if (held) {
      held.decisions.push(d);
      return;
    }
    const timer = setTimeout(
      () => this.reject(group, `rejected due to timeout after waiting ${Math.round(timeoutMs / 1000)}s at permit (group ${group})`),
      timeoutMs,
    );
    timer.unref();
    this.groups.set(group, { decisions: [d], timer });
  }

  /** Everything held for the group, now leaving (to be committed). */
  take(group: string): Decision[] {
    const held = this.groups.get(group);
    if (!held) return [];
    clearTimeout(held.timer);
    this.groups.delete(group);
    return held.decisions;
  }

  reject(group: string, message: string): void {
    for (const d of this.take(group)) this.onReject(d, message);
  }

  rejectAll(message: string): void {
    for (const group of [...this.groups.keys()]) this.reject(group, message);
  }
}

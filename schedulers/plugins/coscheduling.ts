// Coscheduling (gang scheduling), as the scheduler-plugins project defines it for PodGroups: pods
// labelled `scheduling.x-k8s.io/pod-group=<name>` are placed all together or not at all.
//   QueueSort  members of a group sort next to each other (priority, then group age, then name)
//   PreFilter  the PodGroup must exist and have at least minMember unfinished pods
//   Permit     members are held (assumed, not bound) until minMember of them — counting members
//              already bound — have a node; then the held pods are released together and the
//              scheduler commits them in ONE AllOrNothing Placement
//   PostFilter a member that fits nowhere sends its held siblings back to the queue, freeing
//              the room they were holding
// A group that has not been placed within scheduleTimeoutSeconds (default 60) of its first
// attempt gets status condition PodGroupScheduled=False, reason Unschedulable, and a Warning
// event; its pods stay queued and are retried when the cluster changes. Once placed, the status
// says phase Scheduled.
import { z } from 'zod';
import { formatTime } from '../../shared/api/meta.js';
import type { PodGroup, PodGroupStatus } from '../../shared/api/scheduling.js';
import { errorMessage, NotFoundError } from '../../shared/errors.js';
import { groupKeyOf } from '../cache/pod-info.js';
import { unresolvable, type Plugin, type PluginFactory, type QueuedPodInfo } from '../framework/plugin.js';

export const NAME = 'Coscheduling';
export const CONDITION_TYPE = 'PodGroupScheduled';

const ArgsSchema = z
  .object({
    /** Used when a PodGroup does not set scheduleTimeoutSeconds. */
    defaultTimeoutSeconds: z.number().int().min(1).default(60),
  })
  .strict();

interface GroupState {
  /** When this round of attempts started (first permit or first failure). */
  startedAt: number | undefined;
  lastMessage: string;
  timer: NodeJS.Timeout | undefined;
  /** The status already says Unschedulable for this round. */
  reported: boolean;
  /** Members bound by this scheduler since the last "Scheduled" status write (the watch may not show them yet). */
  justBound: Set<string>;
}

export const create: PluginFactory = (rawArgs, handle): Plugin => {
  const args = ArgsSchema.parse(rawArgs);
  const groups = new Map<string, GroupState>();
  const { cluster } = handle;

  const stateOf = (key: string): GroupState => {
    let st = groups.get(key);
    if (!st) {
      st = { startedAt: undefined, lastMessage: '', timer: undefined, reported: false, justBound: new Set() };
      groups.set(key, st);
    }
    return st;
  };
  const split = (key: string): [string, string] => {
    const i = key.indexOf('/');
    return [key.slice(0, i), key.slice(i + 1)];
  };
  const timeoutMs = (pg: PodGroup): number => (pg.spec.scheduleTimeoutSeconds ?? args.defaultTimeoutSeconds) * 1000;
  const boundMembers = (namespace: string, group: string): number =>
    cluster.groupMembers(namespace, group).filter((p) => p.spec.nodeName).length;

  const writeStatus = async (key: string, status: PodGroupStatus): Promise<void> => {
    const [namespace, name] = split(key);
    try {
      await handle.client.patch(
        { group: 'scheduling.x-k8s.io', version: 'v1alpha1', namespace, resource: 'podgroups', name, subresource: 'status' },
        { status },
        'merge',
      );
    } catch (err) {
      if (err instanceof NotFoundError) return;
      handle.log.warn('could not update PodGroup status', { podGroup: key, error: errorMessage(err) });
    }
  };

  /** The round's time is up and the group is still not placed: say so on the PodGroup. */
  const report = (key: string): void => {
    const st = stateOf(key);
    st.timer = undefined;
    const [namespace, name] = split(key);
    const pg = cluster.podGroup(namespace, name);
    if (!pg || st.reported || boundMembers(namespace, name) >= pg.spec.minMember) return;
    st.reported = true;
    const message = `gang ${key} could not be scheduled within ${timeoutMs(pg) / 1000}s: ${st.lastMessage}`;
    void writeStatus(key, {
      phase: 'Pending',
      ...(st.startedAt !== undefined ? { scheduleStartTime: formatTime(new Date(st.startedAt)) } : {}),
      conditions: [{ type: CONDITION_TYPE, status: 'False', reason: 'Unschedulable', message, lastTransitionTime: formatTime(new Date()) }],
    });
    handle.events.record({ kind: 'PodGroup', apiVersion: 'scheduling.x-k8s.io/v1alpha1', namespace, name, uid: pg.metadata.uid }, 'Warning', 'Unschedulable', message);
  };

  const noteFailure = (key: string, message: string): void => {
    const st = stateOf(key);
    st.lastMessage = message;
    st.startedAt ??= handle.now();
    if (st.reported || st.timer) return;
    const [namespace, name] = split(key);
    const pg = cluster.podGroup(namespace, name);
    const due = st.startedAt + (pg ? timeoutMs(pg) : args.defaultTimeoutSeconds * 1000) - handle.now();
    if (due <= 0) report(key);
    else {
      st.timer = setTimeout(() => report(key), due);
      st.timer.unref();
    }
  };

  /** A member was bound: a successful round ends; write phase Scheduled once per burst of binds. */
  const scheduled = (key: string, uid: string): void => {
    const st = stateOf(key);
    if (st.timer) clearTimeout(st.timer);
    st.timer = undefined;
    st.reported = false;
    st.startedAt = undefined;
    st.justBound.add(uid);
    if (st.justBound.size > 1) return;
    // After the other members' outcomes of the same commit are in, so the count is complete.
    setImmediate(() => {
      const [namespace, name] = split(key);
      const pg = cluster.podGroup(namespace, name);
      const members = new Set(st.justBound);
      st.justBound.clear();
      if (!pg) return;
      for (const p of cluster.groupMembers(namespace, name)) if (p.spec.nodeName) members.add(p.metadata.uid ?? '');
      void writeStatus(key, {
        phase: 'Scheduled',
        scheduled: members.size,
        conditions: [{ type: CONDITION_TYPE, status: 'True', reason: 'Scheduled', message: `${pg.spec.minMember} or more pods placed together`, lastTransitionTime: formatTime(new Date()) }],
      });
    });
  };

  /** A group's age (its creation) for queue order; a lone pod's own queue time. */
  const sortTime = (q: QueuedPodInfo): number => {
    const p = q.podInfo;
    if (p.group === undefined) return q.timestamp;
    const pg = cluster.podGroup(p.namespace, p.group);
    const created = pg?.metadata.creationTimestamp ? Date.parse(pg.metadata.creationTimestamp) : NaN;
    return Number.isNaN(created) ? q.timestamp : created;
  };

  return {
    name: NAME,
    less(a, b) {
      if (a.podInfo.priority !== b.podInfo.priority) return a.podInfo.priority > b.podInfo.priority;
      const ta = sortTime(a);
      const tb = sortTime(b);
      if (ta !== tb) return ta < tb;
      const ka = groupKeyOf(a.podInfo) ?? a.podInfo.key;
      const kb = groupKeyOf(b.podInfo) ?? b.podInfo.key;
      return ka < kb || (ka === kb && a.podInfo.key < b.podInfo.key);
    },
    preFilter(ctx) {
      const pod = ctx.pod;
      const key = groupKeyOf(pod);
      if (key === undefined || pod.group === undefined) return 'skip';
      const pg = cluster.podGroup(pod.namespace, pod.group);
      if (!pg) {
        const message = `PodGroup ${key} not found`;
        noteFailure(key, message);
        return unresolvable(message);
      }
      const members = cluster.groupMembers(pod.namespace, pod.group).length;
      if (members < pg.spec.minMember) {
        const message = `pre-filter pod ${pod.name} cannot find enough sibling pods, current pods number: ${members}, minMember of group: ${pg.spec.minMember}`;
        noteFailure(key, message);
        return unresolvable(message);
      }
      return 'skip';
    },
    postFilter(ctx, diagnosis) {
      const key = groupKeyOf(ctx.pod);
      if (key === undefined) return undefined;
      const message = `sibling pod ${ctx.pod.name} fits nowhere: ${diagnosis.message()}`;
      noteFailure(key, message);
      if (handle.waiting.count(key) > 0) {
        handle.waiting.reject(key, `rejected: ${message}`);
        return { message: `gang: released the ${key} pods held for this group.` };
      }
      return undefined;
    },
    permit(ctx) {
      const pod = ctx.pod;
      const key = groupKeyOf(pod);
      if (key === undefined || pod.group === undefined) return undefined;
      const pg = cluster.podGroup(pod.namespace, pod.group);
      if (!pg) return unresolvable(`PodGroup ${key} not found`);
      const st = stateOf(key);
      st.startedAt ??= handle.now();
      const held = handle.waiting.count(key);
      if (boundMembers(pod.namespace, pod.group) + held + 1 >= pg.spec.minMember) {
        return held === 0 ? undefined : { releaseGroup: key };
      }
      return { wait: { group: key, timeoutMs: timeoutMs(pg) } };
    },
    unreserve(ctx, _nodeName, why) {
      const key = groupKeyOf(ctx.pod);
      if (key !== undefined) noteFailure(key, why);
    },
    postBind(ctx) {
      const key = groupKeyOf(ctx.pod);
      if (key !== undefined) scheduled(key, ctx.pod.uid);
    },
    close() {
      for (const st of groups.values()) if (st.timer) clearTimeout(st.timer);
    },
  };
};

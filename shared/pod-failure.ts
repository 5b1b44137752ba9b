// What a pod whose node is gone becomes: Failed with a reason (NodeLost), its Ready conditions
// False. One definition for the API server (deleting a node fails its pods in the same txn) and
// the controller manager (node lifecycle and pod GC write it through pods/{name}/status).
import type { Pod } from './api/core.js';
import { formatTime } from './api/meta.js';

/** `pod`, Failed with `reason` and `message`. */
export function failedPod(pod: Pod, reason: string, message: string, now = Date.now()): Pod {
  const next = structuredClone(pod);
  const at = formatTime(new Date(now));
  next.status = {
    ...next.status,
    phase: 'Failed',
    reason,
    message,
    conditions: (next.status.conditions ?? []).map((c) =>
      c.type === 'Ready' || c.type === 'ContainersReady' ? { ...c, status: 'False', lastTransitionTime: at } : c,
    ),
  };
  return next;
}

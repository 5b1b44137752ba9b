// QueueSort: higher spec.priority first, then first come, first served.
import type { Plugin, PluginFactory, QueuedPodInfo } from '../framework/plugin.js';

export const NAME = 'PrioritySort';

export function byPriorityThenAge(a: QueuedPodInfo, b: QueuedPodInfo): boolean {
  const pa = a.podInfo.priority;
  const pb = b.podInfo.priority;
  return pa > pb || (pa === pb && a.timestamp < b.timestamp);
}

export const create: PluginFactory = (): Plugin => ({ name: NAME, less: byPriorityThenAge });

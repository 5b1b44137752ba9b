// restartPolicy and crash-loop back-off, as the kubelet applies them: a container that exits is
// restarted (Always; OnFailure only after a non-zero exit) — the first time at once, then after
// 10 s, 20 s, 40 s … capped at 5 min; a container that ran for 10 minutes starts over at once.
import type { RestartPolicy } from '../shared/api/core.js';

export interface BackOffConfig {
  baseMs: number;
  maxMs: number;
  /** A run at least this long resets the back-off. */
  resetAfterMs: number;
}

export const RESET_AFTER_MS = 10 * 60_000;

export function shouldRestart(policy: RestartPolicy, exitCode: number): boolean {
  switch (policy) {
    case 'Always':
      return true;
    case 'OnFailure':
      return exitCode !== 0;
    case 'Never':
      return false;
  }
}

/**
 * The delay before restarting an instance that ran for `ranMs`, and the back-off to keep for the
 * crash after that. `currentMs` is the container's back-off so far (0 = none yet).
 */
export function nextBackOff(cfg: BackOffConfig, currentMs: number, ranMs: number): { delayMs: number; nextMs: number } {
  if (ranMs >= cfg.resetAfterMs || currentMs <= 0) return { delayMs: 0, nextMs: cfg.baseMs };
  return { delayMs: Math.min(currentMs, cfg.maxMs), nextMs: Math.min(currentMs * 2, cfg.maxMs) };
}

/** Go-style duration for messages ("back-off 10s restarting failed container"). */
export function formatBackOff(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return s % 60 === 0 ? `${m}m0s` : `${m}m${s % 60}s`;
}

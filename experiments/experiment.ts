// What an experiment is: a cluster size, a set of runs (scenarios) derived from the seed and the
// scale, and what to make of their results — rows for the data files, charts, and the findings
// the report states next to the paper's.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClusterOptions } from './cluster.js';
import type { LineChart } from './plot.js';
import type { RunResult, Scenario } from './run.js';

export type Scale = 'small' | 'full' | 'ci';

export type Row = Record<string, string | number>;

export interface Figure {
  /** File name without extension. */
  file: string;
  chart: LineChart;
}

export interface Analysis {
  rows: Row[];
  figures: Figure[];
  /** Sentences on what the curves show, numbers included. */
  findings: string[];
}

export interface Experiment {
  name: string;
  /** The letter (a–d). */
  letter: string;
  title: string;
  /** What the Omega paper reports for this experiment, in a sentence or two. */
  paper: string;
  cluster(scale: Scale): ClusterOptions;
  /** Every run, in order; `params` are the swept values a row reports beside the results. */
  scenarios(seed: number, scale: Scale): { scenario: Scenario; params: Row }[];
  /** The fixed parameters the report lists. */
  parameters(scale: Scale): Record<string, string | number>;
  analyse(runs: readonly { result: RunResult; params: Row }[]): Analysis;
}

/** The flags that give a scheduler Omega's decision time t_job + t_task × tasks. */
export function decisionTimeArgs(perJobMs: number, perTaskMs: number): string[] {
  return [`--decision-time-per-job=${perJobMs}ms`, `--decision-time-per-task=${perTaskMs}ms`];
}

const PROFILES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'profiles');
/** Non-gang jobs (a pod-group label, no PodGroup): Coscheduling off. */
export const JOBS_PROFILE = path.join(PROFILES, 'jobs.yaml');
/** PodGroup gangs, committed all-or-nothing. */
export const GANGS_PROFILE = path.join(PROFILES, 'gangs.yaml');

/** Ratio a/b, 0 when b is 0. */
export function ratio(a: number, b: number): number {
  return b === 0 ? 0 : a / b;
}

export function fmt(x: number, digits = 3): string {
  return Number.isFinite(x) ? x.toFixed(digits) : String(x);
}

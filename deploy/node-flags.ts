// Node's own flags for each cell program, wherever it is started: `npm start` (local-cluster.ts),
// tests and benchmarks (test/harness/entrypoint.ts), the bundle's presets. The systemd units and
// compose.yaml pass the same in NODE_OPTIONS, and an installed binary's shebang carries them
// (test/deploy/deploy-files.test.ts checks that all of them agree).

export type Program = 'apiserver' | 'schedulers' | 'agent' | 'cli' | 'controllers';

export const NODE_FLAGS: Readonly<Record<Program, readonly string[]>> = {
  // A larger young generation (V8's default semi-space is 16 MiB): nearly everything the API
  // server allocates for a request or a watch event is garbage within milliseconds, and with a
  // small young generation the scavenges that copy what is still in flight came to a fifth of its
  // CPU at a few thousand creates a second. 64 MiB took about a tenth off its CPU per created pod
  // (bench:jobs, README); it costs up to ~190 MiB more resident memory under load, none when idle.
  apiserver: ['--max-semi-space-size=64'],
  schedulers: [],
  agent: [],
  cli: [],
  controllers: [],
};

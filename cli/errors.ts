// Errors cellctl raises itself (as opposed to the API server's, which arrive as the shared
// CellError hierarchy). main.ts prints either kind as one `error: …` line; the class decides
// nothing but the exit code.

/** The command line itself is wrong: unknown type, bad flag value, missing argument. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A manifest cannot be read or understood; the message names the file (and line when known). */
export class ManifestError extends Error {
  override readonly name = 'ManifestError';
}

/** The kubeconfig file is missing, unreadable or names a context that does not exist. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Waiting for a condition (delete --wait, drain) ran out of time. */
export class WaitTimeoutError extends Error {
  override readonly name = 'WaitTimeoutError';
}

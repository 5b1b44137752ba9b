// Loading a plugin module the way its author wrote it: a file (.js/.mjs as it is; .ts/.mts/.cts
// type-checked, then run through tsx's loader) or an installed npm package. Every failure is an
// InvalidError naming the module, so the daemon prints one line and exits 2.
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { InvalidError, errorMessage } from '../../shared/errors.js';

/** `./x.ts`, `../x.js`, `/abs/x.mjs`: a file; anything else (`pkg`, `@scope/pkg/sub`): a package. */
function isFileSpecifier(spec: string): boolean {
  return spec.startsWith('.') || path.isAbsolute(spec);
}

/** The file `spec` names, resolved from the profile that names it (packages from its node_modules). */
export function resolvePluginModule(spec: string, profileFile: string): string {
  if (isFileSpecifier(spec)) return path.resolve(path.dirname(profileFile), spec);
  try {
    return createRequire(profileFile).resolve(spec);
  } catch (err) {
    throw new InvalidError(`cannot find plugin package "${spec}" from ${path.dirname(profileFile)}: ${errorMessage(err)}`);
  }
}

type TypeScript = typeof import('typescript');

/**
 * The plugin's type errors, when the TypeScript compiler is installed (it is wherever plugins are
 * written; a production install without it loads plugins unchecked, as tsx alone would). Only the
 * plugin's own files are reported: the SDK's declarations are the contract it is checked against.
 */
function typeErrors(file: string): Promise<string[] | undefined> {
  let errors = checked.get(file);
  if (errors === undefined) {
    errors = checkTypes(file);
    checked.set(file, errors);
  }
  return errors;
}

/** Per process: a harness in an author's tests may load the same plugin many times. */
const checked = new Map<string, Promise<string[] | undefined>>();

async function checkTypes(file: string): Promise<string[] | undefined> {
  let ts: TypeScript;
  try {
    ts = (await import('typescript')).default;
  } catch {
    return undefined; // no compiler installed: nothing to check with
  }
  const program = ts.createProgram([file], {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    skipLibCheck: true,
    types: [],
  });
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.category === ts.DiagnosticCategory.Error && (d.file === undefined || !d.file.fileName.includes('/node_modules/')))
    .map((d) => {
      const text = ts.flattenDiagnosticMessageText(d.messageText, ' ');
      if (d.file === undefined || d.start === undefined) return `TS${d.code}: ${text}`;
      const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
      return `${d.file.fileName}(${line + 1},${character + 1}): TS${d.code}: ${text}`;
    });
}

/** Import the module at `file` (see resolvePluginModule); TypeScript is type-checked first. */
export async function importPluginModule(file: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(file).href;
  if (!/\.[mc]?ts$/.test(file)) return (await import(url)) as Record<string, unknown>;
  const errors = await typeErrors(file);
  if (errors !== undefined && errors.length > 0) {
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more type error${errors.length > 2 ? 's' : ''})` : '';
    throw new InvalidError(`type error: ${errors[0]}${more}`);
  }
  // tsx's loader, scoped to this one import: the installed binary is plain Node.js.
  const { tsImport } = await import('tsx/esm/api');
  return (await tsImport(url, import.meta.url)) as Record<string, unknown>;
}

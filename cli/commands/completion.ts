// `cellctl completion bash|zsh`: a shell completion script generated from the command tree
// main.ts defines (so it never falls out of date): commands, each command's flags, resource
// types, output formats, and — by calling cellctl itself — the server's other resource types
// (custom resources), object names, namespaces, nodes and kubeconfig contexts. zsh runs the same function through bashcompinit.
import { UsageError } from '../errors.js';
import { typeNames } from '../resources.js';

export interface CommandSpec {
  name: string;
  flags: string[];
  /** Flags that take a value (so completion skips over it when finding the command). */
  valueFlags: string[];
  subcommands: CommandSpec[];
}

/** What each command's positional arguments are. */
const ARG_KINDS: Record<string, 'resources' | 'pods' | 'nodes' | 'top' | 'config' | 'shells' | 'none'> = {
  get: 'resources',
  describe: 'resources',
  delete: 'resources',
  label: 'resources',
  logs: 'pods',
  exec: 'pods',
  'port-forward': 'pods',
  cordon: 'nodes',
  uncordon: 'nodes',
  drain: 'nodes',
  top: 'top',
  config: 'config',
  completion: 'shells',
};

function words(list: readonly string[]): string {
  return [...new Set(list)].join(' ');
}

export function bashCompletion(root: CommandSpec): string {
  const commands = root.subcommands.map((c) => c.name);
  const valueFlags = words([...root.valueFlags, ...root.subcommands.flatMap((c) => [...c.valueFlags, ...c.subcommands.flatMap((s) => s.valueFlags)])]);
  const flagCases = root.subcommands
    .map((c) => `    ${c.name}) flags="${words([...c.flags, ...root.flags])}" ;;`)
    .join('\n');
  const argCases = root.subcommands
    .map((c) => `    ${c.name}) kind="${ARG_KINDS[c.name] ?? 'none'}" ;;`)
    .join('\n');
  const configSubs = words(root.subcommands.find((c) => c.name === 'config')?.subcommands.map((s) => s.name) ?? []);
  return `# bash completion for cellctl. Load it with:
#   source <(cellctl completion bash)
# or save it as /etc/bash_completion.d/cellctl.

__cellctl_names() {
  # Object names of one type, asking the cluster (quietly: completion must never print errors).
  local ns_args=()
  [ -n "$__cellctl_ns" ] && ns_args=(--namespace "$__cellctl_ns")
  cellctl "\${__cellctl_global[@]}" "\${ns_args[@]}" get "$1" -o 'jsonpath={.items[*].metadata.name}' 2>/dev/null
}

__cellctl_types() {
  # The built-in types are in this script; api-resources adds the server's custom ones (quietly).
  cellctl "\${__cellctl_global[@]}" api-resources --no-headers 2>/dev/null | cut -d' ' -f1
}

_cellctl() {
  local cur prev cmd="" sub="" kind="none" flags="" i w
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  __cellctl_ns=""
  __cellctl_global=()
  local args=()
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    case "$w" in
      -n|--namespace) __cellctl_ns="\${COMP_WORDS[i+1]}"; ((i++)); continue ;;
      --namespace=*) __cellctl_ns="\${w#*=}"; continue ;;
      --server|--token|--kubeconfig) __cellctl_global+=("$w" "\${COMP_WORDS[i+1]}"); ((i++)); continue ;;
      --server=*|--token=*|--kubeconfig=*) __cellctl_global+=("$w"); continue ;;
    esac
    case " ${valueFlags} " in
      *" $w "*) ((i++)); continue ;;
    esac
    case "$w" in
      -*) ;;
      *) if [ -z "$cmd" ]; then cmd="$w"; else args+=("$w"); fi ;;
    esac
  done

  case "$prev" in
    -n|--namespace) COMPREPLY=($(compgen -W "$(__cellctl_names namespaces)" -- "$cur")); return ;;
    -o|--output) COMPREPLY=($(compgen -W "wide json yaml name jsonpath= jsonpath-file=" -- "$cur")); return ;;
    -f|--filename|--kubeconfig) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --for) COMPREPLY=($(compgen -W "${words(typeNames().map((t) => `${t}/`))}" -- "$cur")); compopt -o nospace 2>/dev/null; return ;;
  esac

  if [ -z "$cmd" ]; then
    if [[ "$cur" == -* ]]; then
      COMPREPLY=($(compgen -W "${words(root.flags)}" -- "$cur"))
    else
      COMPREPLY=($(compgen -W "${words(commands)}" -- "$cur"))
    fi
    return
  fi

  case "$cmd" in
${flagCases}
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$flags" -- "$cur"))
    return
  fi

  case "$cmd" in
${argCases}
  esac
  case "$kind" in
    resources)
      if [ \${#args[@]} -eq 0 ]; then
        if [[ "$cur" == */* ]]; then
          local type="\${cur%%/*}"
          COMPREPLY=($(compgen -P "$type/" -W "$(__cellctl_names "$type")" -- "\${cur#*/}"))
        else
          COMPREPLY=($(compgen -W "${words(typeNames())} all $(__cellctl_types)" -- "$cur"))
        fi
      else
        COMPREPLY=($(compgen -W "$(__cellctl_names "\${args[0]}")" -- "$cur"))
      fi ;;
    pods) COMPREPLY=($(compgen -W "$(__cellctl_names pods)" -- "$cur")) ;;
    nodes) COMPREPLY=($(compgen -W "$(__cellctl_names nodes)" -- "$cur")) ;;
    top)
      if [ \${#args[@]} -eq 0 ]; then COMPREPLY=($(compgen -W "nodes pods" -- "$cur"))
      else COMPREPLY=($(compgen -W "$(__cellctl_names "\${args[0]}")" -- "$cur")); fi ;;
    config)
      if [ \${#args[@]} -eq 0 ]; then COMPREPLY=($(compgen -W "${configSubs}" -- "$cur"))
      elif [ "\${args[0]}" = use-context ] || [ "\${args[0]}" = get-contexts ] || [ "\${args[0]}" = set-context ]; then
        COMPREPLY=($(compgen -W "$(cellctl "\${__cellctl_global[@]}" config get-contexts -o name 2>/dev/null)" -- "$cur"))
      fi ;;
    shells) COMPREPLY=($(compgen -W "bash zsh" -- "$cur")) ;;
  esac
}

complete -o default -F _cellctl cellctl
`;
}

export function zshCompletion(root: CommandSpec): string {
  return `#compdef cellctl
# zsh completion for cellctl (the bash completion, through zsh's bashcompinit). Load it with:
#   source <(cellctl completion zsh)

autoload -U +X compinit && compinit
autoload -U +X bashcompinit && bashcompinit

${bashCompletion(root).replace(/^# bash completion[^\n]*\n(#[^\n]*\n)*/, '')}`;
}

export function runCompletion(print: (s: string) => void, shell: string, root: CommandSpec): number {
  if (shell === 'bash') print(bashCompletion(root));
  else if (shell === 'zsh') print(zshCompletion(root));
  else throw new UsageError(`unsupported shell type "${shell}" (supported: bash, zsh)`);
  return 0;
}

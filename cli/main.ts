#!/usr/bin/env node
// cellctl: the command-line client (DESIGN §1), shaped like kubectl so its users feel at home.
// This file is the argument parsing (commander) and the one place errors end: whatever goes
// wrong becomes a single `error: …` line on stderr and a non-zero exit code — never a stack trace.
import { Command, CommanderError, Option } from 'commander';
import { CellError, UnauthorizedError, errorMessage } from '../shared/errors.js';
import { runApiResources } from './commands/api-resources.js';
import { runApply } from './commands/apply.js';
import { runAudit } from './commands/audit.js';
import { runCompletion, type CommandSpec } from './commands/completion.js';
import { runCurrentContext, runConfigView, runGetContexts, runSetContext, runUseContext } from './commands/config.js';
import { runCordon } from './commands/cordon.js';
import { createWorkloadOptions, parseCreateOutput, runCreate, runCreateWorkload } from './commands/create.js';
import { runCreateQuota } from './commands/quota.js';
import { runDelete } from './commands/delete.js';
import { runDescribe } from './commands/describe.js';
import { runDrain } from './commands/drain.js';
import { runEvents } from './commands/events.js';
import { runGet } from './commands/get.js';
import { runLabel } from './commands/label.js';
import { runAttach } from './commands/attach.js';
import { runDebug } from './commands/debug.js';
import { runExec } from './commands/exec.js';
import { runPortForward } from './commands/port-forward.js';
import { runLogs } from './commands/logs.js';
import { runTopNodes, runTopPods } from './commands/top.js';
import { runVersion } from './commands/version.js';
import { runScale } from './commands/scale.js';
import { runAutoscale } from './commands/autoscale.js';
import { runExpose } from './commands/expose.js';
import { runCreateService, SERVICE_GENERATORS, type CreateServiceOptions, type ServiceGenerator } from './commands/create-service.js';
import { runSetImage } from './commands/set-image.js';
import { runRolloutHistory, runRolloutPause, runRolloutStatus, runRolloutUndo } from './commands/rollout.js';
import { parseDryRun } from './commands/write-options.js';
import { Cli, type GlobalOptions } from './context.js';
import { UsageError } from './errors.js';
import { colorWanted, palette } from './output/color.js';

const stderrColors = palette(colorWanted(process.stderr));

/** Repeatable flags (`-f a.yaml -f b.yaml`). */
const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** kubectl booleans also take `=true|false` (`--show-events=false`): commander needs `[bool]`. */
function boolValue(flag: string) {
  return (value: string | boolean | undefined): boolean => {
    if (value === undefined || value === true || value === 'true') return true;
    if (value === false || value === 'false') return false;
    throw new UsageError(`invalid value "${String(value)}" for ${flag}: must be true or false`);
  };
}

let exitCode = 0;

const CREATE_OUTPUT_HELP = 'json|yaml|name|jsonpath=TEMPLATE: print the created object (with --dry-run=client, the one that would be sent) instead of a message';

function build(): Command {
  const program = new Command('cellctl')
    .description('cellctl controls a cell cluster, kubectl-style.\n\nFind more at the project README; every command has --help.')
    .usage('[global flags] COMMAND [args] [flags]')
    .option('--server <url>', 'API server URL (several, comma-separated, fail over in order)')
    .option('--token <token>', 'bearer token for the API server')
    .option('--kubeconfig <file>', 'kubeconfig file (default: $CELLCONFIG, then $KUBECONFIG, then ~/.cell/config)')
    .option('--context <name>', 'kubeconfig context to use instead of the current one')
    .option('-n, --namespace <namespace>', 'namespace to use (default: the context\'s namespace, else "default")')
    .option('--request-timeout <duration>', 'give up on a single request after this long (e.g. 10s)')
    .helpCommand(true)
    .configureHelp({ showGlobalOptions: true })
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      // Commander's own messages already start with "error:"; keep them one line, coloured like ours.
      outputError: (str, write) => write(str.replace(/^error:/, stderrColors.red('error:'))),
    });

  const run =
    <A extends unknown[]>(fn: (cli: Cli, ...args: A) => Promise<number> | number) =>
    async (...args: A) => {
      const cmd = args[args.length - 1] as Command;
      const cli = new Cli(cmd.optsWithGlobals<GlobalOptions>());
      try {
        exitCode = await fn(cli, ...args);
      } finally {
        cli.close();
      }
    };

  program
    .command('get')
    .description('Display one or many resources (pods, nodes, podgroups, …; several as pods,nodes; TYPE/NAME; all)')
    .argument('[type-and-names...]', 'TYPE[,TYPE…] [NAME…] or TYPE/NAME…')
    .option('-o, --output <format>', 'output format: wide|json|yaml|name|jsonpath=TEMPLATE|jsonpath-file=FILE')
    .option('-l, --selector <selector>', 'label selector (e.g. app=web,tier!=db)')
    .option('--field-selector <selector>', 'field selector (e.g. spec.nodeName=node-1,status.phase=Running)')
    .option('-w, --watch', 'after listing, watch for changes and print them as they happen')
    .option('--watch-only', 'watch for changes without listing first')
    .option('--output-watch-events', 'with --watch, print the event type (ADDED, MODIFIED, DELETED) first')
    .option('-A, --all-namespaces', 'list across all namespaces')
    .option('--show-labels', 'add a LABELS column')
    .option('--no-headers', 'do not print the header line')
    .option('--ignore-not-found', 'a missing object named on the command line is not an error')
    .addHelpText('after', '\nExamples:\n  cellctl get pods\n  cellctl get pods -o wide -A\n  cellctl get pod web-1 -o yaml\n  cellctl get pods,nodes\n  cellctl get pods -o jsonpath=\'{range .items[*]}{.metadata.name}{"\\t"}{.spec.nodeName}{"\\n"}{end}\'\n  cellctl get pods -w')
    .action(run((cli, args: string[], opts: Parameters<typeof runGet>[2]) => runGet(cli, args, opts)));

  program
    .command('describe')
    .description('Show details of a resource, with its events')
    .argument('[type-and-names...]', 'TYPE [NAME…] or TYPE/NAME…')
    .option('-l, --selector <selector>', 'describe every object matching this label selector')
    .option('-A, --all-namespaces', 'with no names: across all namespaces')
    .addOption(new Option('--show-events [bool]', 'show the events about the object').argParser(boolValue('--show-events')).default(true))
    .action(run((cli, args: string[], opts: Parameters<typeof runDescribe>[2]) => runDescribe(cli, args, opts)));

  for (const verb of ['create', 'apply'] as const) {
    const cmd = program
      .command(verb)
      .description(
        verb === 'create'
          ? 'Create resources from files or stdin (an existing object is an error)'
          : 'Create or update resources from files or stdin, so they match the manifests (kubectl-compatible client-side apply)',
      )
      // Not a commander requiredOption: `create quota` is a subcommand without -f.
      .option('-f, --filename <file>', 'file, directory or - (stdin); repeatable', collect)
      .option('-R, --recursive', 'also read subdirectories of -f directories')
      .option('--dry-run [mode]', 'none|client|server: show what would happen without changing anything');
    if (verb === 'create') cmd.option('-o, --output <format>', CREATE_OUTPUT_HELP);
    else {
      cmd
        .option('--server-side', 'server-side apply: the server merges the manifests and records who owns which fields')
        .option('--field-manager <name>', 'with --server-side: the owner recorded for the applied fields', 'cellctl')
        .option('--force-conflicts', 'with --server-side: take over fields another applier owns instead of failing');
    }
    cmd.action(
      run((cli, opts: { filename?: string[]; recursive?: boolean; dryRun?: string | boolean; output?: string; serverSide?: boolean; fieldManager?: string; forceConflicts?: boolean }) => {
        if (!opts.filename?.length) throw new UsageError("required option '-f, --filename <file>' not specified");
        const o = { filename: opts.filename, recursive: opts.recursive ?? false, dryRun: parseDryRun(opts.dryRun) };
        if (verb === 'create') return runCreate(cli, { ...o, output: parseCreateOutput(opts.output) });
        if (opts.forceConflicts && !opts.serverSide) throw new UsageError('--force-conflicts only applies with --server-side');
        return runApply(cli, { ...o, ...(opts.serverSide ? { serverSide: { fieldManager: opts.fieldManager ?? 'cellctl', force: opts.forceConflicts === true } } : {}) });
      }),
    );
  }
  program.commands
    .find((c) => c.name() === 'create')!
    .command('quota')
    .alias('resourcequota')
    .description('Create a ResourceQuota: cellctl create quota NAME --hard=cpu=2,memory=4Gi,pods=3 [--scopes=BestEffort]')
    .argument('<name>', 'name of the quota')
    .option('--hard <list>', 'RESOURCE=QUANTITY pairs, comma-separated')
    .option('--scopes <list>', 'quota scopes, comma-separated (BestEffort, NotBestEffort, Terminating, NotTerminating, PriorityClass)')
    .option('--dry-run [mode]', 'none|client|server: show what would happen without changing anything')
    .option('-o, --output <format>', CREATE_OUTPUT_HELP)
    .action(
      // optsWithGlobals: `create` itself has --dry-run and -o too, and commander gives those flags to it.
      run((cli, name: string, _opts: unknown, cmd: Command) => {
        const opts = cmd.optsWithGlobals<{ hard?: string; scopes?: string; dryRun?: string | boolean; output?: string }>();
        return runCreateQuota(cli, name, {
          ...(opts.hard !== undefined ? { hard: opts.hard } : {}),
          ...(opts.scopes !== undefined ? { scopes: opts.scopes } : {}),
          dryRun: parseDryRun(opts.dryRun),
          output: parseCreateOutput(opts.output),
        });
      }),
    );
  const createService = program.commands
    .find((c) => c.name() === 'create')!
    .command('service')
    .alias('svc')
    .description('Create a Service: cellctl create service clusterip|nodeport|loadbalancer|externalname NAME [--tcp=PORT[:TARGET]]…');
  for (const kind of Object.keys(SERVICE_GENERATORS) as ServiceGenerator[]) {
    const sub = createService
      .command(kind)
      .description(`Create a ${SERVICE_GENERATORS[kind]} Service selecting app=NAME`)
      .argument('<name>', 'name of the Service');
    if (kind !== 'externalname') sub.option('--tcp <port[:target]>', 'a port and the pods\' port it leads to (repeatable)', collect);
    if (kind === 'clusterip') sub.option('--clusterip <ip>', 'the cluster IP to ask for, or None for a headless Service');
    if (kind === 'nodeport') sub.option('--node-port <port>', 'the node port to ask for (default: allocated)');
    if (kind === 'externalname') sub.option('--external-name <name>', 'the DNS name the Service aliases');
    sub
      .option('--dry-run [mode]', 'none|client|server: show what would happen without changing anything')
      .option('-o, --output <format>', CREATE_OUTPUT_HELP)
      .action(
        // optsWithGlobals: `create` itself has --dry-run and -o too, and commander gives those flags to it.
        run((cli, name: string, _opts: unknown, cmd: Command) => runCreateService(cli, kind, name, cmd.optsWithGlobals<CreateServiceOptions>())),
      );
  }
  for (const kind of ['deployment', 'job'] as const) {
    const sub = program.commands
      .find((c) => c.name() === 'create')!
      .command(kind)
      .description(kind === 'deployment' ? 'Create a Deployment: cellctl create deployment NAME --image=IMAGE [--replicas=N] [--port=P] [-- COMMAND ARGS…]' : 'Create a Job: cellctl create job NAME --image=IMAGE [-- COMMAND ARGS…]')
      .argument('<name>', `name of the ${kind}`)
      .argument('[command...]', 'after --: the container command and its arguments')
      .option('--image <image>', 'the container image');
    if (kind === 'deployment') sub.alias('deploy').option('--replicas <n>', 'how many pods (default 1)').option('--port <port>', 'the container port to expose');
    sub
      .option('--dry-run [mode]', 'none|client|server: show what would happen without changing anything')
      .option('-o, --output <format>', CREATE_OUTPUT_HELP)
      .action(
        // optsWithGlobals: `create` itself has --dry-run and -o too, and commander gives those flags to it.
        run((cli, name: string, command: string[], _opts: unknown, cmd: Command) =>
          runCreateWorkload(cli, kind, name, createWorkloadOptions(kind, command, cmd.optsWithGlobals<{ image?: string; replicas?: string; port?: string; dryRun?: string | boolean; output?: string }>())),
        ),
      );
  }

  program
    .command('delete')
    .description('Delete resources by name, by file, or by label selector')
    .argument('[type-and-names...]', 'TYPE NAME… or TYPE/NAME… (or TYPE with -l / --all)')
    .option('-f, --filename <file>', 'delete the objects in this file, directory or - (stdin); repeatable', collect)
    .option('-R, --recursive', 'also read subdirectories of -f directories')
    .option('-l, --selector <selector>', 'delete every object of the type matching this label selector')
    .option('--field-selector <selector>', 'delete every object of the type matching this field selector')
    .option('--all', 'delete every object of the type in the namespace')
    .option('-A, --all-namespaces', 'with -l or --all: across all namespaces')
    .option('--grace-period <seconds>', 'seconds a pod is given to stop (-1: the pod\'s own; 0: at once)')
    .option('--now', 'stop pods almost immediately (grace period 1)')
    .option('--force', 'delete at once, without waiting for the node to confirm the pod stopped (grace period 0)')
    .addOption(new Option('--wait [bool]', 'wait until the objects are gone (up to --timeout)').argParser(boolValue('--wait')).default(false))
    .option('--timeout <duration>', 'how long --wait waits', '60s')
    .option('--ignore-not-found', 'a missing object is not an error')
    .option('--cascade [policy]', 'what happens to dependents: background (deleted after the object), foreground (deleted before it) or orphan (kept, without the owner reference)', 'background')
    .action(run((cli, args: string[], opts: Parameters<typeof runDelete>[2]) => runDelete(cli, args, opts)));

  program
    .command('label')
    .description('Add, update or remove labels: KEY=VALUE sets, KEY- removes')
    .argument('<args...>', 'TYPE NAME… (or TYPE/NAME…) then KEY=VALUE… KEY-…')
    .addOption(new Option('--overwrite [bool]', 'allow changing an existing label\'s value').argParser(boolValue('--overwrite')).default(false))
    .option('-l, --selector <selector>', 'label every object of the type matching this selector')
    .option('--all', 'label every object of the type in the namespace')
    .option('-A, --all-namespaces', 'with -l or --all: across all namespaces')
    .option('--list', 'list the labels instead of changing them')
    .action(run((cli, args: string[], opts: Parameters<typeof runLabel>[2]) => runLabel(cli, args, opts)));

  program
    .command('logs')
    .description('Print the logs of a container in a pod')
    .argument('<pod>', 'POD or pod/POD')
    .argument('[container]', 'container (same as -c)')
    .option('-c, --container <name>', 'container (default: the only one, else the first)')
    .option('-f, --follow', 'keep streaming new output')
    .option('--tail <lines>', 'only the last N lines (-1: all)')
    .option('-p, --previous', 'the previous, terminated instance of the container')
    .option('--timestamps', 'prefix each line with its timestamp')
    .option('--since <duration>', 'only lines newer than this (e.g. 5m)')
    .action(
      run((cli, pod: string, container: string | undefined, opts: Parameters<typeof runLogs>[2]) =>
        runLogs(cli, container === undefined ? [pod] : [pod, container], opts),
      ),
    );

  program
    .command('exec')
    .description('Run a command in a container of a running pod')
    .argument('<pod>', 'POD or pod/POD')
    .argument('<command...>', 'the command and its arguments, after --')
    .option('-c, --container <name>', 'container (default: the only one, else the default or first)')
    .option('-i, --stdin', 'pass stdin to the command')
    .option('-t, --tty', 'run the command on a terminal (with -i, from a terminal)')
    .addHelpText('after', '\nExamples:\n  cellctl exec web -- ls -la\n  cellctl exec -it web -- sh\n  tar cf - dir | cellctl exec -i web -- tar xf -')
    .action(run((cli, pod: string, command: string[], opts: Parameters<typeof runExec>[2]) => runExec(cli, [pod, ...command], opts)));

  program
    .command('attach')
    .description('Attach to the process of a running container')
    .argument('<pod>', 'POD or pod/POD')
    .option('-c, --container <name>', 'container (default: the only one, else the default or first)')
    .option('-i, --stdin', 'pass stdin to the container (it needs stdin: true)')
    .option('-t, --tty', 'the container runs on a terminal (tty: true); with -i, drive it from this one')
    .addHelpText('after', '\nExamples:\n  cellctl attach web\n  cellctl attach -it shell')
    .action(run((cli, pod: string, opts: Parameters<typeof runAttach>[2]) => runAttach(cli, [pod], opts)));

  program
    .command('debug')
    .description('Add an ephemeral container to a running pod (and attach to it with -i)')
    .argument('<pod>', 'POD or pod/POD')
    .argument('[command...]', 'the command and its arguments, after --')
    .option('--image <image>', 'the container\'s image (recorded: the agent runs the command on the node)')
    .option('-c, --container <name>', 'its name (default: debugger-xxxxx)')
    .option('--target <container>', 'the container whose processes it is meant to see')
    .option('-i, --stdin', 'keep stdin open and attach to it once it runs')
    .option('--no-attach', 'with -i, leave it running for `cellctl attach` (--attach=false)')
    .option('-t, --tty', 'give it a terminal (with -i, from this one)')
    .addHelpText('after', '\nExamples:\n  cellctl debug -it web --image=busybox --target=web -- sh\n  cellctl debug web --image=busybox -c probe -- sh -c "ps aux"')
    .action(run((cli, pod: string, command: string[], opts: Parameters<typeof runDebug>[2]) => runDebug(cli, [pod, ...command], opts)));

  program
    .command('port-forward')
    .description('Forward local ports to a pod (until interrupted)')
    .argument('<pod>', 'POD or pod/POD')
    .argument('<ports...>', '[LOCAL:]REMOTE… (8080:80; :80 for any free local port; 80 for the same one)')
    .option('--address <addresses>', 'local addresses to listen on, comma-separated (default: localhost, i.e. 127.0.0.1 and ::1)')
    .addHelpText('after', '\nExamples:\n  cellctl port-forward web 8080:80\n  cellctl port-forward pod/db :5432 --address 0.0.0.0')
    .action(run((cli, pod: string, ports: string[], opts: Parameters<typeof runPortForward>[2]) => runPortForward(cli, [pod, ...ports], opts)));

  for (const [verb, unschedulable] of [['cordon', true], ['uncordon', false]] as const) {
    program
      .command(verb)
      .description(unschedulable ? 'Mark nodes unschedulable (running pods stay)' : 'Mark nodes schedulable again')
      .argument('[nodes...]', 'NODE…')
      .option('-l, --selector <selector>', 'every node matching this label selector')
      .action(run((cli, nodes: string[], opts: { selector?: string }) => runCordon(cli, nodes, opts, unschedulable)));
  }

  program
    .command('drain')
    .description('Cordon a node, then evict its pods (honouring disruption budgets) and wait for them to be gone')
    .argument('<node>', 'NODE')
    .option('--grace-period <seconds>', 'seconds each pod is given to stop (-1: the pod\'s own; 0: delete at once)')
    .option('--timeout <duration>', 'give up waiting after this long (exit 1, node stays cordoned)', '5m')
    .option('--pod-selector <selector>', 'only pods matching this label selector')
    .option('--ignore-daemonsets', 'leave pods of DaemonSets running (without it, drain refuses while there are any)')
    .option('--delete-emptydir-data', 'accepted for kubectl compatibility (cell has no emptyDir volumes)')
    .addHelpText('after', '\nA pod a PodDisruptionBudget protects is retried every 5s until --timeout. With no agent on the node,\nevicted pods stay Terminating until --timeout; --grace-period=0 deletes them at once.')
    .action(run((cli, node: string, opts: Parameters<typeof runDrain>[2]) => runDrain(cli, [node], opts)));

  program
    .command('scale')
    .description('Set the replica count of a Deployment or ReplicaSet through its scale subresource')
    .argument('<type-and-name...>', 'TYPE NAME or TYPE/NAME')
    .option('--replicas <n>', 'the new replica count')
    .option('--current-replicas <n>', 'only if the current count is this (precondition)')
    .option('--resource-version <rv>', 'only if the object is at this resourceVersion (precondition)')
    .action(run((cli, args: string[], opts: Parameters<typeof runScale>[2]) => runScale(cli, args, opts)));

  program
    .command('expose')
    .description('Make a Service for a pod, Deployment, ReplicaSet, StatefulSet or Service: cellctl expose deployment/web --port=80 --target-port=8080 [--type=NodePort]')
    .argument('<type-and-name...>', 'TYPE NAME or TYPE/NAME')
    .option('--port <port>', "the Service's port (default: the object's container ports)")
    .option('--target-port <port>', "the pods' port, a number or a container port's name (default: --port)")
    .option('--type <type>', 'ClusterIP (default), NodePort or LoadBalancer')
    .option('--name <name>', 'name of the Service (default: the name of the object)')
    .option('--protocol <protocol>', 'TCP (default), UDP or SCTP')
    .option('--selector <labels>', "key=value pairs the Service selects (default: the object's selector)")
    .option('--cluster-ip <ip>', 'the cluster IP to ask for, or None for a headless Service')
    .option('--dry-run [mode]', 'none|client|server: show what would happen without changing anything')
    .option('-o, --output <format>', CREATE_OUTPUT_HELP)
    .action(run((cli, args: string[], opts: Parameters<typeof runExpose>[2]) => runExpose(cli, args, opts)));

  program
    .command('autoscale')
    .description('Keep a Deployment, ReplicaSet or StatefulSet at a CPU target between --min and --max replicas (a HorizontalPodAutoscaler)')
    .argument('<type-and-name...>', 'TYPE NAME or TYPE/NAME')
    .option('--max <n>', 'the most replicas (required)')
    .option('--min <n>', 'the fewest replicas (default 1)')
    .option('--cpu-percent <n>', "the target average CPU use, as a percentage of the pods' requests (default: 80, the server's)")
    .option('--name <name>', 'name of the autoscaler (default: the name of the object it scales)')
    .option('--dry-run [mode]', 'none|client|server: show what would happen without changing anything')
    .action(run((cli, args: string[], opts: Parameters<typeof runAutoscale>[2]) => runAutoscale(cli, args, opts)));

  program
    .command('set')
    .description('Change fields of existing objects')
    .command('image')
    .description("Change container images of a pod template (starts a Deployment's rollout): cellctl set image deployment/web main=busybox:1.36")
    .argument('<args...>', 'TYPE NAME (or TYPE/NAME) then CONTAINER=IMAGE… (* for every container)')
    .action(run((cli, args: string[]) => runSetImage(cli, args)));

  const rollout = program.command('rollout').description('Manage the rollout of a Deployment or a DaemonSet: status, history, undo; pause, resume (Deployments)');
  rollout
    .command('status')
    .description('Wait until the rollout is complete (exit 1 past its progress deadline)')
    .argument('<type-and-name...>', 'deployment/NAME or daemonset/NAME (or TYPE NAME)')
    .option('--timeout <duration>', 'give up after this long (0: never)', '0s')
    .addOption(new Option('-w, --watch [bool]', 'keep watching until the rollout is done').argParser(boolValue('--watch')).default(true))
    .action(run((cli, args: string[], opts: Parameters<typeof runRolloutStatus>[2]) => runRolloutStatus(cli, args, opts)));
  rollout
    .command('history')
    .description('List the revisions kept (or show one with --revision)')
    .argument('<type-and-name...>', 'deployment/NAME or daemonset/NAME (or TYPE NAME)')
    .option('--revision <n>', 'show the pod template of this revision')
    .action(run((cli, args: string[], opts: Parameters<typeof runRolloutHistory>[2]) => runRolloutHistory(cli, args, opts)));
  rollout
    .command('undo')
    .description('Go back to the previous revision (or --to-revision)')
    .argument('<type-and-name...>', 'deployment/NAME or daemonset/NAME (or TYPE NAME)')
    .option('--to-revision <n>', 'the revision to go back to (0: the previous one)', '0')
    .action(run((cli, args: string[], opts: Parameters<typeof runRolloutUndo>[2]) => runRolloutUndo(cli, args, opts)));
  for (const [verb, paused] of [['pause', true], ['resume', false]] as const) {
    rollout
      .command(verb)
      .description(paused ? 'Stop template changes from rolling out (scaling still applies)' : 'Roll out what changed while paused')
      .argument('<type-and-name...>', 'deployment NAME or deployment/NAME')
      .action(run((cli, args: string[]) => runRolloutPause(cli, args, paused)));
  }

  const top = program.command('top').description('Show what is allocated on nodes (or to pods) against what is allocatable, and what is used where the agents measure it');
  top
    .command('nodes')
    .alias('node')
    .alias('no')
    .description('Allocated cpu, memory and pods against allocatable, per node, with measured use')
    .argument('[names...]', 'NODE…')
    .option('-l, --selector <selector>', 'only nodes matching this label selector')
    .option('--sort-by <resource>', 'name|cpu|memory|pods (by share allocated, highest first)')
    .option('--no-headers', 'do not print the header line')
    .option('--bars', 'draw bars even when stdout is not a terminal')
    .option('--no-bars', 'print percentages only, even on a terminal')
    .action(run((cli, names: string[], opts: Parameters<typeof runTopNodes>[2]) => runTopNodes(cli, names, opts)));
  top
    .command('pods')
    .alias('pod')
    .alias('po')
    .description('Requests of each bound pod and its node, with measured use')
    .argument('[names...]', 'POD…')
    .option('-A, --all-namespaces', 'across all namespaces')
    .option('--no-headers', 'do not print the header line')
    .action(run((cli, names: string[], opts: Parameters<typeof runTopPods>[2]) => runTopPods(cli, names, opts)));

  program
    .command('events')
    .description('List events, oldest first')
    .option('-A, --all-namespaces', 'across all namespaces')
    .option('--for <type/name>', 'only events about this object (e.g. pod/web-1)')
    .option('-w, --watch', 'keep printing new events')
    .option('--types <types>', 'only these types: Normal,Warning')
    .option('-o, --output <format>', 'json|yaml')
    .option('--no-headers', 'do not print the header line')
    .action(run((cli, opts: Parameters<typeof runEvents>[1]) => runEvents(cli, opts)));

  program
    .command('audit')
    .description('Check that no node is over-committed and no pod is bound twice (exit 1 on violations)')
    .option('-o, --output <format>', 'json|yaml')
    .option('--resource-version <rv>', 'audit the state at this store revision instead of the latest')
    .action(run((cli, opts: Parameters<typeof runAudit>[1]) => runAudit(cli, opts)));

  program
    .command('version')
    .description('Print the client and server versions')
    .option('--client', 'the client version only (no server needed)')
    .option('-o, --output <format>', 'json|yaml')
    .action(run((cli, opts: Parameters<typeof runVersion>[1]) => runVersion(cli, opts)));

  program
    .command('api-resources')
    .description('List the resource types the server serves')
    .option('-o, --output <format>', 'wide|name')
    .option('--namespaced [bool]', 'only namespaced (true) or cluster-scoped (false) types')
    .option('--no-headers', 'do not print the header line')
    .action(run((cli, opts: Parameters<typeof runApiResources>[1]) => runApiResources(cli, opts)));

  const config = program.command('config').description('Show or change the kubeconfig file (--kubeconfig, $CELLCONFIG, $KUBECONFIG or ~/.cell/config)');
  config
    .command('view')
    .description('Show the kubeconfig (tokens redacted unless --raw)')
    .option('--raw', 'show tokens and certificate data')
    .option('--minify', 'only the current context and what it uses')
    .option('-o, --output <format>', 'yaml|json', 'yaml')
    .action(run((cli, opts: Parameters<typeof runConfigView>[1]) => runConfigView(cli, opts)));
  config
    .command('current-context')
    .description('Print the current context')
    .action(run((cli) => runCurrentContext(cli)));
  config
    .command('use-context')
    .description('Make NAME the current context')
    .argument('<name>', 'context name')
    .action(run((cli, name: string) => runUseContext(cli, name)));
  config
    .command('get-contexts')
    .description('List the contexts')
    .argument('[names...]', 'only these')
    .option('-o, --output <format>', 'name')
    .option('--no-headers', 'do not print the header line')
    .action(run((cli, names: string[], opts: Parameters<typeof runGetContexts>[2]) => runGetContexts(cli, names, opts)));
  config
    .command('set-context')
    .description('Change (or create) a context: cellctl config set-context --current --namespace=dev')
    .argument('[name]', 'context name')
    .option('--current', 'the current context')
    .option('--cluster <cluster>', 'cluster to use')
    .option('--user <user>', 'user to use')
    .action(
      run((cli, name: string | undefined, opts: { current?: boolean; cluster?: string; user?: string }) =>
        // --namespace is the global flag; here it is the value to store in the context.
        runSetContext(cli, name, { ...opts, ...(cli.opts.namespace !== undefined ? { namespace: cli.opts.namespace } : {}) }),
      ),
    );

  program
    .command('completion')
    .description('Print a shell completion script: source <(cellctl completion bash)')
    .argument('<shell>', 'bash|zsh')
    .action(run((cli, shell: string) => runCompletion((s) => cli.print(s), shell, specOf(program))));

  return program;
}

/** The command tree, for the completion script. */
function specOf(cmd: Command): CommandSpec {
  const flags = cmd.options.flatMap((o) => [o.long, o.short].filter((f): f is string => f !== undefined));
  const valueFlags = cmd.options.filter((o) => o.required || o.optional).flatMap((o) => [o.long, o.short].filter((f): f is string => f !== undefined));
  return { name: cmd.name(), flags, valueFlags, subcommands: cmd.commands.map(specOf) };
}

/**
 * kubectl spellings commander does not parse by itself: `-n=dev` (a short flag with `=`), and
 * `--flag=true|false` for plain boolean flags (`--watch=true`, `--all-namespaces=false`).
 */
function normaliseArgs(args: string[], program: Command): string[] {
  const booleans = new Set<string>();
  const negatable = new Set<string>();
  const walk = (c: Command) => {
    for (const o of c.options) {
      if (!o.long) continue;
      if (o.negate) negatable.add(o.long.replace(/^--no-/, '--'));
      else if (!o.required && !o.optional) booleans.add(o.long);
    }
    c.commands.forEach(walk);
  };
  walk(program);
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      out.push(...args.slice(i));
      break;
    }
    const short = /^-([a-zA-Z])=(.*)$/s.exec(a);
    const bool = /^(--[a-z][a-z-]*)=(true|false)$/.exec(a);
    if (short) out.push(`-${short[1]}`, short[2]!);
    else if (bool && (booleans.has(bool[1]!) || negatable.has(bool[1]!))) {
      const flag = bool[1]!;
      // `--flag=false` of a plain boolean, and `--headers=true` of a `--no-headers` one, are defaults.
      if (bool[2] === 'true') {
        if (booleans.has(flag)) out.push(flag);
      } else if (negatable.has(flag)) out.push(`--no-${flag.slice(2)}`);
    } else out.push(a);
  }
  return out;
}

/** The one message for anything that went wrong. */
function describeError(err: unknown): string {
  if (err instanceof UnauthorizedError) return `You must be logged in to the server (Unauthorized): ${err.message}`;
  if (err instanceof CellError) {
    // A 422's message names the object; its causes name each bad field, unless already included.
    const extra = err.causes.filter((c) => !err.message.includes(c.field)).map((c) => `${c.field}: ${c.message}`);
    return extra.length > 0 ? `${err.message}: ${extra.join('; ')}` : err.message;
  }
  return errorMessage(err);
}

function fail(err: unknown): void {
  process.stderr.write(`${stderrColors.red('error:')} ${describeError(err).split('\n')[0]}\n`);
  process.exitCode = 1;
}

// Nothing may end as a stack trace: not a rejected promise nobody awaited, not a thrown callback.
process.on('uncaughtException', (err) => {
  fail(err);
  process.exit(1);
});
process.on('unhandledRejection', (err) => {
  fail(err);
  process.exit(1);
});
// `cellctl get pods | head -1`: the reader going away is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(exitCode);
  fail(err);
  process.exit(1);
});

async function main(): Promise<void> {
  const program = build();
  const args = process.argv.slice(2);
  if (args.length === 0) {
    // Like kubectl: no command is a request for help, not an error.
    program.outputHelp();
    return;
  }
  try {
    await program.parseAsync(normaliseArgs(args, program), { from: 'user' });
    process.exitCode = exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander printed its message (or the help/version text) already.
      process.exitCode = err.exitCode;
      return;
    }
    fail(err);
  }
}

await main();

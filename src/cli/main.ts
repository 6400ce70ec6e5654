import { cac } from 'cac';
import { existsSync, statSync } from 'node:fs';
import { loadScenario } from '../scenario/index.js';
import { defaultScenarioPath } from '../scenario/default-path.js';
import type { Cluster } from '../scenario/model.js';
import { CaptureFileError } from '../capture/errors.js';
import { LiveCapture, liveLimitProblem, type LiveCaptureOptions } from '../capture/live.js';
import { DpemuError } from '../util/errors.js';
import { selectEngine, type EngineName } from '../native/loader.js';
import { processIo, type Io } from './io.js';
import { ipvsRulesCommand } from '../ipvs/rules-command.js';
import { policyRulesCommand, rulesCommand } from '../kubeproxy/rules-command.js';
import { inspectCommand } from './inspect.js';
import { defaultCapturePath, replayCommand } from './replay-command.js';
import { benchCommand } from '../bench/cli.js';
import { mapsCommand } from './maps-command.js';
import { connectionsProblem, walkCommand, type WalkProto } from './walk-command.js';
import { normalizeOptionValues } from './options.js';

const VERSION = '0.1.0';

/** Loads the scenario files (the bundled default when none is given); problems go to stderr. */
export function loadClusterOrReport(files: string[], io: Io): Cluster | null {
  const paths = files.length > 0 ? files : [defaultScenarioPath()];
  const r = loadScenario(paths);
  for (const w of r.warnings) io.err(`warning: ${w}\n`);
  if (!r.ok) {
    io.err(`${r.error.message}\n`);
    return null;
  }
  return r.cluster;
}

/** The scenario and capture a replaying command works on; problems reported, null when unusable. */
function replayInput(capture: string | undefined, o: Record<string, unknown>, io: Io): { cluster: Cluster; file: string } | null {
  const cluster = loadClusterOrReport(asList(o.scenario), io);
  if (!cluster) return null;
  const file = capture ?? cluster.capture ?? defaultCapturePath();
  // Say where the path came from: a scenario's spec.capture is not on the command line the user is looking at.
  const from = capture === undefined && cluster.capture !== null ? ' (spec.capture of the scenario)' : '';
  if (!existsSync(file)) {
    io.err(`dpemu: capture ${file}${from} does not exist\n`);
    return null;
  }
  if (statSync(file).isDirectory()) {
    io.err(`dpemu: capture ${file}${from} is a directory; name a pcap or pcapng file\n`);
    return null;
  }
  return { cluster, file };
}

/** `--engine`, else DPEMU_ENGINE, else native when the addon loaded (a notice line when it did not). */
function engineOption(o: Record<string, unknown>, io: Io): EngineName {
  return selectEngine(typeof o.engine === 'string' ? o.engine : undefined, process.env, { notice: (line) => io.err(`${line}\n`) });
}

/**
 * `replay --live` and its options: the LiveCapture options, false for a file replay, null (reported) when the
 * options do not fit together.
 */
function liveOptions(capture: string | undefined, o: Record<string, unknown>, io: Io): LiveCaptureOptions | false | null {
  const bad = (msg: string): null => {
    io.err(`dpemu replay: ${msg}\n`);
    return null;
  };
  if (o.live === undefined) {
    const stray = ['filter', 'count', 'seconds'].find((k) => o[k] !== undefined);
    return stray ? bad(`--${stray} applies to --live <interface>`) : false;
  }
  if (typeof o.live !== 'string' || o.live === '') return bad('--live takes an interface name (ip link), e.g. --live eth0');
  if (capture !== undefined) return bad(`give a capture file or --live, not both (got ${capture} and --live ${o.live})`);
  const limits = liveLimitProblem(o.count, o.seconds);
  if (limits !== undefined) return bad(limits);
  const num = (v: unknown): number | undefined => (v === undefined ? undefined : Number(v));
  return { device: o.live, filter: o.filter === undefined ? undefined : String(o.filter), count: num(o.count), seconds: num(o.seconds) };
}

/**
 * Error codes that mean bad usage or bad input (exit 2, docs/cli.md): a bad option value, a scenario
 * or capture that is not what it should be, a benchmark baseline that cannot be compared.
 */
function usageCode(code: string): boolean {
  return code === 'SCENARIO_INVALID' || code.startsWith('BAD_') || code === 'FILE_NOT_FOUND' || code === 'UNKNOWN_FORMAT' ||
    code === 'ENGINE_CHOICE' || code === 'BENCH_BAD_OPTION' || code.startsWith('BENCH_BASELINE_');
}

/** Options whose value may look like a flag (`--count -1`): joined as `--count=-1`, so the value is checked, not taken for an option. */
const VALUE_OPTIONS = new Set(['--count', '--threshold', '--sport', '--seconds', '--connections']);

const BATCH_HELP = 'Up to 256 frames per vector, cut only before an answer to one in it (faster on large captures; by default each frame runs to completion alone, as the kernel runs each packet: docs/datapath.md)';

/** Value options that may be repeated: several scenario files are merged (docs/scenario.md). */
const REPEATABLE_OPTIONS: ReadonlySet<string> = new Set(['scenario']);
/** Value options whose empty value means something: `--filter ''` is every frame, as for tcpdump. */
const EMPTY_ALLOWED_OPTIONS: ReadonlySet<string> = new Set(['filter']);

function joinNegativeValues(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = argv[i + 1];
    if (VALUE_OPTIONS.has(a) && v !== undefined && /^-\d/.test(v)) {
      out.push(`${a}=${v}`);
      i++;
    } else out.push(a);
  }
  return out;
}

function asList(v: unknown): string[] {
  if (v === undefined || v === null || v === false) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

/** Runs the dpemu CLI; returns the exit code (0 ok, 1 runtime error, 2 bad input or usage). */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  const cli = cac('dpemu');
  let code = 0;
  let ran = false;

  cli
    .command('inspect <file>', 'Summarize a pcap/pcapng capture and print one line per frame (tcpdump -n style)')
    .option('--json', 'One JSON object per frame, keyed by Wireshark display-filter field names')
    .option('--count <n>', 'Stop after N frames')
    .action(async (file: string, o: { json?: boolean; count?: string | number }) => {
      ran = true;
      // Checked here on the text as given: Number('abc') would report NaN, Number('') 0.
      if (o.count !== undefined && !/^\d+$/.test(String(o.count))) {
        io.err(`dpemu inspect: --count must be a non-negative integer, got ${String(o.count)}\n`);
        code = 2;
        return;
      }
      code = await inspectCommand(file, { json: Boolean(o.json), count: o.count === undefined ? undefined : Number(o.count) }, io);
    });

  cli
    .command('replay [capture]', 'Replay a capture through the cluster data path (default: the scenario\'s spec.capture, else the bundled walk)')
    .option('--scenario <file>', 'Scenario YAML (repeatable); default: the bundled reference walk')
    .option('--trace', 'Show every hop: stage, observation point, decision and the rule/route/map entry behind it')
    .option('--json', 'One line per frame (per hop with --trace) in `hubble observe -o jsonpb` format')
    .option('--flows-pb <file>', 'Write the flows --json prints to FILE as protobuf: length-delimited observer.GetFlowsResponse messages (Hubble\'s API)')
    .option('--stats', 'Per-stage counters (show runtime) and drops by reason (show errors)')
    .option('--write-pcaps <dir>', 'Write one pcapng per node, one interface per device, verdicts as comments')
    .option('--at <where>', 'Attach every frame at this pod (ns/name) or node instead of by its sender')
    .option('--dump <what>', 'After the replay print state: ct (each node\'s conntrack table, conntrack -L format)')
    .option('--engine <engine>', 'native (C++ fast path) or ts; default DPEMU_ENGINE, else native when the addon is built')
    .option('--batch', BATCH_HELP)
    .option('--live <interface>', 'Capture live from this interface (libpcap; root or CAP_NET_RAW) instead of a file, until Ctrl-C')
    .option('--filter <expr>', 'With --live: a pcap-filter expression, as tcpdump takes it')
    .option('--count <n>', 'With --live: stop after N frames')
    .option('--seconds <s>', 'With --live: stop after S seconds')
    .action(async (capture: string | undefined, o: Record<string, unknown>) => {
      ran = true;
      const dump = asList(o.dump);
      const badDump = dump.find((d) => d !== 'ct');
      if (badDump !== undefined) {
        io.err(`dpemu replay: --dump takes ct, got ${badDump}\n`);
        code = 2;
        return;
      }
      const live = liveOptions(capture, o, io);
      if (live === null) {
        code = 2;
        return;
      }
      const engine = engineOption(o, io);
      let source: string | LiveCapture;
      let cluster: Cluster;
      if (live) {
        const c = loadClusterOrReport(asList(o.scenario), io);
        if (!c) {
          code = 2;
          return;
        }
        cluster = c;
        source = new LiveCapture(live);
        io.err(`dpemu: capturing on ${live.device}${live.filter ? ` (${live.filter})` : ''}${live.count ? `, ${live.count} frames` : ''}${live.seconds ? `, ${live.seconds} s` : ''}; Ctrl-C stops and prints the totals\n`);
      } else {
        const input = replayInput(capture, o, io);
        if (!input) {
          code = 2;
          return;
        }
        cluster = input.cluster;
        source = input.file;
      }
      // Ctrl-C ends a live capture as --count would: the frames so far finish, then the outputs are written.
      const stopLive = (): void => (source as LiveCapture).stop();
      if (live) process.once('SIGINT', stopLive);
      try {
        code = await replayCommand(source, cluster, {
          engine,
          trace: Boolean(o.trace),
          json: Boolean(o.json),
          flowsPb: typeof o.flowsPb === 'string' ? o.flowsPb : undefined,
          stats: Boolean(o.stats),
          writePcaps: typeof o.writePcaps === 'string' ? o.writePcaps : undefined,
          at: typeof o.at === 'string' ? o.at : undefined,
          dumpCt: dump.includes('ct'),
          batch: Boolean(o.batch),
        }, io);
      } finally {
        if (live) process.off('SIGINT', stopLive);
        // The replay closes its source, unless it returned before reading it (an output path refused): the
        // libpcap handle would keep the process alive.
        if (source instanceof LiveCapture) source.stop();
      }
      if (source instanceof LiveCapture && (source.lost > 0 || source.truncated > 0)) {
        io.err(`dpemu: ${source.lost} frames lost (more than 8,192 arrived while the data path was busy; not replayed)${source.truncated > 0 ? `, ${source.truncated} cut at 65,535 bytes` : ''}\n`);
      }
    });

  cli
    .command('walk', 'Walk one packet (and with --reply its answer) from a pod or node to a Service, pod, node or address, hop by hop, without a capture')
    .option('--scenario <file>', 'Scenario YAML (repeatable); default: the bundled reference walk')
    .option('--from <pod|node>', 'The sender: a pod (name, namespace/name, or a workload\'s name: its first pod) or a node (its own stack)')
    .option('--to <target[:port]>', 'A Service (name, namespace/name or name.namespace.svc.cluster.local), pod or node (name or namespace/name) or an IPv4 address, with an optional port number or port name (default: the Service\'s first port, the pod\'s first container port, else 80)')
    .option('--proto <proto>', 'tcp (a SYN), udp or icmp (an echo request); default: the port\'s protocol, else tcp')
    .option('--sport <port>', 'Source port (ICMP: the echo id); default 40000')
    .option('--reply', 'Also walk the answer of the pod that received it (SYN-ACK, UDP reply, echo reply), to the addresses it saw')
    .option('--brief', 'One line per packet, without the trace')
    .option('--connections <n>', 'Send N requests from --sport, --sport + 1, ... (1 ms apart): where the load balancer (and session affinity) sends each')
    .option('--json', 'Hubble jsonpb lines, as dpemu replay --json')
    .option('--flows-pb <file>', 'Hubble flows as protobuf, as dpemu replay --flows-pb')
    .option('--stats', 'Per-stage counters, as dpemu replay --stats')
    .option('--write-pcaps <dir>', 'One pcapng per node, as dpemu replay --write-pcaps')
    .option('--save <file>', 'Keep the frames sent as a pcapng (dpemu replay FILE walks them again)')
    .option('--engine <engine>', 'native (C++ fast path) or ts; default DPEMU_ENGINE, else native when the addon is built')
    .action(async (o: Record<string, unknown>) => {
      ran = true;
      const bad = (msg: string): void => {
        io.err(`dpemu walk: ${msg}\n`);
        code = 2;
      };
      if (typeof o.from !== 'string' || typeof o.to !== 'string') return bad('--from and --to are required, e.g. --from pod-a --to backend (a Service) or --to 10.96.0.10:53');
      if (o.proto !== undefined && !['tcp', 'udp', 'icmp'].includes(String(o.proto))) return bad(`--proto takes tcp, udp or icmp, got ${String(o.proto)}`);
      if (o.sport !== undefined && (!/^\d+$/.test(String(o.sport)) || Number(o.sport) < 1 || Number(o.sport) > 65535)) return bad(`--sport must be a port 1-65535, got ${String(o.sport)}`);
      const connectionsBad = connectionsProblem(o.connections);
      if (connectionsBad !== undefined) return bad(connectionsBad);
      const cluster = loadClusterOrReport(asList(o.scenario), io);
      if (!cluster) {
        code = 2;
        return;
      }
      const engine = engineOption(o, io);
      code = await walkCommand(cluster, {
        from: o.from,
        to: o.to,
        ...(o.proto === undefined ? {} : { proto: String(o.proto) as WalkProto }),
        ...(o.sport === undefined ? {} : { sport: Number(o.sport) }),
        reply: Boolean(o.reply),
        brief: Boolean(o.brief),
        ...(o.connections === undefined ? {} : { connections: Number(o.connections) }),
        json: Boolean(o.json),
        ...(typeof o.flowsPb === 'string' ? { flowsPb: o.flowsPb } : {}),
        stats: Boolean(o.stats),
        engine,
        ...(typeof o.writePcaps === 'string' ? { writePcaps: o.writePcaps } : {}),
        ...(typeof o.save === 'string' ? { save: o.save } : {}),
      }, io);
    });

  cli
    .command('ct [capture]', 'Replay quietly, then print each node\'s conntrack table as `conntrack -L` does')
    .option('--scenario <file>', 'Scenario YAML (repeatable); default: the bundled reference walk')
    .option('-o, --output <format>', 'extended: as `conntrack -L -o extended` (each line prefixed with the layer-3 protocol, ipv4 2)')
    .option('--batch', BATCH_HELP)
    .option('--engine <engine>', 'native (C++ fast path) or ts, as dpemu replay (the tables are the same)')
    .action(async (capture: string | undefined, o: Record<string, unknown>) => {
      ran = true;
      if (o.output !== undefined && o.output !== 'extended') {
        io.err(`dpemu ct: -o takes extended, got ${String(o.output)}\n`);
        code = 2;
        return;
      }
      const input = replayInput(capture, o, io);
      if (!input) {
        code = 2;
        return;
      }
      const engine = engineOption(o, io);
      code = await replayCommand(input.file, input.cluster, { quiet: true, dumpCt: true, ctExtended: o.output === 'extended', batch: Boolean(o.batch), engine }, io);
    });

  cli
    .command('maps [capture]', 'Replay quietly (needs an eBPF-mode scenario), then print each node\'s maps as the Cilium agent does (bpf lb list, ct list global, policy get, ipcache list)')
    .option('--scenario <file>', 'Scenario YAML (repeatable); needs kubeProxy.mode ebpf, e.g. pcaps/scenarios/ebpf.yaml')
    .option('--node <name>', 'Only this node')
    .option('--engine <engine>', 'native (C++ fast path) or ts, as dpemu replay (the maps are the same)')
    .action(async (capture: string | undefined, o: Record<string, unknown>) => {
      ran = true;
      const input = replayInput(capture, o, io);
      if (!input) {
        code = 2;
        return;
      }
      const engine = engineOption(o, io);
      code = await mapsCommand(input.file, input.cluster, { node: typeof o.node === 'string' ? o.node : undefined, engine }, io);
    });

  cli
    .command('rules', 'Print the iptables rules kube-proxy writes on a node, in iptables-save form')
    .option('--scenario <file>', 'Scenario YAML (repeatable); default: the bundled reference walk')
    .option('--node <name>', 'Node name, or all (default: the first node)')
    .option('--table <table>', 'Only this table: filter or nat')
    .option('--mode <mode>', 'iptables (iptables-save form) or ipvs (ipvsadm -Ln form); default: the scenario\'s kube-proxy mode')
    .option('--policy', 'The NetworkPolicy chains (Calico-style cali-tw-/cali-fw-) the policy stages walk for the node\'s pods, instead of kube-proxy\'s rules')
    .action((o: Record<string, unknown>) => {
      ran = true;
      // Checked whatever the mode: a bad value is exit 2 (docs/cli.md), not ignored because the output has no tables.
      if (o.table !== undefined && o.table !== 'filter' && o.table !== 'nat') {
        io.err(`dpemu rules: --table must be filter or nat, got ${String(o.table)}\n`);
        code = 2;
        return;
      }
      const cluster = loadClusterOrReport(asList(o.scenario), io);
      if (!cluster) {
        code = 2;
        return;
      }
      const node = typeof o.node === 'string' ? o.node : undefined;
      // An option the chosen output does not read would be dropped silently (`--policy --table nat` printed the
      // policy chains of both tables, `--mode ipvs --table nat` every virtual server): say which output takes it.
      const stray = o.policy ? ['table', 'mode'].find((k) => o[k] !== undefined) : undefined;
      if (stray !== undefined) {
        io.err(`dpemu rules: --${stray} applies to kube-proxy's rules, not --policy (the NetworkPolicy chains)\n`);
        code = 2;
        return;
      }
      if (o.policy) {
        code = policyRulesCommand(cluster, { node }, io);
        return;
      }
      const mode = typeof o.mode === 'string' ? o.mode : cluster.kubeProxy.mode;
      if (typeof o.mode !== 'string' && mode === 'ebpf') {
        io.err('dpemu rules: the scenario\'s kubeProxy.mode is ebpf: no kube-proxy rules, Cilium\'s maps instead (dpemu maps); --mode iptables or --mode ipvs prints what kube-proxy would write\n');
        code = 2;
      } else if (mode === 'ipvs' && o.table !== undefined) {
        io.err(`dpemu rules: --table applies to the iptables rules (--mode iptables); ipvs mode prints the virtual servers (ipvsadm -Ln)\n`);
        code = 2;
      } else if (mode === 'ipvs') code = ipvsRulesCommand(cluster, { node }, io);
      else if (mode === 'iptables') code = rulesCommand({ ...cluster, kubeProxy: { ...cluster.kubeProxy, mode: 'iptables' } }, { node, table: o.table as 'filter' | 'nat' | undefined }, io);
      else {
        io.err(`dpemu rules: --mode must be iptables or ipvs, got ${mode} (eBPF mode has maps instead: dpemu maps)\n`);
        code = 2;
      }
    });

  cli
    .command('bench', 'Run the benchmark suite (per-stage ns/packet vs the course budgets, scaling, CPU at 100K packets/s)')
    .option('--quick', 'Smaller sizes, for a smoke run')
    .option('--json <file>', 'Write machine-readable results (benny summaries plus dpemu\'s)')
    .option('--compare <file>', 'Compare with a saved --json run; exit 1 when a stage is slower beyond the threshold')
    .option('--threshold <x>', 'Regression threshold as a fraction slower, after calibration (default 1.0: twice the baseline\'s time)')
    .option('--no-rerun', 'With --compare: do not run the suite a second time to confirm rows flagged as slower')
    .option('--docs', 'Rewrite the generated part of docs/benchmarks.md and docs/bench/*.svg from this run')
    .option('--no-kernel', 'Skip the kernel peer (network namespaces; only runs as root); it runs by default')
    .action(async (o: Record<string, unknown>) => {
      ran = true;
      code = await benchCommand(o, io);
    });

  // cac prints a negated flag's implied default ("--no-kernel ... (default: true)"), which reads as if the
  // kernel peer were skipped by default; the description says what happens.
  cli.help((sections) => sections.map((s) => ({ ...s, body: s.body.replace(/(--no-(?:kernel|rerun) .*?) \(default: true\)/g, '$1') })));
  cli.version(VERSION);
  try {
    const joined = joinNegativeValues(argv);
    cli.parse(['node', 'dpemu', ...joined], { run: false });
    if (cli.options.help || cli.options.version) return 0;
    if (!cli.matchedCommand) {
      if (argv.length > 0) {
        io.err(`dpemu: unknown command "${argv[0]}"; see dpemu --help\n`);
        return 2;
      }
      cli.outputHelp();
      return 0;
    }
    // The values as typed: cac makes `--write-pcaps 2024` a number and `--at a --at b` a list (options.ts).
    normalizeOptionValues(cli.matchedCommand.options, joined, cli.options, { repeatable: REPEATABLE_OPTIONS, emptyAllowed: EMPTY_ALLOWED_OPTIONS });
    await cli.runMatchedCommand();
    return ran ? code : 0;
  } catch (e) {
    if (e instanceof DpemuError) {
      io.err(`dpemu: ${e.message}\n`);
      // A capture error that reaches here came from opening the file (damage found later is reported by the
      // command after its outputs, exit 1): bad input, as `dpemu inspect` says for the same file.
      return e instanceof CaptureFileError || usageCode(e.code) ? 2 : 1;
    }
    if (e instanceof Error && e.name === 'CACError') {
      io.err(`dpemu: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

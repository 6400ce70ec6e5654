/**
 * Option values as the user typed them. cac (through mri) turns every value that looks like a number into one
 * (`--write-pcaps 2024` → 2024, `--at ''` → 0, `--json 007` → 7) and a repeated option into a list, so a command
 * that reads `typeof o.at === 'string'` silently ignored `--write-pcaps 2024`, `--node ''` or `--at a --at b`,
 * and a number check saw `--count ''` as 0. Here every value option of the matched command gets its text back
 * from argv, once; a repeat or an empty value is a usage error naming the option.
 */
import { DpemuError } from '../util/errors.js';

/** A value option given twice, or with an empty value (exit 2). */
export class OptionValueError extends DpemuError {
  constructor(message: string) {
    super('BAD_OPTION_VALUE', message);
  }
}

/** What normalizeOptionValues needs of a cac option. */
export interface ValueOptionSpec {
  readonly rawName: string;
  readonly names: readonly string[];
  readonly isBoolean?: boolean;
}

export interface OptionRules {
  /** Options that may be given several times (camelCase name, e.g. `scenario`): their values stay a list. */
  readonly repeatable: ReadonlySet<string>;
  /** Options whose empty value means something (`--filter ''`: every frame, as tcpdump takes it). */
  readonly emptyAllowed: ReadonlySet<string>;
}

/** The flags an option is written with: `-o, --output <format>` → ['-o', '--output']. */
function flagsOf(rawName: string): string[] {
  return rawName
    .replace(/[<[].*$/, '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.startsWith('-'));
}

/**
 * The values given for one option, as text, in argv order. Follows mri's reading: `--x=V`, or `--x V` when V
 * does not start with '-' (else the option has no value and cac reports it missing); nothing after `--`.
 */
export function rawOptionValues(argv: readonly string[], flags: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    if (!a.startsWith('-')) continue;
    const eq = a.indexOf('=');
    const flag = eq < 0 ? a : a.slice(0, eq);
    if (!flags.includes(flag)) continue;
    const inline = eq < 0 ? '' : a.slice(eq + 1);
    if (inline !== '') out.push(inline);
    else if (i + 1 < argv.length && !argv[i + 1]!.startsWith('-')) out.push(argv[++i]!);
  }
  return out;
}

/**
 * Puts the typed text of every value option of `options` (cac's parsed options, changed in place) back:
 * a string, or a list of strings for a repeatable option. Throws OptionValueError for a repeat or an empty value.
 */
export function normalizeOptionValues(
  specs: readonly ValueOptionSpec[],
  argv: readonly string[],
  options: Record<string, unknown>,
  rules: OptionRules,
): void {
  const end = argv.indexOf('--'); // nothing after `--` is an option
  const optionArgs = end < 0 ? argv : argv.slice(0, end);
  for (const spec of specs) {
    if (spec.isBoolean) {
      // mri reads `--trace=yes` as --trace plus a positional "yes" (which then became the capture's name).
      for (const flag of flagsOf(spec.rawName)) {
        const given = optionArgs.find((a) => a.startsWith(`${flag}=`) && !['true', 'false'].includes(a.slice(flag.length + 1)));
        if (given !== undefined) throw new OptionValueError(`${flag} takes no value, got ${JSON.stringify(given.slice(flag.length + 1))}; write ${flag} alone`);
      }
      continue;
    }
    const flags = flagsOf(spec.rawName);
    const long = flags.find((f) => f.startsWith('--')) ?? flags[0]!;
    const values = rawOptionValues(argv, flags);
    if (values.length === 0) continue; // not given, or given without a value: cac reports that
    const repeatable = spec.names.some((n) => rules.repeatable.has(n));
    if (!repeatable && values.length > 1) {
      throw new OptionValueError(`${long} was given ${values.length} times (${values.map((v) => JSON.stringify(v)).join(', ')}); give it once`);
    }
    if (values.includes('') && !spec.names.some((n) => rules.emptyAllowed.has(n))) {
      throw new OptionValueError(`${long} needs a value, got an empty string`);
    }
    for (const n of spec.names) options[n] = repeatable ? values : values[0];
  }
}

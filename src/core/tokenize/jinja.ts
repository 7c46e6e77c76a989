/**
 * Chat templates as transformers renders them (Python's jinja2), through @huggingface/jinja with one correction kept
 * here and nowhere else (docs/ARCHITECTURE.md, "Metric conventions"; README, "Libraries, and why"):
 *
 * @huggingface/jinja (through 0.5.13) implements the string methods `strip`, `lstrip` and `rstrip` with JavaScript's
 * trim, trimStart and trimEnd: their `chars` argument is ignored, and the whitespace they trim is JavaScript's, not
 * Python's (JavaScript trims U+FEFF, which Python keeps; Python strips U+001C–U+001F and U+0085, which JavaScript
 * keeps). The `trim` filter has the same whitespace difference and ignores jinja2's `chars`. Qwen3's template renders
 * the last assistant turn as `content.lstrip('\n')`, so a response that starts with a space lost it (" Sure." became
 * `Sure` instead of ` Sure`). The same bug was fixed in swift-jinja (huggingface/swift-jinja#64, #65).
 *
 * The library's classes for string values and functions are not exported; they are taken from values it makes itself
 * (an Environment's variables), and the three methods and the filter are replaced by Python's semantics.
 *
 * Rendering is also bounded, since a template comes with a model folder and a record with a dataset (issue #24): at
 * most MAX_TEMPLATE_STEPS evaluations per rendering (a template that loops 10⁸ times, or a record of 10⁶ messages, is
 * an error for that record, not minutes of work), `range()` of at most MAX_RANGE numbers (the library builds the
 * whole list first) and no string over MAX_TEMPLATE_CHARS (a string doubled in a loop).
 */
import { Environment, Interpreter, Template } from '@huggingface/jinja';

export { Template };

/** Python's str.isspace(): Unicode White_Space characters of bidi class WS, B or S, or category Zs. */
const PY_SPACE = new Set<number>([
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008,
  0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
]);

/**
 * Python's str.strip / lstrip / rstrip: `chars` null strips whitespace as Python defines it; a string strips any of
 * its characters (code points, not UTF-16 units) from the chosen ends.
 */
export function pyStrip(s: string, chars: string | null, left: boolean, right: boolean): string {
  const set = chars === null ? PY_SPACE : new Set(Array.from(chars, (c) => c.codePointAt(0) as number));
  const cps = Array.from(s);
  let a = 0;
  let b = cps.length;
  if (left) while (a < b && set.has(cps[a].codePointAt(0) as number)) a++;
  if (right) while (b > a && set.has(cps[b - 1].codePointAt(0) as number)) b--;
  return a === 0 && b === cps.length ? s : cps.slice(a, b).join('');
}

/** A runtime value of the library, as far as this module needs it. */
interface Value {
  type: string;
  value: unknown;
}
type StringValueClass = new (s: string) => Value;
type FunctionValueClass = new (f: (args: Value[]) => Value) => Value;

/** The `chars` argument of strip/lstrip/rstrip/trim: none, none (null/undefined), or a string. */
function charsOf(args: Value[], what: string): string | null {
  const a = args[0];
  if (a === undefined || a.type === 'NullValue' || a.type === 'UndefinedValue') return null;
  if (a.type === 'StringValue') return a.value as string;
  throw new Error(`${what} arg must be None or str`);
}

/** Evaluations one rendering may take: ~3 s at the library's speed, ~30,000 messages through a real template. */
export const MAX_TEMPLATE_STEPS = 1_000_000;
/** The longest list `range()` may make. */
export const MAX_RANGE = 100_000;
/** The longest string a rendering may make (UTF-16 units): twice the longest record (jsonl/reader.ts MAX_RECORD_BYTES). */
export const MAX_TEMPLATE_CHARS = 1 << 27;

/** Python's range(), bounded. */
function boundedRange(start: number, stop?: number, step = 1): number[] {
  if (stop === undefined) {
    stop = start;
    start = 0;
  }
  if (step === 0) throw new Error('range() step must not be zero');
  const n = Math.max(0, Math.ceil((stop - start) / step));
  if (!(n <= MAX_RANGE)) throw new Error(`range() of ${n} numbers is over PrefLens' limit of ${MAX_RANGE} for chat templates`);
  return Array.from({ length: n }, (_, i) => start + i * step);
}

let patched = false;

/** Replaces the library's strip, lstrip, rstrip and trim by Python's (once per process). */
export function patchJinja(): void {
  if (patched) return;
  patched = true;
  const sample = new Environment().set('s', '') as unknown as Value & { builtins: Map<string, unknown> };
  const StringValue = sample.constructor as StringValueClass;
  const FunctionValue = (sample.builtins.get('upper') as object).constructor as FunctionValueClass;
  const proto = Object.getPrototypeOf(sample) as object;
  const getter = Object.getOwnPropertyDescriptor(proto, 'builtins')?.get;
  if (!getter) throw new Error('@huggingface/jinja: StringValue.builtins is no longer a getter: the strip patch (tokenize/jinja.ts) must be revisited');
  const done = new WeakSet<Map<string, unknown>>();
  Object.defineProperty(proto, 'builtins', {
    configurable: true,
    get(this: Value) {
      const map = getter.call(this) as Map<string, unknown>;
      if (!done.has(map)) {
        done.add(map);
        const s = this.value as string;
        map.set('strip', new FunctionValue((args) => new StringValue(pyStrip(s, charsOf(args, 'strip'), true, true))));
        map.set('lstrip', new FunctionValue((args) => new StringValue(pyStrip(s, charsOf(args, 'lstrip'), true, false))));
        map.set('rstrip', new FunctionValue((args) => new StringValue(pyStrip(s, charsOf(args, 'rstrip'), false, true))));
      }
      return map;
    },
  });
  // jinja2's trim filter: value.strip(chars), chars None by default
  type Node = { type: string; value?: unknown; callee?: Node; args?: Node[] };
  const ip = Interpreter.prototype as unknown as {
    applyFilter(operand: Value, filter: Node, env: unknown): Value;
    evaluate(node: Node, env: unknown): Value;
  };
  // a budget of evaluations per rendering (one Interpreter per render)
  const steps = new WeakMap<object, number>();
  const evaluate = ip.evaluate;
  ip.evaluate = function (this: typeof ip, node: Node, env: unknown): Value {
    const n = (steps.get(this) ?? 0) + 1;
    steps.set(this, n);
    if (n > MAX_TEMPLATE_STEPS) throw new Error(`the chat template took more than ${MAX_TEMPLATE_STEPS.toLocaleString('en-US')} steps to render this record (a loop that does not end, or a record far too long): stopped`);
    const v = evaluate.call(this, node, env);
    // a string doubled in a loop reaches V8's limit in 30 steps: stopped long before
    if (v?.type === 'StringValue' && typeof v.value === 'string' && v.value.length > MAX_TEMPLATE_CHARS)
      throw new Error(`the chat template made a text of ${v.value.length.toLocaleString('en-US')} characters, over PrefLens' limit of ${MAX_TEMPLATE_CHARS.toLocaleString('en-US')}: stopped`);
    return v;
  };
  // range() bounded (setupGlobals declares it in every rendering's environment)
  const ep = Environment.prototype as unknown as { set(name: string, value: unknown): unknown };
  const set = ep.set;
  ep.set = function (this: unknown, name: string, value: unknown): unknown {
    return set.call(this, name, name === 'range' && typeof value === 'function' ? boundedRange : value);
  };
  const applyFilter = ip.applyFilter;
  ip.applyFilter = function (this: typeof ip, operand: Value, filter: Node, env: unknown): Value {
    if (operand?.type === 'StringValue') {
      if (filter.type === 'Identifier' && filter.value === 'trim') return new StringValue(pyStrip(operand.value as string, null, true, true));
      if (filter.type === 'CallExpression' && filter.callee?.type === 'Identifier' && filter.callee.value === 'trim') {
        const args = (filter.args ?? []).map((a) => this.evaluate(a, env));
        return new StringValue(pyStrip(operand.value as string, charsOf(args, 'trim'), true, true));
      }
    }
    return applyFilter.call(this, operand, filter, env);
  };
}

patchJinja();

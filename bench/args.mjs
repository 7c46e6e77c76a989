// Command-line options shared by the benchmarks: `--name value` and sizes such as 1g, 100m, 500k.
const argv = process.argv.slice(2);

/** The value after `--name`, else `dflt`. */
export function opt(name, dflt) {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
}

export const flag = (name) => argv.includes(`--${name}`);

/** Bytes from "1g", "100m", "500k" or a number. */
export function parseSize(s) {
  const m = /^(\d+(?:\.\d+)?)([kmg]?)$/i.exec(s);
  if (!m) throw new Error(`bad size ${s}`);
  return Math.round(Number(m[1]) * { '': 1, k: 1e3, m: 1e6, g: 1e9 }[m[2].toLowerCase()]);
}

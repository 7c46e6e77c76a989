// Preloaded (node --require bench/peak-rss.cjs …) by benchmarks that measure a child's peak RSS: prints this
// process's own high-water mark (VmHWM; getrusage's maxRSS carries the parent's across fork and exec) at exit.
const { readFileSync } = require('node:fs');
process.on('exit', () => {
  const kb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]);
  process.stderr.write(`\npeak_rss_mb ${(kb / 1024).toFixed(1)}\n`);
});

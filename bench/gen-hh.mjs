// Writes a deterministic HH-style JSONL file of about the requested size (bytes), for bench/scan.
// Same seed, same bytes: runs are comparable. Includes the quirks the checks look for, at low rates.
import { createWriteStream } from 'node:fs';

const WORDS = ('the a to of and in is you that it for i on with as are be this was have not but what can do your they ' +
  'how about would like there if so my me just know think want some could people one get help make good way time ' +
  'really sure sorry understand ask question answer mean right thing things said tell more also because well okay').split(' ');
const CURLY = ['’', '“', '”', '—', 'é'];

export function generate(path, bytes, seed = 42, scale = 1) {
  let s = seed >>> 0;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  const sentence = (n) => {
    const w = [];
    for (let i = 0; i < n; i++) w.push(WORDS[Math.floor(rnd() * WORDS.length)] + (rnd() < 0.02 ? CURLY[Math.floor(rnd() * CURLY.length)] : ''));
    const t = w.join(' ');
    return t[0].toUpperCase() + t.slice(1) + (rnd() < 0.2 ? '?' : '.');
  };
  const para = (k) => Array.from({ length: Math.max(1, Math.round(k * scale)) }, () => sentence(5 + Math.floor(rnd() * 20))).join(' ');
  return new Promise((resolve, reject) => {
    const out = createWriteStream(path);
    out.on('error', reject);
    let written = 0;
    let records = 0;
    let prev = null;
    const write = () => {
      let ok = true;
      while (written < bytes && ok) {
        let line;
        if (prev && rnd() < 0.002) line = prev; // exact duplicate
        else {
          const turns = 1 + Math.floor(rnd() * 3);
          let prompt = '';
          for (let t = 0; t < turns; t++) prompt += `\n\nHuman: ${para(1 + Math.floor(rnd() * 2))}\n\nAssistant:` + (t < turns - 1 ? ` ${para(1 + Math.floor(rnd() * 3))}` : '');
          const c = ` ${para(1 + Math.floor(rnd() * 4))}`;
          const r = rnd() < 0.003 ? c : rnd() < 0.01 ? c.replace(/\.$/, '!') : ` ${para(1 + Math.floor(rnd() * 4))}`;
          line = JSON.stringify({ chosen: prompt + c, rejected: prompt + r }) + '\n';
        }
        prev = line;
        written += Buffer.byteLength(line);
        records++;
        ok = out.write(line);
      }
      if (written >= bytes) out.end(() => resolve({ bytes: written, records }));
      else out.once('drain', write);
    };
    write();
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [path, size] = process.argv.slice(2);
  generate(path, Number(size ?? 100e6)).then((r) => console.log(JSON.stringify(r)));
}

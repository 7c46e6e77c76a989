/**
 * Which format a file is in (docs/ARCHITECTURE.md, "Formats"): the one rule, for every kind of file. A record's
 * format comes from its keys (formatOfRecord); a file's is the majority of its first 64 records that have one
 * (formatOfSample), ties going to the format listed first in types.ts FORMAT_NAMES. The readers supply the sample:
 * JSON Lines and JSON arrays (jsonl/reader.ts firstValues), Parquet rows (parquet/rowLines.ts parquetSample); the
 * file-level entry is scan/detect.ts detectFormat.
 */
import { FORMAT_NAMES, type FormatName } from '../types.js';
import { hasAll, HH_ASSISTANT, isMessageList, isObj, isStr } from './normalize.js';

/** Guesses the format of one parsed record; null when it fits none. */
export function formatOfRecord(v: unknown): FormatName | null {
  if (!isObj(v)) return null;
  if ('message_tree_id' in v && isObj(v.prompt)) return 'ranked';
  if ('conversations' in v && ('chosen' in v || 'rejected' in v)) return 'sharegpt';
  if ('chosen_messages' in v || 'rejected_messages' in v) return 'sharegpt';
  if (('messages' in v || 'conversations' in v) && 'kto_tag' in v) return 'kto';
  if ('messages' in v && 'label' in v) return 'kto';
  if ('completion' in v && 'label' in v) return 'kto';
  if ('conversations' in v && 'label' in v) return 'kto';
  if (hasAll(v, ['output_1', 'output_2']) || hasAll(v, ['response_j', 'response_k'])) return 'pairwise-index';
  if (hasAll(v, ['human_ref_A', 'human_ref_B']) || hasAll(v, ['response_0', 'response_1'])) return 'pairwise-index';
  if ('prompt' in v && 'completions' in v && 'labels' in v && !('rewards' in v)) return 'stepwise';
  if ('completions' in v || 'answers' in v || 'responses' in v) {
    const list = v.completions ?? v.answers ?? v.responses;
    const hasRewardCols = Object.keys(v).some((k) => /^rewards?(_|$)/.test(k));
    if (hasRewardCols) return 'group';
    if (Array.isArray(list) && list.some((c) => isObj(c))) return 'ranked';
    if ('ranks' in v || 'scores' in v) return 'ranked';
    return 'group';
  }
  if ('instruction' in v && 'chosen' in v && 'rejected' in v) return 'alpaca';
  if ('chosen' in v && 'rejected' in v) {
    if (isMessageList(v.chosen) || isMessageList(v.rejected) || isMessageList(v.prompt)) return 'trl-conversational';
    if (!('prompt' in v) && isStr(v.chosen) && v.chosen.includes(HH_ASSISTANT)) return 'hh';
    return 'trl-standard';
  }
  if ('prompt' in v && 'completion' in v && !('label' in v) && !('kto_tag' in v)) return 'prompt-completion';
  // Only a prompt (no key of any other format): a row of another format with a missing field stays an error.
  if ('prompt' in v && !['chosen', 'rejected', 'completion', 'completions', 'label', 'kto_tag', 'responses', 'answers', 'labels'].some((k) => k in v)) return 'prompt-only';
  return null;
}

export interface FormatVotes {
  format: FormatName | null;
  /** Records of the sample per format. */
  votes: Partial<Record<FormatName, number>>;
}

/** The majority format of the first `sample` records that have one, looking at no more than 16 × `sample` values. */
export function formatOfSample(values: Iterable<unknown>, sample = 64): FormatVotes {
  const votes: Partial<Record<FormatName, number>> = {};
  let seen = 0;
  let looked = 0;
  for (const v of values) {
    if (seen >= sample || looked > sample * 16) break;
    looked++;
    const f = formatOfRecord(v);
    if (f) {
      votes[f] = (votes[f] ?? 0) + 1;
      seen++;
    }
  }
  let best: FormatName | null = null;
  for (const f of FORMAT_NAMES) if ((votes[f] ?? 0) > (best ? (votes[best] ?? 0) : 0)) best = f;
  return { format: best, votes };
}

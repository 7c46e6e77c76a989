/** A run's checkpoints (`checkpoint-N/` folders) and the models PrefLens can open among them. */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Checkpoint, RunInfo } from './types.js';

export function checkpoints(dir: string): Checkpoint[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((n) => /^checkpoint-(\d+)$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null && statSync(join(dir, m[0])).isDirectory())
    .map((m) => {
      const p = join(dir, m[0]);
      const safetensors = existsSync(join(p, 'model.safetensors')) || existsSync(join(p, 'model.safetensors.index.json'));
      return { step: Number(m[1]), path: p, hasOnnx: existsSync(join(p, 'model.onnx')), hasSafetensors: safetensors, hasAdapter: existsSync(join(p, 'adapter_config.json')) };
    })
    .sort((a, b) => a.step - b.step);
}

/** A folder PrefLens can open as a model (engine/folder.ts): an ONNX export, a safetensors checkpoint or an adapter. */
export function isModelFolder(dir: string): boolean {
  return ['model.onnx', 'model.safetensors', 'model.safetensors.index.json', 'adapter_config.json'].some((f) => existsSync(join(dir, f)));
}

/** Checkpoints with a model (ONNX, safetensors or adapter), then the final policy at the run's root (as step = the run's last step). */
export function runModels(run: Pick<RunInfo, 'dir' | 'steps' | 'checkpoints'>): Array<{ step: number; dir: string }> {
  const out = run.checkpoints.filter((c) => c.hasOnnx || c.hasSafetensors || c.hasAdapter).map((c) => ({ step: c.step, dir: c.path }));
  if (isModelFolder(run.dir)) out.push({ step: Math.max(run.steps, (out.at(-1)?.step ?? 0) + 1), dir: run.dir });
  return out;
}

/**
 * The model of a step among a run's models (runModels): the checkpoint at the step when it has one, else the latest
 * before it, else the latest of all (the final model); null when there is none.
 */
export function modelAtStep(models: ReadonlyArray<{ step: number; dir: string }>, step: number): { dir: string; step: number } | null {
  const at = models.filter((m) => m.step <= step).at(-1) ?? models.at(-1);
  return at ? { dir: at.dir, step: at.step } : null;
}

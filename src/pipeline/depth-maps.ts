import { stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { PlanSource } from './plan.js';
import { RecipeError, type DepthSpec } from './recipe.js';
import { fingerprint } from './sources.js';

/**
 * Pairing sources with their depth maps: the map of `<source folder>/a/b/photo.jpg` is `<depth dir>/a/b/photo.png`
 * (same relative path, same stem). Each map found is fingerprinted like a source, so the plan (and a resume)
 * depends on its content; a source without one keeps the estimate, and `missing` says so.
 */
export function depthMapPath(dir: string, rel: string): string {
  const ext = posix.extname(rel);
  return join(dir, ...`${ext ? rel.slice(0, -ext.length) : rel}.png`.split('/'));
}

export async function attachDepthMaps(
  sources: readonly PlanSource[],
  spec: DepthSpec,
  missing: (source: PlanSource, message: string) => void,
): Promise<PlanSource[]> {
  let st;
  try {
    st = await stat(spec.dir);
  } catch {
    st = null;
  }
  if (!st?.isDirectory()) throw new RecipeError(`depth map folder ${spec.dir} does not exist or is not a folder`);
  return Promise.all(
    sources.map(async (s) => {
      const path = depthMapPath(spec.dir, s.rel);
      try {
        return { ...s, depth: { path, sha256: await fingerprint(path), kind: spec.kind } };
      } catch (err) {
        const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : (err as Error).message;
        missing(s, `no depth map ${path} (${why}); its samples use the depth estimate`);
        return s;
      }
    }),
  );
}

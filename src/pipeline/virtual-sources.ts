import { createHash } from 'node:crypto';
import { collectionsInUse } from './discover.js';
import type { PlanSource } from './plan.js';
import { RecipeError, type Recipe } from './recipe.js';

/**
 * Stand-ins for a recipe's collections (`uirgen plan --virtual-sources`): each collection as its
 * published number of images, all of its typical size, with made-up content hashes. A plan over
 * them has the real plan's shape (samples per type, level, split and shard; sources per
 * collection) without a single photo on disk; its keys, seeds and crops are not those of any real
 * folder, so such a plan is for inspection, never for rendering (synthesize refuses it).
 */

export const VIRTUAL_PREFIX = 'virtual:';

/** The virtual sources of the collections the recipe's types draw from, in collection order. */
export function virtualSources(recipe: Recipe): PlanSource[] {
  if (!recipe.collections) {
    throw new RecipeError('--virtual-sources stands in for a recipe\'s collections, and this recipe names none (see manifests/uir-2.5m.json)');
  }
  const out: PlanSource[] = [];
  for (const name of collectionsInUse(recipe)) {
    const c = recipe.collections[name];
    const digits = String(c.images - 1).length;
    for (let i = 0; i < c.images; i++) {
      const n = String(i).padStart(Math.max(6, digits), '0');
      const sha256 = createHash('sha256').update(`uirgen virtual source\u0000${name}\u0000${i}`).digest('hex');
      out.push({ sha256, path: `${VIRTUAL_PREFIX}${name}/${n}`, rel: `${name}/virtual-${n}`, width: c.width, height: c.height, collection: name });
    }
  }
  return out;
}

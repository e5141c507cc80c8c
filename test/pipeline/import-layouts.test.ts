import { describe, expect, it } from 'vitest';
import { IMPORT_LAYOUT_NAMES, IMPORT_LAYOUTS, importCommand } from '../../src/pipeline/import-layouts.js';
import { matchPairs } from '../../src/pipeline/pairs.js';

describe('import layouts', () => {
  it.each(IMPORT_LAYOUT_NAMES)('%s: import pairs its example by name', (name) => {
    const { example, folders } = IMPORT_LAYOUTS[name];
    const lqRoot = '/d/lq';
    const gtRoot = folders === 'same' ? lqRoot : '/d/gt';
    const lq = `${lqRoot}/${example.lq}`;
    const gt = `${gtRoot}/${example.gt}`;
    const files = folders === 'same' ? [lq, gt] : null;
    const match = matchPairs(lqRoot, files ?? [lq], gtRoot, files ?? [gt]);
    expect(match.pairs).toEqual([{ lq, gt, lqRel: example.lq, gtRel: example.gt }]);
    expect(match.unmatchedLq).toEqual([]);
  });

  it('writes the import command a recipe entry asks for', () => {
    expect(importCommand({ type: 'RN', real: true, layout: 'sidd', datasets: ['SIDD'] })).toBe(
      'uirgen import --type RN --real --lq SIDD_DIR --gt SIDD_DIR --out DS',
    );
    expect(importCommand({ type: 'H', real: false, layout: 'reside', datasets: ['RESIDE-β'] }, 'out')).toBe(
      'uirgen import --type H --lq RESIDE_DIR/DEGRADED --gt RESIDE_DIR/CLEAN --out out',
    );
  });
});

import { describe, expect, it } from 'vitest';
import { classify, matchPairs } from '../../src/pipeline/pairs.js';

/** Match a list of relative names (no files needed): returns relative paths. */
function match(lq: string[], gt: string[], same = false) {
  const lqRoot = '/data/lq';
  const gtRoot = same ? lqRoot : '/data/gt';
  const abs = (r: string, xs: string[]) => xs.map((x) => `${r}/${x}`);
  const strip = (p: string) => p.replace(/^\/data\/(lq|gt)\//, '');
  const m = matchPairs(lqRoot, abs(lqRoot, lq), gtRoot, abs(gtRoot, gt));
  return {
    pairs: m.pairs.map((p) => [strip(p.lq), strip(p.gt)]),
    unmatchedLq: m.unmatchedLq.map(strip),
    unmatchedGt: m.unmatchedGt.map(strip),
    ambiguous: m.ambiguous.map((a) => strip(a.lq)),
    ignored: m.ignored.map(strip),
  };
}

describe('matchPairs', () => {
  it('pairs same stems in parallel folders, ignoring extension and case (GoPro, LOL, SIDD-like)', () => {
    const m = match(['a/000001.png', 'a/000002.PNG', 'b/x.jpg', 'only-lq.png'], ['a/000001.png', 'a/000002.png', 'b/X.png', 'only-gt.png']);
    expect(m.pairs).toEqual([
      ['a/000001.png', 'a/000001.png'],
      ['a/000002.PNG', 'a/000002.png'],
      ['b/x.jpg', 'b/X.png'],
    ]);
    expect(m.unmatchedLq).toEqual(['only-lq.png']);
    expect(m.unmatchedGt).toEqual(['only-gt.png']);
  });

  it('maps RESIDE/SOTS hazy names to their clear image, several hazes to one clear', () => {
    const m = match(
      ['0001_0.8_0.2.jpg', '0001_0.9_0.16.jpg', '0002_1_0.04.jpg', '1400_10_0.90179.png', '0099_0.8_0.2.jpg'],
      ['0001.png', '0002.png', '1400.png', '0003.png'],
    );
    expect(m.pairs).toEqual([
      ['0001_0.8_0.2.jpg', '0001.png'],
      ['0001_0.9_0.16.jpg', '0001.png'],
      ['0002_1_0.04.jpg', '0002.png'],
      ['1400_10_0.90179.png', '1400.png'],
    ]);
    expect(m.unmatchedLq).toEqual(['0099_0.8_0.2.jpg']);
    expect(m.unmatchedGt).toEqual(['0003.png']);
  });

  it('reads Rain100L rain-/norain- names from one folder, with x2 variants and auxiliary maps', () => {
    const files = ['norain-001.png', 'norain-002.png', 'norain-004x2.png', 'rain-001.png', 'rain-002.png', 'rain-003.png', 'rain-004x2.png', 'rain-x2-002.png', 'rainregion-001.png', 'rainstreak-001.png'];
    const m = match(files, files, true);
    expect(m.pairs).toEqual([
      ['rain-001.png', 'norain-001.png'],
      ['rain-002.png', 'norain-002.png'],
      ['rain-004x2.png', 'norain-004x2.png'],
      ['rain-x2-002.png', 'norain-002.png'],
    ]);
    expect(m.unmatchedLq).toEqual(['rain-003.png']);
    expect(m.unmatchedGt).toEqual([]);
    expect(m.ignored).toEqual(['rainregion-001.png', 'rainstreak-001.png']);
  });

  it('pairs SIDD NOISY/GT files inside scene folders, and GoPro blur/sharp and LOL-v2 names in one tree', () => {
    const sidd = ['0001_001_S6/0001_NOISY_SRGB_010.PNG', '0001_001_S6/0001_GT_SRGB_010.PNG', '0002_001_S6/0002_GT_SRGB_011.PNG', '0002_001_S6/0002_NOISY_SRGB_011.PNG', '0002_001_S6/0002_NOISY_SRGB_012.PNG'];
    const m = match(sidd, sidd, true);
    expect(m.pairs).toEqual([
      ['0001_001_S6/0001_NOISY_SRGB_010.PNG', '0001_001_S6/0001_GT_SRGB_010.PNG'],
      ['0002_001_S6/0002_NOISY_SRGB_011.PNG', '0002_001_S6/0002_GT_SRGB_011.PNG'],
    ]);
    expect(m.unmatchedLq).toEqual(['0002_001_S6/0002_NOISY_SRGB_012.PNG']);
    expect(m.unmatchedGt).toEqual([]);

    const gopro = ['GOPR0384_11_00/blur/000001.png', 'GOPR0384_11_00/sharp/000001.png', 'GOPR0385_11_01/blur/000001.png', 'GOPR0385_11_01/sharp/000001.png'];
    expect(match(gopro, gopro, true).pairs).toEqual([
      ['GOPR0384_11_00/blur/000001.png', 'GOPR0384_11_00/sharp/000001.png'],
      ['GOPR0385_11_01/blur/000001.png', 'GOPR0385_11_01/sharp/000001.png'],
    ]);
    expect(match(['low00001.png', 'low00002.png'], ['normal00001.png', 'normal00003.png']).pairs).toEqual([['low00001.png', 'normal00001.png']]);
  });

  it('falls back to looser keys (zero padding, different folder shapes) only when no exact key matches', () => {
    expect(match(['rain-01.png', 'rain-1.png'], ['norain-1.png']).pairs).toEqual([
      ['rain-01.png', 'norain-1.png'],
      ['rain-1.png', 'norain-1.png'],
    ]);
    expect(match(['set/img7.png'], ['img7.png']).pairs).toEqual([['set/img7.png', 'img7.png']]);
    const amb = match(['x/a.png'], ['y/a.png', 'z/a.png']);
    expect(amb.pairs).toEqual([]);
    expect(amb.ambiguous).toEqual(['x/a.png']);
    // A file in a folder shared by both halves never pairs with itself.
    expect(match(['plain.png'], ['plain.png'], true)).toMatchObject({ pairs: [], unmatchedLq: ['plain.png'], unmatchedGt: ['plain.png'] });
  });

  it('classifies roles from folder names and stems', () => {
    expect(classify('/r', '/r/GOPR1/blur/1.png')).toMatchObject({ role: 'lq', marker: 'blur', keys: ['gopr1/1'] });
    expect(classify('/r', '/r/norain-5.png')).toMatchObject({ role: 'gt', marker: 'rain100', keys: ['norain-5', '5'] });
    expect(classify('/r', '/r/0001_0.8_0.2.jpg')).toMatchObject({ role: null, marker: 'reside', keys: ['0001_0.8_0.2', '0001'] });
    // The file name's convention outranks the folder's: Rain100L kept as input/rain-1.png.
    expect(classify('/r', '/r/input/rain-1.png')).toMatchObject({ role: 'lq', marker: 'rain100' });
    expect(classify('/r', '/r/hazy/0001_0.8_0.2.jpg')).toMatchObject({ role: 'lq', marker: 'hazy' });
    expect(classify('/r', '/r/photo.png')).toMatchObject({ role: null, marker: null });
  });
});

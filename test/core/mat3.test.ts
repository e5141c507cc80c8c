import { describe, expect, it } from 'vitest';
import { mat3Inverse, mat3Multiply, mat3Project } from '../../src/core/mat3.js';

describe('mat3', () => {
  const m = [2, 0.5, -1, 0.25, 3, 0.5, 0.01, -0.02, 1];
  it('multiplies row-major matrices', () => {
    expect(mat3Multiply([1, 2, 3, 4, 5, 6, 7, 8, 9], [9, 8, 7, 6, 5, 4, 3, 2, 1])).toEqual([30, 24, 18, 84, 69, 54, 138, 114, 90]);
  });
  it('inverts: m * inverse(m) = identity', () => {
    const id = mat3Multiply(m, mat3Inverse(m));
    id.forEach((v, i) => expect(v).toBeCloseTo(i % 4 === 0 ? 1 : 0, 12));
  });
  it('names the matrix when it is singular', () => {
    expect(() => mat3Inverse([1, 2, 3, 2, 4, 6, 0, 0, 1], 'the warp')).toThrow(/the warp is singular/);
  });
  it('projects points through a homography and back', () => {
    const [x, y] = mat3Project(m, 10, 20);
    const [u, v] = mat3Project(mat3Inverse(m), x, y);
    expect(u).toBeCloseTo(10, 9);
    expect(v).toBeCloseTo(20, 9);
  });
});

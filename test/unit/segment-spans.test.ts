// The ids a project may take from the shared ranges: those ranges without other projects' ranges.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { subtractSpans } from '../../src/plugins/ml2/type-drivers.js';

const r = (min: number, max: number, physnet = '') => ({ physnet, min, max });

describe('subtractSpans', () => {
  it('cuts other ranges out of the middle, the ends, or all of a range', () => {
    assert.deepEqual(subtractSpans([r(1, 100)], [r(10, 19), r(50, 59)]), [r(1, 9), r(20, 49), r(60, 100)]);
    assert.deepEqual(subtractSpans([r(1, 100)], [r(1, 10), r(90, 120)]), [r(11, 89)]);
    assert.deepEqual(subtractSpans([r(5, 6)], [r(1, 100)]), []);
    assert.deepEqual(subtractSpans([r(1, 10), r(20, 30)], [r(8, 22)]), [r(1, 7), r(23, 30)]);
  });
  it('leaves ranges of other physical networks and disjoint ones alone', () => {
    assert.deepEqual(subtractSpans([r(100, 199, 'physnet1')], [r(100, 199, 'physnet2'), r(300, 400, 'physnet1')]), [r(100, 199, 'physnet1')]);
    assert.deepEqual(subtractSpans([], [r(1, 2)]), []);
  });
});

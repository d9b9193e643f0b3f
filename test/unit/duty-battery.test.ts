/** Battery forecast at shift start (agent/duty/battery-forecast.ts): pure numbers. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expectedDutyS, forecastBattery } from '../../agent/duty/battery-forecast.js';

void test('battery forecast: a runtime shorter than the duty will not last, by the difference', () => {
  assert.deepEqual(forecastBattery(348, 12 * 3600), { lasts: false, runtimeS: 20_880, expectedS: 43_200, shortS: 22_320 });
});

void test('battery forecast: a runtime at least the duty lasts', () => {
  assert.deepEqual(forecastBattery(720, 12 * 3600), { lasts: true, runtimeS: 43_200, expectedS: 43_200, shortS: 0 });
});

void test('battery forecast: no runtime estimate (charging, no gauge) is unknown, never a warning', () => {
  assert.equal(forecastBattery(null, 3600).lasts, null);
  assert.equal(forecastBattery(undefined, 3600).lasts, null);
});

void test('expected duty: the duty window end when it is ahead, else the policy shift length', () => {
  assert.equal(expectedDutyS(1_000, 3_601_000, 12), 3600);
  assert.equal(expectedDutyS(5_000, 4_000, 12), 43_200, 'a window already over falls back to the policy');
  assert.equal(expectedDutyS(0, null, 0.5), 1800);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildPermissionsPolicy } from '@harden/core';

const ALL_OFF =
  'accelerometer=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), hid=(), idle-detection=(), local-fonts=(), magnetometer=(), microphone=(), midi=(), payment=(), screen-wake-lock=(), serial=(), usb=(), xr-spatial-tracking=()';

test('permissions policy turns powerful features off', () => {
  assert.equal(buildPermissionsPolicy(undefined, 'headers.permissions'), ALL_OFF);
});

test('permissions policy allows listed features', () => {
  const value = buildPermissionsPolicy(
    { camera: 'self', fullscreen: '*', geolocation: ['self', 'https://maps.example'] },
    'headers.permissions',
  );
  assert.ok(!value.includes('camera=()'));
  assert.ok(!value.includes('geolocation=()'));
  assert.ok(value.endsWith(', camera=(self), fullscreen=*, geolocation=(self "https://maps.example")'));
});

test('permissions policy rejects unknown feature', () => {
  assert.throws(
    () => buildPermissionsPolicy({ camra: 'self' }, 'headers.permissions.allow'),
    (error: Error) =>
      error.message.startsWith(
        'Invalid option headers.permissions.allow.camra = "camra": it is not a Permissions-Policy feature this plugin knows. Fix: use one of accelerometer, autoplay,',
      ),
  );
});

const badAllowlists: unknown[] = [
  [],
  ['http://maps.example'],
  ['https://maps.example/path'],
  ['maps.example'],
  'none',
  [42],
];
for (const allowlist of badAllowlists) {
  test(`permissions policy rejects allowlist ${JSON.stringify(allowlist)}`, () => {
    assert.throws(
      () => buildPermissionsPolicy({ camera: allowlist as 'self' }, 'p'),
      /Invalid option p\.camera = .*(not 'self', '\*' or a non-empty list|not 'self' or an https:\/\/ origin)/,
    );
  });
}

test('permissions policy rejects header injection in an origin', () => {
  assert.throws(
    () => buildPermissionsPolicy({ camera: ['https://a.example\r\nSet-Cookie: x=1'] }, 'p'),
    /https:\/\/ origin/,
  );
});

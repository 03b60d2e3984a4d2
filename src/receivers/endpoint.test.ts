import { test } from 'node:test';
import assert from 'node:assert/strict';
import { grpcAddress, parseEndpoint } from './endpoint.js';

test('endpoint: host:port forms Tempo configs use', () => {
  assert.deepEqual(parseEndpoint('0.0.0.0:4317'), { host: '0.0.0.0', port: 4317 });
  assert.deepEqual(parseEndpoint('localhost:0'), { host: 'localhost', port: 0 });
  assert.deepEqual(parseEndpoint(':4318'), { host: '0.0.0.0', port: 4318 });
  assert.deepEqual(parseEndpoint('[::]:4318'), { host: '::', port: 4318 });
  assert.equal(grpcAddress(parseEndpoint('[::1]:4317')), '[::1]:4317');
  assert.equal(grpcAddress(parseEndpoint('127.0.0.1:4317')), '127.0.0.1:4317');
  for (const bad of ['4317', 'host:', 'host:http', 'host:70000', 'host:-1']) assert.throws(() => parseEndpoint(bad), bad);
});

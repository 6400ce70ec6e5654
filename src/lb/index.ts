export * from './maglev.js';
export { murmur3x64128 } from './murmur3.js';

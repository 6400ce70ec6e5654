export * from './counters.js';
export * from './drop-reasons.js';
export * from './engine.js';
export * from './pool.js';
export * from './runtime.js';
export * from './stage.js';
export * from './trace.js';

// Moved to src/bench/synthetic.ts so the suite behind `dpemu bench` can ship it; re-exported for the scripts here.
export * from '../../src/bench/synthetic.js';
